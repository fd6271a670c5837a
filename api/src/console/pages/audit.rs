//! `/audit`: the organisation's audit log of `GET /v1/audit-events` as a
//! page, oldest first, with its keyset paging and its action and user
//! filters. Managers see their teams' entries, admins everything, exactly
//! as the API answers them (the same `routes::audit_events::page`).

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::wire::{ActorKind, AuditAction, AuditEvent, DEFAULT_PAGE_LIMIT};

use super::admin::form::{Choice, local_time, page_with};
use super::admin::names::{Directory, choices, phones_of, users_of};
use crate::console::chrome::{Chrome, Section};
use crate::console::error::{ConsoleResult, url_escape};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::SeqPageParams;
use crate::routes::audit_events::{AuditQuery, audit_visibility, page as audit_page};
use crate::state::AppState;

#[derive(Debug)]
pub struct AuditLine {
    pub seq: i64,
    pub at: String,
    pub action: &'static str,
    pub subject: String,
    pub user: String,
    pub actor: String,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: Chrome,
    rows: Vec<AuditLine>,
    users: Vec<Choice>,
    actions: Vec<Choice>,
    next_href: Option<String>,
    first_href: String,
}

/// How the page names an action.
fn action_label(action: AuditAction) -> &'static str {
    match action {
        AuditAction::BindingBound => "Binding made",
        AuditAction::BindingEnded => "Binding ended",
        AuditAction::DialCreated => "Dial placed",
        AuditAction::DialCancelled => "Dial cancelled",
        AuditAction::DialStateChanged => "Dial state",
        AuditAction::GrantsReplaced => "Grants changed",
        AuditAction::DialPolicyReplaced => "Dial policy changed",
        AuditAction::BindingPolicyReplaced => "Binding policy changed",
        AuditAction::PushDefaultReplaced => "Push default changed",
        AuditAction::BlocklistEntryAdded => "Blocklist entry added",
        AuditAction::BlocklistEntryChanged => "Blocklist entry changed",
        AuditAction::BlocklistEntryRemoved => "Blocklist entry removed",
        AuditAction::ContactMerged => "Contacts merged",
        AuditAction::ScoreRulesReplaced => "Score rules changed",
        AuditAction::DialRulesReplaced => "Dial rules changed",
        AuditAction::CallTasksReassigned => "Call-list tasks reassigned",
        AuditAction::ApiKeyCreated => "API key created",
        AuditAction::ApiKeyRevoked => "API key revoked",
        AuditAction::VendorTokenIssued => "Phone event token issued",
        AuditAction::VendorTokenRevoked => "Phone event token revoked",
        AuditAction::WebhookEndpointCreated => "Webhook endpoint added",
        AuditAction::WebhookEndpointChanged => "Webhook endpoint changed",
        AuditAction::WebhookEndpointDeleted => "Webhook endpoint deleted",
        AuditAction::WebhookSecretRotated => "Webhook secret rotated",
        AuditAction::WebhookEndpointGone => "Webhook endpoint gone (disabled)",
        AuditAction::RetentionChanged => "Retention changed",
        AuditAction::RetentionPurged => "Retention purge",
        AuditAction::ArchiveDownloaded => "Call archive downloaded",
        AuditAction::LegalHoldPlaced => "Legal hold placed",
        AuditAction::LegalHoldReleased => "Legal hold released",
    }
}

