//! deskbind-worker: the background loops. Today: credential housekeeping
//! (expired refresh tokens, revoked sessions, spent provisioning codes and
//! binding tokens, old live-stream events), the binding-expiry sweep and
//! the dial-expiry sweep. The same loops run inside
//! the API process on the embedded default, or as separate
//! `deskbind-worker` processes. Both are idempotent (deletes, and
//! conditional updates that end a binding once), so any number may run side
//! by side.

use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::maintenance::{self, PurgeReport};
use deskbind_core::relay::Relay;
use deskbind_core::repo::{RepoError, bindings, dials};
use deskbind_core::time::now_micros;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between housekeeping runs.
    pub maintenance_interval: Duration,
    /// Time between sweeps that end expired bindings and log them.
    pub binding_expiry_interval: Duration,
    /// Time between sweeps that mark undelivered dial commands expired.
    pub dial_expiry_interval: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            maintenance_interval: Duration::from_secs(600),
            binding_expiry_interval: Duration::from_secs(30),
            dial_expiry_interval: Duration::from_secs(5),
        }
    }
}

/// One housekeeping pass; tests drive this directly.
pub async fn run_maintenance_once(db: &Database) -> Result<PurgeReport, RepoError> {
    db.run(maintenance::purge_now).await
}

/// Bindings ended per transaction of the sweep.
const EXPIRY_BATCH: i64 = 500;

/// Ends every binding whose expiry has passed and wakes its holder's
/// streams (the `binding` event is already in their log); returns how many.
pub async fn run_binding_expiry_once(db: &Database, relay: &Relay) -> Result<usize, RepoError> {
    let mut total = 0;
    loop {
        let (ended, due) = db
            .run(|conn| bindings::end_expired(conn, EXPIRY_BATCH))
            .await?;
        total += ended.len();
        for row in &ended {
            if let Ok(user) = row.user_id.parse() {
                relay.wake_user(user).await;
            }
        }
        if (due as i64) < EXPIRY_BATCH {
            return Ok(total);
        }
    }
}

/// Marks every queued dial command past its expiry `expired` and wakes its
/// user's streams; returns how many. (Delivery already refuses expired
/// commands; this makes their state say so.)
pub async fn run_dial_expiry_once(db: &Database, relay: &Relay) -> Result<usize, RepoError> {
    let mut total = 0;
    loop {
        let expired = db
            .run(|conn| dials::expire_due(conn, now_micros(), EXPIRY_BATCH))
            .await?;
        total += expired.len();
        for row in &expired {
            relay.wake_user(row.user()?).await;
        }
        if (expired.len() as i64) < EXPIRY_BATCH {
            return Ok(total);
        }
    }
}

/// Runs the loops until `cancel` fires; a failed pass is logged and retried
/// at the next tick, never fatal.
pub async fn run(db: Database, relay: Relay, options: WorkerOptions, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(options.maintenance_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expiry_tick = tokio::time::interval(options.binding_expiry_interval);
    expiry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dial_tick = tokio::time::interval(options.dial_expiry_interval);
    dial_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        interval_secs = options.maintenance_interval.as_secs(),
        "worker started"
    );
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => match run_maintenance_once(&db).await {
                Ok(report) if report == PurgeReport::default() => tracing::debug!("housekeeping: nothing to purge"),
                Ok(report) => tracing::info!(?report, "housekeeping purged expired credentials"),
                Err(e) => tracing::error!(error = %e, "housekeeping failed; retrying at the next tick"),
            },
            _ = expiry_tick.tick() => match run_binding_expiry_once(&db, &relay).await {
                Ok(0) => {}
                Ok(ended) => tracing::info!(ended, "expired bindings ended"),
                Err(e) => tracing::error!(error = %e, "binding expiry sweep failed; retrying at the next tick"),
            },
            _ = dial_tick.tick() => match run_dial_expiry_once(&db, &relay).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "undelivered dial commands expired"),
                Err(e) => tracing::error!(error = %e, "dial expiry sweep failed; retrying at the next tick"),
            },
        }
    }
    tracing::info!("worker stopped");
}
