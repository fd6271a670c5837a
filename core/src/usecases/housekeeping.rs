//! Housekeeping that keeps tables from growing without bound: expired
//! refresh tokens, long-revoked sessions, spent provisioning codes and NFC
//! binding tokens, the live-stream event log, blocklist entries long past
//! their expiry, and webhook messages created more than
//! [`WEBHOOK_LOG_DAYS`] days ago whose deliveries have all finished (the
//! delivery log and replay reach back that far).
//! Run by the worker (or the API's embedded worker) on an interval. Plain
//! deletes, no transaction: each is idempotent and any number may run.

use crate::db::DbConn;
use crate::repo::{
    RepoError, app_events, binding_tokens, blocklist, console_sessions, provisioning, sessions,
    webhook_log,
};
use crate::time::{Micros, now_micros, seconds};

/// How long spent rows are kept for forensics before they are deleted.
pub const RETENTION_SECS: i64 = 7 * 24 * 3600;

/// Expired blocklist entries deleted per statement: a backlog never holds
/// the table (or SQLite's one writer) for long.
pub const BLOCKLIST_BATCH: i64 = 500;

/// Days from its creation a webhook message, its deliveries and their log
/// are kept; it goes once they are past and every delivery has finished
/// (delivered or failed for good).
pub const WEBHOOK_LOG_DAYS: i64 = 30;
/// Webhook messages deleted per step.
pub const WEBHOOK_LOG_BATCH: i64 = 500;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeReport {
    pub sessions_and_tokens: usize,
    pub provisioning_codes: usize,
    pub binding_tokens: usize,
    /// A stream resuming from before this gets a `resync` event.
    pub app_events: usize,
    /// Expired before `now - RETENTION_SECS` (they no longer applied).
    pub blocklist_entries: usize,
    /// Finished webhook messages created before `now - WEBHOOK_LOG_DAYS`.
    pub webhook_messages: usize,
}

/// Deletes rows that expired, were used or were revoked before `now - RETENTION_SECS`.
pub fn purge(conn: &mut DbConn, now: Micros) -> Result<PurgeReport, RepoError> {
    let cutoff = now - seconds(RETENTION_SECS);
    // Console sessions first: a login session is purged only once no
    // browser holds it.
    let browsers = console_sessions::purge_expired(conn, cutoff)?;
    Ok(PurgeReport {
        sessions_and_tokens: browsers + sessions::purge_expired(conn, cutoff)?,
        provisioning_codes: provisioning::purge_expired(conn, cutoff)?,
        binding_tokens: binding_tokens::purge_expired(conn, cutoff)?,
        app_events: app_events::purge(conn, cutoff)?,
        blocklist_entries: purge_blocklist(conn, cutoff)?,
        webhook_messages: purge_webhook_log(conn, now - seconds(WEBHOOK_LOG_DAYS * 24 * 3600))?,
    })
}

/// Deletes finished webhook messages created before `cutoff`, a bounded
/// batch per step until none is left.
fn purge_webhook_log(conn: &mut DbConn, cutoff: Micros) -> Result<usize, RepoError> {
    in_batches(WEBHOOK_LOG_BATCH, |limit| {
        webhook_log::purge_older_than(conn, cutoff, limit)
    })
}

/// Deletes blocklist entries that expired before `cutoff`, a bounded batch
/// per statement until none is left.
fn purge_blocklist(conn: &mut DbConn, cutoff: Micros) -> Result<usize, RepoError> {
    in_batches(BLOCKLIST_BATCH, |limit| {
        blocklist::purge_expired(conn, cutoff, limit)
    })
}

/// Runs `step` (which deletes at most `batch` rows) until a step deletes
/// fewer; the total deleted.
fn in_batches(
    batch: i64,
    mut step: impl FnMut(i64) -> Result<usize, RepoError>,
) -> Result<usize, RepoError> {
    let mut total = 0;
    loop {
        let deleted = step(batch)?;
        total += deleted;
        if i64::try_from(deleted).unwrap_or(i64::MAX) < batch {
            return Ok(total);
        }
    }
}

/// [`purge`] as of now.
pub fn purge_now(conn: &mut DbConn) -> Result<PurgeReport, RepoError> {
    purge(conn, now_micros())
}
