//! Export jobs (docs/exports.md): a user asks for the call log of a filter
//! as CSV, or its recordings as a zip; a worker writes the file into the
//! recordings store, page by page, storing progress as it goes; the user
//! hears that it is ready on their event stream and by push, and may
//! download it until it expires.
//!
//! A worker holds an export through its job's lease, renewed at every
//! page. A worker that dies mid-file loses its lease, and the next claim
//! writes the file again from the start (the object key is the export's
//! id, so the retry replaces, never duplicates). Finishing requires the
//! lease still held, so two workers never both announce one export.

use serde::{Deserialize, Serialize};

use super::export_files::{self, Written};
use super::{AfterCommit, Services, app_events};
use crate::db::{DbConn, DbError};
use crate::ids::{ExportId, OrgId, UserId};
use crate::repo::call_records::{CallFilter, Scope};
use crate::repo::exports::{self, ExportRow};
use crate::repo::jobs::{self, JobRow, Outcome};
use crate::repo::{RepoError, retention_policies, stored_id, users};
use crate::storage::Storage;
use crate::time::{Micros, seconds};
use crate::wire::{AppEvent, ExportKind, ExportState};

/// Queued or running exports one user may have at a time.
pub const MAX_UNFINISHED_PER_USER: i64 = 3;
/// The job kind.
pub const EXPORT_JOB: &str = jobs::EXPORT;
/// How long a claim holds an export without renewing. Renewed at every
/// page and before the file is stored; long enough for storing 2 GiB.
pub const LEASE_MICROS: Micros = 600_000_000;
/// Attempts before an export that keeps failing is given up.
pub const MAX_ATTEMPTS: i64 = 3;

