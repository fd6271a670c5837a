//! Managing webhook endpoints (docs/integrations.md, "Webhooks"): admins
//! register them (at most `MAX_WEBHOOK_ENDPOINTS` per organisation,
//! counted under its lock), change, disable, delete them, rotate their
//! secret with an overlap, send a test event, read the delivery log and
//! replay a delivery. Every change is audited.

use serde_json::json;

use super::audit::{Entry, by_user};
use super::presence_reports;
use super::users::{UpdateError, lock_org_as_admin};
use super::webhook_outbox::{self, Event};
use crate::auth::secrets::{RandomError, random_bytes};
use crate::db::{Database, DbError};
use crate::domain::FieldError;
use crate::domain::NonBlank;
use crate::domain::webhook_signature;
use crate::domain::webhook_targets::TargetPolicy;
use crate::ids::{OrgId, UserId, WebhookDeliveryId, WebhookEndpointId};
use crate::repo::page::PageRequest;
use crate::repo::webhook_deliveries::{self, DeliveryRow};
use crate::repo::webhook_endpoints::{self, EndpointRow};
use crate::repo::{RepoError, stored_id};
use crate::time::{Micros, seconds, to_datetime};
use crate::wire::{
    AuditAction, CreateWebhookEndpoint, ErrorCode, MAX_WEBHOOK_DESCRIPTION_CHARS,
    MAX_WEBHOOK_ENDPOINTS, Page, RotateWebhookSecret, UpdateWebhookEndpoint, WebhookDelivery,
    WebhookDeliveryState, WebhookEndpoint, WebhookEndpointWithSecret, WebhookEventType,
};

/// Default hours the previous secret keeps signing after a rotation.
pub const DEFAULT_OVERLAP_HOURS: u32 = 24;
/// Longest overlap an admin may ask for.
pub const MAX_OVERLAP_HOURS: u32 = 72;

#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error("too many endpoints")]
    Full,
    #[error("not an admin")]
    NotAdmin,
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for EndpointError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for EndpointError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<UpdateError> for EndpointError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Repo(e) => Self::Repo(e),
            _ => Self::NotAdmin,
        }
    }
}

/// Event types an admin may subscribe to: known, each once, in the order
/// of [`WebhookEventType::ALL`]; `webhook.test` is sent on request only.
pub fn event_types(raw: &[String]) -> Result<Vec<WebhookEventType>, FieldError> {
    let choosable: Vec<WebhookEventType> = WebhookEventType::ALL
        .iter()
        .copied()
        .filter(|t| *t != WebhookEventType::WebhookTest)
        .collect();
    let known = || {
        choosable
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut chosen = Vec::new();
    for name in raw {
        match WebhookEventType::parse(name.trim()) {
            Some(t) if choosable.contains(&t) => chosen.push(t),
            _ => {
                return Err(FieldError::new(
                    "event_types",
                    ErrorCode::UnknownEventType,
                    format!("unknown event type {name:?}; known: {}", known()),
                ));
            }
        }
    }
    let ordered: Vec<WebhookEventType> = choosable
        .iter()
        .copied()
        .filter(|t| chosen.contains(t))
        .collect();
    if ordered.is_empty() {
        return Err(FieldError::new(
            "event_types",
            ErrorCode::InvalidField,
            format!("name at least one event type: {}", known()),
        ));
    }
    Ok(ordered)
}

fn stored_types(types: &[WebhookEventType]) -> String {
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn description(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|d| !d.is_empty()) {
        None => Ok(None),
        Some(d) => Ok(Some(
            NonBlank::parse("description", d, MAX_WEBHOOK_DESCRIPTION_CHARS)?.into_inner(),
        )),
    }
}

fn fresh_secret() -> Result<String, RandomError> {
    Ok(webhook_signature::new_secret(&random_bytes::<32>()?))
}

fn with_secret(row: &EndpointRow) -> Result<WebhookEndpointWithSecret, RepoError> {
    Ok(WebhookEndpointWithSecret {
        endpoint: row.to_wire()?,
        secret: row.secret.clone(),
    })
}

/// Registers an endpoint; the answer holds its secret.
pub async fn create(
    db: &Database,
    policy: &TargetPolicy,
    org: OrgId,
    by: UserId,
    input: CreateWebhookEndpoint,
    now: Micros,
) -> Result<WebhookEndpointWithSecret, EndpointError> {
    let url = policy.check_url(&input.url)?;
    let types = event_types(&input.event_types)?;
    let row = EndpointRow {
        id: WebhookEndpointId::new().to_string(),
        org_id: org.to_string(),
        url: url.to_string(),
        description: description(input.description.as_deref())?,
        event_types: stored_types(&types),
        secret: fresh_secret()?,
        previous_secret: None,
        previous_secret_until: None,
        disabled_at: None,
        disabled_reason: None,
        created_by: by.to_string(),
        created_at: now,
        updated_at: now,
    };
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        if webhook_endpoints::count(conn, org)? >= MAX_WEBHOOK_ENDPOINTS as i64 {
            return Err(EndpointError::Full);
        }
        let wanted_presence = presence_reports::wanted_in(conn, &row.org_id)?;
        webhook_endpoints::insert(conn, &row)?;
        presence_reports::endpoints_changed_in(conn, &row.org_id, wanted_presence)?;
        Entry::new(
            &row.org_id,
            AuditAction::WebhookEndpointCreated,
            "webhook_endpoint",
            &row.id,
            by_user(by),
        )
        .detail("url", row.url.clone())
        .detail("event_types", row.event_types.clone())
        .record(conn, now)?;
        Ok(with_secret(&row)?)
    })
    .await
}

