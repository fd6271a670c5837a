//! Writing webhook events into the outbox (docs/integrations.md,
//! "Webhooks"), in the transaction of the change they describe: an event
//! of a rolled-back change is never sent, and one of a committed change is
//! never lost (the worker delivers it later, whatever happens to this
//! process). Nothing is written when no enabled endpoint of the
//! organisation subscribes to the event's type, so an organisation without
//! webhooks pays one indexed read per change.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::record_reads;
use crate::db::DbConn;
use crate::ids::{UserId, WebhookEndpointId};
use crate::repo::call_records::CallRecordRow;
use crate::repo::webhook_deliveries::{self, DeliveryRow};
use crate::repo::webhook_endpoints::{self, EndpointRow};
use crate::repo::{RepoError, webhook_messages};
use crate::time::{Micros, to_datetime};
use crate::wire::{CallRecordChange, WebhookEventType};

/// One event to write.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: WebhookEventType,
    /// Events with the same key reach an endpoint in the order written.
    pub ordering_key: String,
    pub data: Value,
}

/// The body sent: `type`, `timestamp` and `data`, as the Standard
/// Webhooks specification suggests.
fn body(event: &Event, now: Micros) -> Result<String, RepoError> {
    serde_json::to_string(&json!({
        "type": event.kind.as_str(),
        "timestamp": to_datetime(now).to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": event.data,
    }))
    .map_err(|e| RepoError::Corrupt(format!("unserialisable webhook event: {e}")))
}

/// Writes the events of one organisation for every enabled endpoint
/// subscribed to their types; how many deliveries were queued.
pub fn enqueue_in(
    conn: &mut DbConn,
    org_id: &str,
    events: &[Event],
    now: Micros,
) -> Result<usize, RepoError> {
    if events.is_empty() {
        return Ok(0);
    }
    let endpoints = webhook_endpoints::enabled(conn, org_id)?;
    write(conn, org_id, &endpoints, events, now)
}

/// Writes one event for one endpoint, whatever it subscribes to (the test
/// event of `POST /v1/webhook-endpoints/{id}/test`); the delivery's id.
pub fn enqueue_for_in(
    conn: &mut DbConn,
    endpoint: &EndpointRow,
    event: Event,
    now: Micros,
) -> Result<String, RepoError> {
    let message_id = message_id();
    let payload = body(&event, now)?;
    let seq = webhook_messages::insert(
        conn,
        &message_id,
        &endpoint.org_id,
        event.kind.as_str(),
        &event.ordering_key,
        &payload,
        now,
    )?;
    let row = DeliveryRow::pending(
        seq,
        &endpoint.id,
        &endpoint.org_id,
        &event.ordering_key,
        now,
    );
    webhook_deliveries::insert_many(conn, std::slice::from_ref(&row))?;
    Ok(row.id)
}

fn write(
    conn: &mut DbConn,
    org_id: &str,
    endpoints: &[EndpointRow],
    events: &[Event],
    now: Micros,
) -> Result<usize, RepoError> {
    let mut queued = 0;
    for event in events {
        let targets: Vec<&EndpointRow> = endpoints
            .iter()
            .filter(|e| e.subscribes_to(event.kind))
            .collect();
        if targets.is_empty() {
            continue;
        }
        let payload = body(event, now)?;
        let seq = webhook_messages::insert(
            conn,
            &message_id(),
            org_id,
            event.kind.as_str(),
            &event.ordering_key,
            &payload,
            now,
        )?;
        let rows: Vec<DeliveryRow> = targets
            .iter()
            .map(|e| DeliveryRow::pending(seq, &e.id, org_id, &event.ordering_key, now))
            .collect();
        webhook_deliveries::insert_many(conn, &rows)?;
        queued += rows.len();
    }
    Ok(queued)
}

/// A `contact.*` event for a stored contact (`row` as it is now; for
/// `contact.deleted` only its id is sent), built only when an endpoint
/// wants it.
pub fn contact_in(
    conn: &mut DbConn,
    kind: WebhookEventType,
    row: &crate::repo::contacts::ContactRow,
    now: Micros,
) -> Result<usize, RepoError> {
    let org_id = row.org_id.to_string();
    let endpoints = webhook_endpoints::enabled(conn, &org_id)?;
    if !endpoints.iter().any(|e| e.subscribes_to(kind)) {
        return Ok(0);
    }
    let data = if kind == WebhookEventType::ContactDeleted {
        json!({ "id": row.id })
    } else {
        serde_json::to_value(super::contact_reads::one(conn, row.clone())?)
            .map_err(|e| RepoError::Corrupt(format!("unserialisable contact: {e}")))?
    };
    let event = Event {
        kind,
        ordering_key: row.id.to_string(),
        data,
    };
    write(conn, &org_id, &endpoints, std::slice::from_ref(&event), now)
}

/// `msg_` and a fresh UUID: the `webhook-id` of every attempt.
fn message_id() -> String {
    format!("msg_{}", WebhookEndpointId::new().0.simple())
}

/// `call.created` and `call.updated` for stored or changed call records
/// (`call.recording_ready` instead when `recording`), each call as the
/// call log shows it to no one in particular: another user's private call
/// is redacted, as for an API key.
pub fn calls_in(
    conn: &mut DbConn,
    changed: &[(CallRecordRow, CallRecordChange)],
    recording: bool,
    now: Micros,
) -> Result<usize, RepoError> {
    let mut by_org: BTreeMap<&str, Vec<&(CallRecordRow, CallRecordChange)>> = BTreeMap::new();
    for item in changed {
        by_org.entry(item.0.org_id.as_str()).or_default().push(item);
    }
    let mut queued = 0;
    for (org_id, items) in by_org {
        let endpoints = webhook_endpoints::enabled(conn, org_id)?;
        let wanted = |kind| endpoints.iter().any(|e| e.subscribes_to(kind));
        if !(wanted(WebhookEventType::CallCreated)
            || wanted(WebhookEventType::CallUpdated)
            || wanted(WebhookEventType::CallRecordingReady))
        {
            continue;
        }
        let rows: Vec<CallRecordRow> = items.iter().map(|(row, _)| row.clone()).collect();
        let records = record_reads::for_reader(conn, UserId::nobody(), &rows)?;
        let mut events = Vec::with_capacity(items.len());
        for ((row, change), record) in items.iter().zip(records) {
            let data = serde_json::to_value(&record)
                .map_err(|e| RepoError::Corrupt(format!("unserialisable call: {e}")))?;
            let kind = match change {
                CallRecordChange::Created => WebhookEventType::CallCreated,
                CallRecordChange::Updated => WebhookEventType::CallUpdated,
            };
            events.push(Event {
                kind: if recording {
                    WebhookEventType::CallRecordingReady
                } else {
                    kind
                },
                ordering_key: row.id.clone(),
                data,
            });
        }
        queued += write(conn, org_id, &endpoints, &events, now)?;
    }
    Ok(queued)
}