/// What an export reads: the requester's scope and filters as they were
/// resolved when it was asked for.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExportFilter {
    pub scope: Scope,
    pub filter: CallFilter,
}

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("the user already has {MAX_UNFINISHED_PER_USER} exports queued or running")]
    TooMany,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for CreateError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<DbError> for ExportFailure {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for ExportFailure {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// Queues an export of `filter` for `user`.
pub async fn create(
    services: &Services,
    org: OrgId,
    user: UserId,
    kind: ExportKind,
    filter: ExportFilter,
    now: Micros,
) -> Result<ExportRow, CreateError> {
    let filter = serde_json::to_string(&filter)
        .map_err(|e| RepoError::Corrupt(format!("export filter: {e}")))?;
    services
        .db
        .write(move |conn| {
            // The user's row lock makes the count and the insert one step,
            // so racing requests never pass the limit together.
            users::lock(conn, &user.to_string())?;
            if exports::unfinished_of_user(conn, user)? >= MAX_UNFINISHED_PER_USER {
                return Err(CreateError::TooMany);
            }
            let row = ExportRow {
                id: ExportId::new().to_string(),
                org_id: org.to_string(),
                user_id: user.to_string(),
                kind: kind.as_str().to_owned(),
                filter,
                state: ExportState::Queued.as_str().to_owned(),
                items_done: 0,
                items_total: None,
                storage_key: None,
                store_id: None,
                size_bytes: None,
                error: None,
                created_at: now,
                started_at: None,
                finished_at: None,
                expires_at: None,
            };
            exports::insert(conn, &row)?;
            jobs::enqueue_export(conn, &row.org_id, &row.user_id, &row.id, now)?;
            Ok(row)
        })
        .await
}

/// What one pass of the export worker did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ExportReport {
    pub ready: usize,
    pub failed: usize,
    pub retried: usize,
    pub expired: usize,
}

/// Writes one due export, if any; its file then stays the organisation's
/// `export_days`, or `export_days` (the operator's) when it chose none.
/// The clock is read at each step (`now`), so tests can move it.
pub async fn run_once(
    services: &Services,
    storage: &Storage,
    owner: &str,
    export_days: u64,
    now: impl Fn() -> Micros,
) -> Result<ExportReport, RepoError> {
    let owner_for_claim = owner.to_owned();
    let at = now();
    let claimed = services
        .db
        .write(move |conn| claim(conn, &owner_for_claim, at))
        .await?;
    let Some((job, row)) = claimed else {
        return Ok(ExportReport::default());
    };
    let written = write_file(services, storage, &job, &row, owner, &now).await;
    let mut report = ExportReport::default();
    let at = now();
    let (event_user, outcome) = match written {
        Ok(written) => {
            // Each attempt stores under its own key: a worker that lost its
            // lease never overwrites the file another attempt finished with.
            let key = storage_key(&row, job.attempts)?;
            let size_bytes = written.size_bytes;
            let stored = match progress_of(services, &job, &row, owner, &now)
                .report(written.items, Some(written.items))
                .await
            {
                Ok(()) => storage
                    .put_file(&key, written.file, size_bytes)
                    .await
                    .map_err(|e| ExportFailure::Io(e.to_string())),
                Err(e) => Err(e),
            };
            match stored {
                Ok(()) => {
                    let store_id = storage.store_id().map(str::to_owned);
                    let default_days = i64::try_from(export_days).unwrap_or(7);
                    let (items, stored_key) = (written.items, key.clone());
                    let finished = services
                        .db
                        .write(move |conn| {
                            let expires_at =
                                at + seconds(days_kept(conn, &row, default_days)? * 86_400);
                            finish_ready(
                                conn, &job, row, stored_key, store_id, items, size_bytes, at,
                                expires_at,
                            )
                        })
                        .await?;
                    match finished {
                        Some(user) => {
                            report.ready += 1;
                            (Some(user), "ready")
                        }
                        None => {
                            // The lease ran out while storing: another
                            // attempt owns the export; this file is nobody's.
                            if let Err(e) = storage.delete(&key).await {
                                tracing::warn!(error = %e, key, "stale export file not deleted");
                            }
                            (None, "lease lost")
                        }
                    }
                }
                Err(ExportFailure::LeaseLost) => (None, "lease lost"),
                Err(e) => {
                    tracing::warn!(error = %e, "export file could not be stored");
                    give_up_or_retry(services, job, row, &e.to_string(), false, at, &mut report)
                        .await?
                }
            }
        }
        // Another worker holds the export now; it will finish it.
        Err(ExportFailure::LeaseLost) => (None, "lease lost"),
        Err(e) => {
            tracing::warn!(error = %e, "export could not be written");
            let fatal = matches!(e, ExportFailure::Fatal(_));
            give_up_or_retry(services, job, row, &e.to_string(), fatal, at, &mut report).await?
        }
    };
    if let Some(user) = event_user {
        let mut after = AfterCommit::new();
        after.wake_user(user);
        after.run(services).await;
    }
    tracing::info!(outcome, "export pass");
    Ok(report)
}

fn storage_key(row: &ExportRow, attempt: i64) -> Result<String, RepoError> {
    let ext = match row.kind()? {
        ExportKind::CallsCsv => "csv",
        ExportKind::RecordingsZip => "zip",
    };
    Ok(format!("exports/{}/{}-{attempt}.{ext}", row.org_id, row.id))
}

/// Claims the next due export job and marks its export running; a job
/// whose export is gone or no longer waiting is closed.
fn claim(
    conn: &mut DbConn,
    owner: &str,
    now: Micros,
) -> Result<Option<(JobRow, ExportRow)>, RepoError> {
    loop {
        let Some(claimed) =
            jobs::claim_due_of_kind(conn, EXPORT_JOB, owner, now, now + LEASE_MICROS, 1)?
                .into_iter()
                .next()
        else {
            return Ok(None);
        };
        let job = claimed.job;
        let Some(mut row) = exports::by_id(conn, &job.payload)? else {
            jobs::finish(conn, &job, Outcome::Dropped, Some("export gone"), now)?;
            continue;
        };
        if !matches!(row.state()?, ExportState::Queued | ExportState::Running) {
            jobs::finish(conn, &job, Outcome::Dropped, Some("export finished"), now)?;
            continue;
        }
        // Claimed again and again without an answer: each worker died or
        // timed out on it. Give up rather than loop forever.
        if job.attempts > MAX_ATTEMPTS + 1 {
            let error = format!(
                "the export was started {} times and never finished (the worker stopped or timed out)",
                job.attempts - 1
            );
            if jobs::finish(conn, &job, Outcome::Failed, Some(&error), now)? {
                row.state = ExportState::Failed.as_str().to_owned();
                row.error = Some(error);
                row.finished_at = Some(now);
                announce(conn, &row, now)?;
            }
            continue;
        }
        row.state = ExportState::Running.as_str().to_owned();
        row.started_at = Some(now);
        row.items_done = 0;
        exports::update(conn, &row)?;
        return Ok(Some((job, row)));
    }
}

/// Writes the file into the spool directory, storing progress and
/// renewing the lease after every page.
async fn write_file(
    services: &Services,
    storage: &Storage,
    job: &JobRow,
    row: &ExportRow,
    owner: &str,
    now: &impl Fn() -> Micros,
) -> Result<Written, ExportFailure> {
    let filter: ExportFilter = serde_json::from_str(&row.filter)
        .map_err(|e| ExportFailure::Fatal(format!("export filter: {e}")))?;
    let org: OrgId = stored_id(&row.org_id)?;
    let reader: UserId = stored_id(&row.user_id)?;
    let progress = progress_of(services, job, row, owner, now);
    match row.kind()? {
        ExportKind::CallsCsv => {
            export_files::calls_csv(
                &services.db,
                storage.spool_dir(),
                org,
                reader,
                &filter,
                &progress,
            )
            .await
        }
        ExportKind::RecordingsZip => {
            export_files::recordings_zip(&services.db, storage, org, reader, &filter, &progress)
                .await
        }
    }
}

fn progress_of<'a, F: Fn() -> Micros>(
    services: &'a Services,
    job: &JobRow,
    row: &ExportRow,
    owner: &str,
    now: &'a F,
) -> Progress<'a, F> {
    Progress {
        services,
        job_id: job.id.clone(),
        export_id: row.id.clone(),
        owner: owner.to_owned(),
        now,
    }
}

