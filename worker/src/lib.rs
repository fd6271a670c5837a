//! deskbind-worker: the background loops. Today that is credential
//! housekeeping (expired refresh tokens, revoked sessions, spent
//! provisioning codes). The same loops run inside the API process on the
//! embedded default, or as separate `deskbind-worker` processes; the
//! housekeeping deletes are idempotent, so any number may run side by side.

use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::maintenance::{self, PurgeReport};
use deskbind_core::repo::RepoError;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between housekeeping runs.
    pub maintenance_interval: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            maintenance_interval: Duration::from_secs(600),
        }
    }
}

/// One housekeeping pass; tests drive this directly.
pub async fn run_maintenance_once(db: &Database) -> Result<PurgeReport, RepoError> {
    db.run(maintenance::purge_now).await
}

/// Runs the loops until `cancel` fires; a failed pass is logged and retried
/// at the next tick, never fatal.
pub async fn run(db: Database, options: WorkerOptions, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(options.maintenance_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
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
        }
    }
    tracing::info!("worker stopped");
}