/// Changes an endpoint's URL, description, event types or disabled state.
pub async fn update(
    db: &Database,
    policy: &TargetPolicy,
    org: OrgId,
    by: UserId,
    id: WebhookEndpointId,
    change: UpdateWebhookEndpoint,
    now: Micros,
) -> Result<WebhookEndpoint, EndpointError> {
    let url = change
        .url
        .as_deref()
        .map(|u| policy.check_url(u))
        .transpose()?;
    let types = change.event_types.as_deref().map(event_types).transpose()?;
    let description = change
        .description
        .as_deref()
        .map(|d| description(Some(d)))
        .transpose()?;
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let mut row = webhook_endpoints::get(conn, org, id)?;
        if let Some(url) = url {
            row.url = url.to_string();
        }
        if let Some(types) = types {
            row.event_types = stored_types(&types);
        }
        if let Some(description) = description {
            row.description = description;
        }
        match change.disabled {
            Some(true) if row.disabled_at.is_none() => {
                row.disabled_at = Some(now);
                row.disabled_reason = Some("admin".into());
            }
            Some(false) => {
                row.disabled_at = None;
                row.disabled_reason = None;
            }
            _ => {}
        }
        row.updated_at = now;
        let wanted_presence = presence_reports::wanted_in(conn, &row.org_id)?;
        webhook_endpoints::update(conn, &row)?;
        presence_reports::endpoints_changed_in(conn, &row.org_id, wanted_presence)?;
        Entry::new(
            &row.org_id,
            AuditAction::WebhookEndpointChanged,
            "webhook_endpoint",
            &row.id,
            by_user(by),
        )
        .detail("url", row.url.clone())
        .detail("event_types", row.event_types.clone())
        .detail("disabled", row.disabled_at.is_some())
        .record(conn, now)?;
        Ok(row.to_wire()?)
    })
    .await
}

/// Deletes an endpoint with its deliveries.
pub async fn delete(
    db: &Database,
    org: OrgId,
    by: UserId,
    id: WebhookEndpointId,
    now: Micros,
) -> Result<(), EndpointError> {
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let row = webhook_endpoints::get(conn, org, id)?;
        webhook_deliveries::delete_of_endpoint(conn, &row.id)?;
        webhook_endpoints::delete(conn, org, id)?;
        Entry::new(
            &row.org_id,
            AuditAction::WebhookEndpointDeleted,
            "webhook_endpoint",
            &row.id,
            by_user(by),
        )
        .detail("url", row.url)
        .record(conn, now)?;
        Ok(())
    })
    .await
}

