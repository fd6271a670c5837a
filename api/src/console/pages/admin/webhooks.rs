//! `/admin/webhooks`: the organisation's webhook endpoints
//! (docs/integrations.md, "Webhooks"), admins only: the list, and a new
//! endpoint (its signing secret is shown on the answer to the form, once).
//! One endpoint's page with its delivery log is `webhook_page`. The checks
//! and use case are `/v1/webhook-endpoints`'s
//! (`usecases::webhook_endpoints`).

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::webhook_endpoints;
use deskbind_core::wire::{CreateWebhookEndpoint, MAX_PAGE_LIMIT, WebhookEndpoint};
use serde::Deserialize;

use super::form::{NoticeQuery, notice, page_with};
use crate::console::chrome::{AdminSection, Chrome};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::webhooks::policy;
use crate::state::AppState;

pub(crate) const SHOWN: &[&str] = &["url", "description", "event_types"];

/// The event types a form offers, with the words shown for each.
pub(crate) const TYPE_CHOICES: &[(&str, &str)] = &[
    ("call.created", "A call is stored"),
    ("call.updated", "A call changes"),
    ("call.recording_ready", "A call's recording is stored"),
    ("dial.state_changed", "A dial is placed or changes state"),
    ("binding.changed", "Someone takes or leaves a phone"),
    ("contact.created", "A contact is created"),
    ("contact.updated", "A contact changes"),
    ("contact.deleted", "A contact is deleted"),
    (
        "call_list.completed",
        "A salesperson's share of a call list is done",
    ),
    ("presence.changed", "Someone's presence changes"),
];

/// The new-endpoint form: URL, description, and a checkbox per event type
/// of [`TYPE_CHOICES`], named after it with `_` for `.` (present when
/// ticked). The boxes are read from the form's other fields, so the list
/// above is the only place an event type is named.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointDraft {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Every other field of the form; the ticked boxes among them.
    #[serde(flatten)]
    boxes: HashMap<String, String>,
}

/// The form field of an event type's checkbox (the template names it so).
fn box_name(event_type: &str) -> String {
    event_type.replace('.', "_")
}

impl EndpointDraft {
    /// The form as it shows `endpoint`.
    pub(crate) fn of(endpoint: &WebhookEndpoint) -> Self {
        Self {
            url: endpoint.url.clone(),
            description: endpoint.description.clone().unwrap_or_default(),
            boxes: endpoint
                .event_types
                .iter()
                .map(|t| (box_name(t.as_str()), "1".to_owned()))
                .collect(),
        }
    }

    /// The ticked event types, in the order the form lists them.
    pub(crate) fn types(&self) -> Vec<String> {
        TYPE_CHOICES
            .iter()
            .filter(|(name, _)| self.ticked(name))
            .map(|(name, _)| (*name).to_owned())
            .collect()
    }

    pub(crate) fn ticked(&self, event_type: &str) -> bool {
        self.boxes.contains_key(&box_name(event_type))
    }
}

/// A secret just made: shown this once.
pub(crate) struct NewSecret {
    pub(crate) url: String,
    pub(crate) secret: String,
}

#[derive(Template)]
#[template(path = "admin_webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    rows: Vec<WebhookEndpoint>,
    draft: EndpointDraft,
    errors: Option<FormErrors>,
    created: Option<NewSecret>,
    notice: Option<&'static str>,
    choices: &'static [(&'static str, &'static str)],
}

impl WebhooksPage {
    fn types_of(&self, endpoint: &WebhookEndpoint) -> String {
        endpoint
            .event_types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Answers with `no-store`: the page may hold a secret.
pub(crate) fn not_cached(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    draft: EndpointDraft,
    errors: Option<FormErrors>,
    created: Option<NewSecret>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let rows = webhook_endpoints::list(&state.db, user.auth.org_id, page)
        .await
        .map_err(ApiError::from)?
        .items;
    let status = errors.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = WebhooksPage {
        chrome: Chrome::admin(user, AdminSection::Webhooks),
        rows,
        draft,
        errors,
        created,
        notice: notice(notice_key),
        choices: TYPE_CHOICES,
    };
    Ok(not_cached(page_with(status, &page)?))
}

/// `GET /admin/webhooks`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let draft = EndpointDraft::default();
    render(&state, &user, draft, None, None, q.notice.as_deref()).await
}

/// `POST /admin/webhooks`: answers with the page showing the new secret.
pub async fn create(
    state: web::Data<AppState>,
    form: ConsoleForm<EndpointDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let body = CreateWebhookEndpoint {
        url: draft.url.clone(),
        description: Some(draft.description.clone()),
        event_types: draft.types(),
    };
    let created = webhook_endpoints::create(
        &state.db,
        &policy(&state)?,
        user.auth.org_id,
        user.auth.user_id,
        body,
        now_micros(),
    )
    .await;
    match created {
        Ok(made) => {
            let shown = NewSecret {
                url: made.endpoint.url,
                secret: made.secret,
            };
            let empty = EndpointDraft::default();
            render(&state, &user, empty, None, Some(shown), Some("created")).await
        }
        Err(e) => {
            let errors = FormErrors::from_api(e.into(), SHOWN)?;
            render(&state, &user, draft, Some(errors), None, None).await
        }
    }
}

#[cfg(test)]
mod tests {
    use deskbind_core::wire::WebhookEventType;

    use super::*;

    /// Every event type an endpoint may subscribe to has a checkbox, and
    /// each checkbox's field reads back as its type: an endpoint saved in
    /// the console keeps what it subscribes to.
    #[test]
    fn every_subscribable_event_type_has_a_checkbox_that_reads_back() {
        let offered: Vec<&str> = TYPE_CHOICES.iter().map(|(name, _)| *name).collect();
        let subscribable: Vec<&str> = WebhookEventType::ALL
            .iter()
            .filter(|t| **t != WebhookEventType::WebhookTest)
            .map(|t| t.as_str())
            .collect();
        assert_eq!(offered, subscribable);
        for name in offered {
            let form = format!("url=u&{}=1", name.replace('.', "_"));
            let draft: EndpointDraft = serde_urlencoded::from_str(&form).unwrap();
            assert_eq!(draft.types(), [name]);
        }
    }
}
