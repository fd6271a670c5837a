//! The `webhook_deliveries` table: one outbox message to one endpoint,
//! leased by a worker while it sends, with the outcome of its attempts.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError};
use crate::db::dialect;
use crate::db::schema::{webhook_deliveries, webhook_messages};
use crate::ids::{OrgId, WebhookDeliveryId, WebhookEndpointId};
use crate::time::Micros;
use crate::wire::Page;

pub const PENDING: &str = "pending";
pub const DELIVERED: &str = "delivered";
pub const FAILED: &str = "failed";

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = webhook_deliveries)]
pub struct DeliveryRow {
    pub id: String,
    pub message_seq: i64,
    pub endpoint_id: String,
    pub org_id: String,
    pub ordering_key: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: Option<i64>,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub last_status: Option<i64>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub created_at: i64,
}

impl DeliveryRow {
    /// A delivery waiting for its first attempt, due at `now`.
    pub fn pending(
        message_seq: i64,
        endpoint_id: &str,
        org_id: &str,
        ordering_key: &str,
        now: Micros,
    ) -> Self {
        Self {
            id: WebhookDeliveryId::new().to_string(),
            message_seq,
            endpoint_id: endpoint_id.to_owned(),
            org_id: org_id.to_owned(),
            ordering_key: ordering_key.to_owned(),
            state: PENDING.into(),
            attempts: 0,
            next_attempt_at: Some(now),
            lease_owner: None,
            lease_until: None,
            last_status: None,
            last_error: None,
            last_attempt_at: None,
            delivered_at: None,
            created_at: now,
        }
    }
}

/// Rows per multi-row insert: 15 columns each stays far below both
/// databases' limits on bound parameters.
const INSERT_CHUNK: usize = 500;

pub fn insert_many(conn: &mut DbConn, rows: &[DeliveryRow]) -> Result<(), RepoError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        dialect::insert_batch(
            conn,
            diesel::insert_into(webhook_deliveries::table).values(chunk),
        )?;
    }
    Ok(())
}

/// Leases up to `limit` due deliveries to `owner` until `lease_until`:
/// pending, due, not leased by a live worker, and the first pending one of
/// their ordering key at their endpoint (so a call's events arrive in
/// order). Call inside a write transaction.
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> Result<Vec<DeliveryRow>, RepoError> {
    let ids = dialect::lock_due_webhook_deliveries(conn, now, limit)?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(webhook_deliveries::table.filter(webhook_deliveries::id.eq_any(&ids)))
        .set((
            webhook_deliveries::lease_owner.eq(owner),
            webhook_deliveries::lease_until.eq(lease_until),
        ))
        .execute(conn)?;
    Ok(webhook_deliveries::table
        .filter(webhook_deliveries::id.eq_any(&ids))
        .order(webhook_deliveries::message_seq.asc())
        .select(DeliveryRow::as_select())
        .load(conn)?)
}

/// Removes an endpoint's deliveries (before the endpoint itself).
pub fn delete_of_endpoint(conn: &mut DbConn, endpoint_id: &str) -> Result<(), RepoError> {
    diesel::delete(
        webhook_deliveries::table.filter(webhook_deliveries::endpoint_id.eq(endpoint_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// How an attempt ended, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptOutcome {
    pub state: &'static str,
    pub status: Option<i64>,
    pub error: Option<String>,
    pub next_attempt_at: Option<Micros>,
}

/// Records an attempt of a delivery `owner` still holds; whether it did
/// (false: the lease was lost to another worker, which will record its own).
pub fn record_attempt(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    outcome: &AttemptOutcome,
    now: Micros,
) -> Result<bool, RepoError> {
    let delivered_at = (outcome.state == DELIVERED).then_some(now);
    let n = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::id.eq(id))
            .filter(webhook_deliveries::lease_owner.eq(owner))
            .filter(webhook_deliveries::state.eq(PENDING)),
    )
    .set((
        webhook_deliveries::state.eq(outcome.state),
        webhook_deliveries::attempts.eq(webhook_deliveries::attempts + 1),
        webhook_deliveries::last_status.eq(outcome.status),
        webhook_deliveries::last_error.eq(outcome.error.as_deref()),
        webhook_deliveries::last_attempt_at.eq(now),
        webhook_deliveries::next_attempt_at.eq(outcome.next_attempt_at),
        webhook_deliveries::delivered_at.eq(delivered_at),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// An endpoint's deliveries, newest first, with their event type and
/// message id.
pub fn page_of_endpoint(
    conn: &mut DbConn,
    org: OrgId,
    endpoint: WebhookEndpointId,
    page: &PageRequest,
) -> Result<Page<(DeliveryRow, String, String)>, RepoError> {
    let mut query = webhook_deliveries::table
        .inner_join(webhook_messages::table)
        .filter(webhook_deliveries::org_id.eq(org.to_string()))
        .filter(webhook_deliveries::endpoint_id.eq(endpoint.to_string()))
        .select((
            DeliveryRow::as_select(),
            webhook_messages::id,
            webhook_messages::event_type,
        ))
        .into_boxed();
    if let Some(before) = &page.after {
        query = query.filter(webhook_deliveries::id.lt(before.clone()));
    }
    let rows: Vec<(DeliveryRow, String, String)> = query
        .order(webhook_deliveries::id.desc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.0.id.clone(), |r| r))
}

/// Puts a delivery of the endpoint back in the queue, due at `now` (a
/// replay: same message, same `webhook-id`). Not found for another
/// organisation's or another endpoint's delivery.
pub fn replay(
    conn: &mut DbConn,
    org: OrgId,
    endpoint: WebhookEndpointId,
    id: WebhookDeliveryId,
    now: Micros,
) -> Result<(), RepoError> {
    let n = diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::org_id.eq(org.to_string()))
            .filter(webhook_deliveries::endpoint_id.eq(endpoint.to_string()))
            .filter(webhook_deliveries::id.eq(id.to_string())),
    )
    .set((
        webhook_deliveries::state.eq(PENDING),
        webhook_deliveries::next_attempt_at.eq(now),
        webhook_deliveries::lease_owner.eq(None::<String>),
        webhook_deliveries::lease_until.eq(None::<i64>),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// One delivery with its event type and message id.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: WebhookDeliveryId,
) -> Result<(DeliveryRow, String, String), RepoError> {
    Ok(webhook_deliveries::table
        .inner_join(webhook_messages::table)
        .filter(webhook_deliveries::org_id.eq(org.to_string()))
        .filter(webhook_deliveries::id.eq(id.to_string()))
        .select((
            DeliveryRow::as_select(),
            webhook_messages::id,
            webhook_messages::event_type,
        ))
        .first(conn)?)
}
