//! Trimming the webhook outbox and its delivery log: housekeeping deletes
//! old messages whose deliveries are all finished (delivered or failed),
//! and the retention purge deletes every message of a purged call, with
//! its deliveries, pending ones included: a purged call is not sent.
//! Deliveries go first (they reference the message), and a message goes
//! only once no delivery is left, so a replay racing the trim keeps it.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{DbConn, RepoError};
use crate::db::schema::{webhook_deliveries, webhook_messages};
use crate::ids::OrgId;
use crate::time::Micros;

/// True for a message no pending delivery waits on.
const NONE_PENDING: &str = "NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
     WHERE d.message_seq = webhook_messages.seq AND d.state = 'pending')";

/// True for a message without deliveries.
const NO_DELIVERY: &str = "NOT EXISTS (SELECT 1 FROM webhook_deliveries d \
     WHERE d.message_seq = webhook_messages.seq)";

/// Deletes the finished deliveries of the messages `seqs`, then those of
/// the messages left without any; how many messages went.
fn delete_finished(conn: &mut DbConn, seqs: &[i64]) -> Result<usize, RepoError> {
    if seqs.is_empty() {
        return Ok(0);
    }
    diesel::delete(
        webhook_deliveries::table
            .filter(webhook_deliveries::message_seq.eq_any(seqs))
            .filter(webhook_deliveries::state.ne("pending")),
    )
    .execute(conn)?;
    Ok(diesel::delete(
        webhook_messages::table
            .filter(webhook_messages::seq.eq_any(seqs))
            .filter(sql::<Bool>(NO_DELIVERY)),
    )
    .execute(conn)?)
}

/// Up to `limit` finished messages created before `cutoff`, oldest first,
/// deleted with their deliveries; how many went.
pub fn purge_older_than(conn: &mut DbConn, cutoff: Micros, limit: i64) -> Result<usize, RepoError> {
    let seqs: Vec<i64> = webhook_messages::table
        .filter(webhook_messages::created_at.lt(cutoff))
        .filter(sql::<Bool>(NONE_PENDING))
        .order(webhook_messages::seq.asc())
        .limit(limit)
        .select(webhook_messages::seq)
        .load(conn)?;
    delete_finished(conn, &seqs)
}

/// Every message about the calls `call_ids` (their ordering key), deleted
/// with all its deliveries, pending ones included; how many went.
pub fn purge_of_calls(
    conn: &mut DbConn,
    org: OrgId,
    call_ids: &[String],
) -> Result<usize, RepoError> {
    let seqs: Vec<i64> = webhook_messages::table
        .filter(webhook_messages::org_id.eq(org.to_string()))
        .filter(webhook_messages::ordering_key.eq_any(call_ids))
        .select(webhook_messages::seq)
        .load(conn)?;
    if seqs.is_empty() {
        return Ok(0);
    }
    diesel::delete(webhook_deliveries::table.filter(webhook_deliveries::message_seq.eq_any(&seqs)))
        .execute(conn)?;
    Ok(
        diesel::delete(webhook_messages::table.filter(webhook_messages::seq.eq_any(&seqs)))
            .execute(conn)?,
    )
}