/// Why an export could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ExportFailure {
    /// Trying again would fail the same way (too large, a bad filter).
    #[error("{0}")]
    Fatal(String),
    /// The lease was lost (another worker holds the export now).
    #[error("the export's lease was lost")]
    LeaseLost,
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("{0}")]
    Io(String),
}

impl From<std::io::Error> for ExportFailure {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.to_string())
    }
}

/// Stores a running export's progress and renews its job's lease.
pub struct Progress<'a, F: Fn() -> Micros> {
    services: &'a Services,
    job_id: String,
    export_id: String,
    owner: String,
    now: &'a F,
}

impl<F: Fn() -> Micros> std::fmt::Debug for Progress<'_, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Progress")
            .field("export_id", &self.export_id)
            .finish()
    }
}

impl<F: Fn() -> Micros> Progress<'_, F> {
    pub async fn report(&self, done: i64, total: Option<i64>) -> Result<(), ExportFailure> {
        let (job, export, owner, now) = (
            self.job_id.clone(),
            self.export_id.clone(),
            self.owner.clone(),
            (self.now)(),
        );
        let held = self
            .services
            .db
            .write(move |conn| {
                Ok::<_, RepoError>(
                    jobs::renew_lease(conn, &job, &owner, now + LEASE_MICROS)?
                        && exports::progress(conn, &export, done, total)?,
                )
            })
            .await?;
        if held {
            Ok(())
        } else {
            Err(ExportFailure::LeaseLost)
        }
    }
}

/// Days the export's file is kept: its organisation's `export_days`, else
/// the operator's.
fn days_kept(conn: &mut DbConn, row: &ExportRow, default_days: i64) -> Result<i64, RepoError> {
    let org: OrgId = stored_id(&row.org_id)?;
    Ok(retention_policies::get(conn, org)?
        .and_then(|p| p.export_days)
        .unwrap_or(default_days))
}

