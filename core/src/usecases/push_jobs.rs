//! The push job queue as the sender works it: claiming due jobs with a
//! lease, recording how a send ended (only while the claim still holds),
//! and purging finished jobs. See `repo::jobs` for the lease rules.

use crate::db::Database;
use crate::db::write_tx;
use crate::repo::RepoError;
use crate::repo::jobs::{self, Claimed, JobRow, Outcome};
use crate::time::Micros;

/// Claims up to `limit` due jobs for `owner` until `lease_until`, earliest
/// first, in one transaction.
pub async fn claim(
    db: &Database,
    owner: String,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> Result<Vec<Claimed>, RepoError> {
    db.run(move |conn| {
        write_tx(conn, |conn| {
            jobs::claim_due(conn, &owner, now, lease_until, limit)
        })
    })
    .await
}

/// Records the outcome, if this claim still holds the job; returns whether
/// it did.
pub async fn finish(
    db: &Database,
    job: JobRow,
    outcome: Outcome,
    error: Option<String>,
    now: Micros,
) -> Result<bool, RepoError> {
    db.run(move |conn| jobs::finish(conn, &job, outcome, error.as_deref(), now))
        .await
}

/// Puts the job back for another attempt at `run_at`, if this claim still
/// holds it; returns whether it did.
pub async fn retry_at(
    db: &Database,
    job: JobRow,
    run_at: Micros,
    error: String,
    maybe_delivered: bool,
) -> Result<bool, RepoError> {
    db.run(move |conn| jobs::retry_at(conn, &job, run_at, &error, maybe_delivered))
        .await
}

/// Deletes finished jobs older than `before`; returns how many.
pub async fn purge_finished(db: &Database, before: Micros) -> Result<usize, RepoError> {
    db.run(move |conn| jobs::purge_finished(conn, before)).await
}
