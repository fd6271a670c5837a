//! `/admin/webhooks/{id}`: one webhook endpoint (docs/integrations.md,
//! "Webhooks"), admins only: change it (URL, description, event types,
//! disabled), rotate its secret (the new one shown once), send a test
//! event, delete it, and its delivery log with a replay per delivery. The
//! same use cases as `/v1/webhook-endpoints/{id}`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::{WebhookDeliveryId, WebhookEndpointId};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::webhook_endpoints;
use deskbind_core::wire::{
    MAX_PAGE_LIMIT, RotateWebhookSecret, UpdateWebhookEndpoint, WebhookEndpoint,
};
use serde::Deserialize;

use super::form::{NoticeQuery, local_time, notice, page_with};
use super::webhooks::{EndpointDraft, NewSecret, SHOWN, TYPE_CHOICES, not_cached};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::routes::webhooks::policy;
use crate::state::AppState;

/// The change form: the new-endpoint fields and the disabled box.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ChangeDraft {
    #[serde(flatten)]
    pub fields: EndpointDraft,
    pub disabled: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RotateDraft {
    #[serde(default)]
    pub overlap_hours: String,
}

/// One delivery as the log shows it.
struct DeliveryLine {
    id: String,
    event_type: String,
    state: String,
    attempts: i64,
    created: String,
    last: String,
    next: String,
}

#[derive(Template)]
#[template(path = "admin_webhook.html")]
struct WebhookPage {
    chrome: Chrome,
    endpoint: WebhookEndpoint,
    draft: EndpointDraft,
    errors: Option<FormErrors>,
    rotated: Option<NewSecret>,
    notice: Option<&'static str>,
    deliveries: Vec<DeliveryLine>,
    more: bool,
    choices: &'static [(&'static str, &'static str)],
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: WebhookEndpointId,
    draft: Option<EndpointDraft>,
    errors: Option<FormErrors>,
    rotated: Option<NewSecret>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let org = user.auth.org_id;
    let endpoint = webhook_endpoints::get(&state.db, org, id)
        .await
        .map_err(ApiError::from)?;
    let page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let log = webhook_endpoints::deliveries(&state.db, org, id, page)
        .await
        .map_err(ApiError::from)?;
    let tz = user.time_zone.as_str();
    let at = |t: chrono::DateTime<chrono::Utc>| local_time(t.timestamp_micros(), tz);
    let deliveries = log
        .items
        .iter()
        .map(|d| DeliveryLine {
            id: d.id.to_string(),
            event_type: d.event_type.as_str().to_owned(),
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            created: at(d.created_at),
            last: match (d.last_status, &d.last_error) {
                (Some(status), _) => format!("HTTP {status}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "not tried yet".into(),
            },
            next: d.next_attempt_at.map(at).unwrap_or_default(),
        })
        .collect();
    let draft = draft.unwrap_or_else(|| EndpointDraft::of(&endpoint));
    let status = errors.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = WebhookPage {
        chrome: Chrome::admin(user, AdminSection::Webhooks),
        endpoint,
        draft,
        errors,
        rotated,
        notice: notice(notice_key),
        deliveries,
        more: log.next_cursor.is_some(),
        choices: TYPE_CHOICES,
    };
    Ok(not_cached(page_with(status, &page)?))
}

/// `GET /admin/webhooks/{id}`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let id: WebhookEndpointId = path_id(&id)?;
    render(&state, &user, id, None, None, None, q.notice.as_deref()).await
}

/// `POST /admin/webhooks/{id}`: every field of the change form.
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<ChangeDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    let change = UpdateWebhookEndpoint {
        url: Some(draft.fields.url.clone()),
        description: Some(draft.fields.description.clone()),
        event_types: Some(draft.fields.types()),
        disabled: Some(draft.disabled.is_some()),
    };
    let saved = webhook_endpoints::update(
        &state.db,
        &policy(&state)?,
        user.auth.org_id,
        user.auth.user_id,
        id,
        change,
        now_micros(),
    )
    .await;
    match saved {
        Ok(_) => Ok(see_other(format!("/admin/webhooks/{id}?notice=saved"))),
        Err(e) => {
            let errors = FormErrors::from_api(e.into(), SHOWN)?;
            render(
                &state,
                &user,
                id,
                Some(draft.fields),
                Some(errors),
                None,
                None,
            )
            .await
        }
    }
}

/// `POST /admin/webhooks/{id}/rotate`: the page with the new secret.
pub async fn rotate(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<RotateDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    user.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    let overlap_hours = match draft.overlap_hours.trim() {
        "" => None,
        n => match n.parse() {
            Ok(hours) => Some(hours),
            Err(_) => {
                let errors =
                    FormErrors::invalid("overlap_hours", "Overlap: a whole number of hours", SHOWN);
                return render(&state, &user, id, None, Some(errors), None, None).await;
            }
        },
    };
    let rotated = webhook_endpoints::rotate_secret(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        id,
        RotateWebhookSecret { overlap_hours },
        now_micros(),
    )
    .await;
    match rotated {
        Ok(made) => {
            let shown = NewSecret {
                url: made.endpoint.url,
                secret: made.secret,
            };
            render(&state, &user, id, None, None, Some(shown), Some("rotated")).await
        }
        Err(e) => {
            let errors = FormErrors::from_api(e.into(), SHOWN)?;
            render(&state, &user, id, None, Some(errors), None, None).await
        }
    }
}

/// `POST /admin/webhooks/{id}/test`
pub async fn send_test(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    webhook_endpoints::send_test(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        id,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(see_other(format!(
        "/admin/webhooks/{id}?notice=test_queued"
    )))
}

/// `POST /admin/webhooks/{id}/delete`
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    webhook_endpoints::delete(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        id,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(see_other("/admin/webhooks?notice=deleted"))
}

/// `POST /admin/webhooks/{id}/deliveries/{delivery_id}/replay`
pub async fn replay(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: ConsoleForm<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let (endpoint, delivery) = path.into_inner();
    let endpoint: WebhookEndpointId = path_id(&endpoint)?;
    let delivery: WebhookDeliveryId = path_id(&delivery)?;
    webhook_endpoints::replay(
        &state.db,
        user.auth.org_id,
        user.auth.user_id,
        endpoint,
        delivery,
        now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(see_other(format!(
        "/admin/webhooks/{endpoint}?notice=replayed"
    )))
}