#[allow(clippy::too_many_arguments)]
fn finish_ready(
    conn: &mut DbConn,
    job: &JobRow,
    mut row: ExportRow,
    key: String,
    store_id: Option<String>,
    items: i64,
    size_bytes: u64,
    now: Micros,
    expires_at: Micros,
) -> Result<Option<UserId>, RepoError> {
    if !jobs::finish(conn, job, Outcome::Done, None, now)? {
        // Another worker holds it now and will announce its own file.
        return Ok(None);
    }
    row.state = ExportState::Ready.as_str().to_owned();
    row.items_done = items;
    row.items_total = Some(items);
    row.storage_key = Some(key);
    row.store_id = store_id;
    row.size_bytes = Some(i64::try_from(size_bytes).unwrap_or(i64::MAX));
    row.error = None;
    row.finished_at = Some(now);
    row.expires_at = Some(expires_at);
    announce(conn, &row, now)
}

fn announce(conn: &mut DbConn, row: &ExportRow, now: Micros) -> Result<Option<UserId>, RepoError> {
    exports::update(conn, row)?;
    let event = AppEvent::Export {
        export: Box::new(row.to_wire()?),
    };
    app_events::record(conn, &row.org_id, &row.user_id, &event, now)?;
    Ok(Some(stored_id(&row.user_id)?))
}

async fn give_up_or_retry(
    services: &Services,
    job: JobRow,
    mut row: ExportRow,
    error: &str,
    fatal: bool,
    now: Micros,
    report: &mut ExportReport,
) -> Result<(Option<UserId>, &'static str), RepoError> {
    let error = error.to_owned();
    if !fatal && job.attempts < MAX_ATTEMPTS {
        report.retried += 1;
        services
            .db
            .write(move |conn| jobs::retry_at(conn, &job, now + seconds(30), &error, false))
            .await?;
        return Ok((None, "retry"));
    }
    report.failed += 1;
    let user = services
        .db
        .write(move |conn| {
            if !jobs::finish(conn, &job, Outcome::Failed, Some(&error), now)? {
                return Ok(None);
            }
            row.state = ExportState::Failed.as_str().to_owned();
            row.error = Some(error);
            row.finished_at = Some(now);
            announce(conn, &row, now)
        })
        .await?;
    Ok((user, "failed"))
}

/// Deletes the files of ready exports past their time (row first, so a
/// download stops at once, then the object; a crash between leaves an
/// expired row still naming its key, which the next pass deletes).
pub async fn expire(
    services: &Services,
    storage: &Storage,
    now: Micros,
) -> Result<usize, RepoError> {
    // A read first: the pass runs every second on every worker, and most
    // seconds nothing is due, so no write transaction is opened for it.
    if !services
        .db
        .run(move |conn| exports::any_to_expire(conn, now))
        .await?
    {
        return Ok(0);
    }
    let due = services
        .db
        .write(move |conn| {
            // Files a crashed pass left first, then the newly expired.
            let mut claimed = exports::expired_with_file(conn, 100)?;
            for row in exports::expired(conn, now, 100)? {
                if exports::mark_expired(conn, &row.id)? {
                    claimed.push(row);
                }
            }
            Ok::<_, RepoError>(claimed)
        })
        .await?;
    let mut expired = 0;
    for row in due {
        let Some(key) = row.storage_key.clone() else {
            continue;
        };
        if row
            .store_id
            .as_deref()
            .is_some_and(|s| Some(s) != storage.store_id())
        {
            continue;
        }
        if let Err(e) = storage.delete(&key).await {
            tracing::warn!(error = %e, export = %row.id, "expired export file not deleted; retrying later");
            continue;
        }
        let id = row.id.clone();
        services
            .db
            .write(move |conn| exports::forget_file(conn, &id))
            .await?;
        expired += 1;
    }
    Ok(expired)
}