/// A new secret; the previous one keeps signing for the overlap, so a
/// receiver that has not switched yet still verifies every delivery.
pub async fn rotate_secret(
    db: &Database,
    org: OrgId,
    by: UserId,
    id: WebhookEndpointId,
    input: RotateWebhookSecret,
    now: Micros,
) -> Result<WebhookEndpointWithSecret, EndpointError> {
    let hours = input.overlap_hours.unwrap_or(DEFAULT_OVERLAP_HOURS);
    if hours > MAX_OVERLAP_HOURS {
        return Err(FieldError::new(
            "overlap_hours",
            ErrorCode::InvalidField,
            format!("from 0 to {MAX_OVERLAP_HOURS}"),
        )
        .into());
    }
    let secret = fresh_secret()?;
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let mut row = webhook_endpoints::get(conn, org, id)?;
        let previous = std::mem::replace(&mut row.secret, secret);
        (row.previous_secret, row.previous_secret_until) = if hours == 0 {
            (None, None)
        } else {
            (
                Some(previous),
                Some(now + seconds(i64::from(hours) * 3_600)),
            )
        };
        row.updated_at = now;
        webhook_endpoints::update(conn, &row)?;
        Entry::new(
            &row.org_id,
            AuditAction::WebhookSecretRotated,
            "webhook_endpoint",
            &row.id,
            by_user(by),
        )
        .detail("overlap_hours", hours)
        .record(conn, now)?;
        Ok(with_secret(&row)?)
    })
    .await
}

/// Queues a `webhook.test` event to this endpoint only (enabled or not:
/// a disabled endpoint's test waits until it is enabled).
pub async fn send_test(
    db: &Database,
    org: OrgId,
    by: UserId,
    id: WebhookEndpointId,
    now: Micros,
) -> Result<WebhookDelivery, EndpointError> {
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let row = webhook_endpoints::get(conn, org, id)?;
        let event = Event {
            kind: WebhookEventType::WebhookTest,
            ordering_key: format!("test:{}", row.id),
            data: json!({ "endpoint_id": row.id, "requested_by": by }),
        };
        let delivery = webhook_outbox::enqueue_for_in(conn, &row, event, now)?;
        let found = webhook_deliveries::get(conn, org, stored_id(&delivery)?)?;
        Ok(delivery_to_wire(&found)?)
    })
    .await
}

pub async fn list(
    db: &Database,
    org: OrgId,
    page: PageRequest,
) -> Result<Page<WebhookEndpoint>, EndpointError> {
    db.run(move |conn| {
        let rows = webhook_endpoints::list(conn, org, &page)?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(EndpointRow::to_wire)
                .collect::<Result<_, _>>()?,
            next_cursor: rows.next_cursor,
        })
    })
    .await
}

pub async fn get(
    db: &Database,
    org: OrgId,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint, EndpointError> {
    db.run(move |conn| Ok(webhook_endpoints::get(conn, org, id)?.to_wire()?))
        .await
}

/// The endpoint's delivery log, newest first.
pub async fn deliveries(
    db: &Database,
    org: OrgId,
    id: WebhookEndpointId,
    page: PageRequest,
) -> Result<Page<WebhookDelivery>, EndpointError> {
    db.run(move |conn| {
        webhook_endpoints::get(conn, org, id)?;
        let rows = webhook_deliveries::page_of_endpoint(conn, org, id, &page)?;
        Ok(Page {
            items: rows
                .items
                .iter()
                .map(delivery_to_wire)
                .collect::<Result<_, _>>()?,
            next_cursor: rows.next_cursor,
        })
    })
    .await
}

/// Sends a delivery again (same message, same `webhook-id`), now.
pub async fn replay(
    db: &Database,
    org: OrgId,
    by: UserId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
    now: Micros,
) -> Result<WebhookDelivery, EndpointError> {
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        webhook_deliveries::replay(conn, org, endpoint, id, now)?;
        Ok(delivery_to_wire(&webhook_deliveries::get(conn, org, id)?)?)
    })
    .await
}

fn delivery_to_wire(
    (row, message_id, event_type): &(DeliveryRow, String, String),
) -> Result<WebhookDelivery, RepoError> {
    Ok(WebhookDelivery {
        id: stored_id(&row.id)?,
        message_id: message_id.clone(),
        event_type: WebhookEventType::parse(event_type)
            .ok_or_else(|| RepoError::Corrupt(format!("webhook event type {event_type:?}")))?,
        state: WebhookDeliveryState::parse(&row.state)
            .ok_or_else(|| RepoError::Corrupt(format!("delivery state {:?}", row.state)))?,
        attempts: row.attempts,
        next_attempt_at: (row.state == webhook_deliveries::PENDING)
            .then_some(row.next_attempt_at)
            .flatten()
            .map(to_datetime),
        last_attempt_at: row.last_attempt_at.map(to_datetime),
        last_status: row.last_status,
        last_error: row.last_error.clone(),
        created_at: to_datetime(row.created_at),
        delivered_at: row.delivered_at.map(to_datetime),
    })
}