/// The details as `key: value` pairs, ids named where they are known.
fn details_text(entry: &AuditEvent, names: &Directory) -> String {
    entry
        .details
        .iter()
        .map(|(key, value)| {
            let text = match (key.as_str(), value) {
                ("phone_id", serde_json::Value::String(id)) => names.phone(id),
                (
                    "previous_user_id" | "from_user_id" | "to_user_id",
                    serde_json::Value::String(id),
                ) => names.user(id),
                (_, serde_json::Value::String(s)) => s.replace('_', " "),
                (_, other) => other.to_string(),
            };
            format!("{}: {text}", key.replace('_', " "))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The page's link with these filters (and a cursor).
fn audit_href(q: &AuditQuery, limit: Option<u32>, cursor: Option<&str>) -> String {
    let limit = limit.map(|l| l.to_string());
    let mut parts = Vec::new();
    for (key, value) in [
        ("user_id", q.user_id.as_deref()),
        ("action", q.action.as_deref()),
        ("subject_id", q.subject_id.as_deref()),
        ("limit", limit.as_deref()),
        ("cursor", cursor),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", url_escape(v)));
        }
    }
    if parts.is_empty() {
        "/audit".into()
    } else {
        format!("/audit?{}", parts.join("&"))
    }
}

/// `GET /audit` (managers and admins; a salesperson gets the 403 page).
pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    audit_visibility(&user.auth)?;
    let SeqPageParams(request) = SeqPageParams::extract(&req).await?;
    let crate::extract::Query(q) = crate::extract::Query::<AuditQuery>::extract(&req).await?;
    let filter = q.filter()?;
    // A limit asked for is kept from page to page.
    let limit = (request.limit != DEFAULT_PAGE_LIMIT).then_some(request.limit);
    let entries = audit_page(&state, &user.auth, filter, request).await?;
    let org = user.auth.org_id;
    let ids: Vec<(Vec<String>, Vec<String>)> = entries
        .items
        .iter()
        .map(|e| {
            let mut users: Vec<String> = e.user_id.iter().map(ToString::to_string).collect();
            let mut phones = Vec::new();
            match (e.actor.kind, &e.actor.id) {
                (ActorKind::User, Some(id)) => users.push(id.clone()),
                (ActorKind::Phone, Some(id)) => phones.push(id.clone()),
                _ => {}
            }
            for (key, value) in &e.details {
                match (key.as_str(), value.as_str()) {
                    ("phone_id", Some(id)) => phones.push(id.to_owned()),
                    ("previous_user_id", Some(id)) => users.push(id.to_owned()),
                    _ => {}
                }
            }
            if e.subject.kind == "phone" {
                phones.push(e.subject.id.clone());
            }
            (users, phones)
        })
        .collect();
    let (names, users) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let (users, phones) = (users_of(conn, org)?, phones_of(conn, org)?);
            let mut names = Directory::new(&users, &phones);
            names.complete(
                conn,
                org,
                ids.iter().flat_map(|(u, _)| u.iter().map(String::as_str)),
                ids.iter().flat_map(|(_, p)| p.iter().map(String::as_str)),
            )?;
            Ok((names, users))
        })
        .await?;
    let tz = &user.time_zone;
    let rows = entries
        .items
        .iter()
        .map(|e| AuditLine {
            seq: e.seq,
            at: local_time(e.at.timestamp_micros(), tz),
            action: action_label(e.action),
            subject: match e.subject.kind.as_str() {
                "phone" => format!("phone {}", names.phone(&e.subject.id)),
                "organisation" => "the organisation".into(),
                kind => format!("{kind} {}", short_id(&e.subject.id)),
            },
            user: e
                .user_id
                .map(|u| names.user(&u.to_string()))
                .unwrap_or_default(),
            actor: match (e.actor.kind, e.actor.id.as_deref()) {
                (ActorKind::User, Some(id)) => names.user(id),
                (ActorKind::Phone, Some(id)) => format!("phone {}", names.phone(id)),
                (ActorKind::System, _) => "deskbind (expiry)".into(),
                (kind, _) => kind.as_str().to_owned(),
            },
            details: details_text(e, &names),
        })
        .collect();
    let action = q.action.as_deref().unwrap_or("");
    let page = AuditPage {
        chrome: Chrome::new(&user, Section::Audit),
        rows,
        users: choices(&users, q.user_id.as_deref()),
        actions: AuditAction::ALL
            .iter()
            .map(|a| Choice {
                value: a.as_str().to_owned(),
                label: action_label(*a).into(),
                selected: a.as_str() == action,
            })
            .collect(),
        next_href: entries
            .next_cursor
            .as_deref()
            .map(|c| audit_href(&q, limit, Some(c))),
        first_href: audit_href(&q, limit, None),
    };
    page_with(actix_web::http::StatusCode::OK, &page)
}

/// The first block of a UUID: enough to tell entries apart on the page.
fn short_id(id: &str) -> &str {
    id.split('-').next().unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_links_keep_the_filters_and_escape_them() {
        let q = AuditQuery {
            action: Some("dial.created".into()),
            user_id: Some(String::new()),
            ..AuditQuery::default()
        };
        assert_eq!(
            audit_href(&q, Some(4), Some("12")),
            "/audit?action=dial.created&limit=4&cursor=12"
        );
        assert_eq!(audit_href(&AuditQuery::default(), None, None), "/audit");
    }
}
