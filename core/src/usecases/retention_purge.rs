//! The retention purge (docs/retention.md), run by the worker: call
//! records and recordings past their organisation's days that no legal
//! hold keeps are deleted in bounded batches, each its own short
//! transaction under the organisation's lock (the lock a hold takes), and
//! one audit entry per organisation counts what went.
//!
//! A recording goes in three steps so that no object outlives its row and
//! no row points at a missing object unnoticed: a transaction marks it
//! `purging_at` and unlinks it from its call; the object is deleted; then
//! the row. A crash after the mark leaves a marked row, which the next run
//! finishes first (deleting an object that is gone already is not an
//! error). A call record's recording is marked in the transaction that
//! deletes the record.
//!
//! With archiving on (`retention_archive`, the default), each batch of
//! call records is first written to the archive (`retention_archive`), and
//! the transaction that deletes the batch completes its part.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::db::Database;
use crate::ids::OrgId;
use crate::repo::retention_purge::{self, StoreFilter};
use crate::repo::{
    RepoError, call_archives, orgs, retention_policies, stored_id, sync_seq, webhook_log,
};
use crate::storage::Storage;
use crate::time::{Micros, now_micros, seconds};
use crate::wire::{AuditAction, RetentionDays};

use super::audit::{Entry, by_system};
use super::retention::effective;
use super::retention_archive::{self, ArchiveError, PreparedPart, StoredPart};

/// Call records deleted per transaction.
pub const RECORD_BATCH: i64 = 500;
/// Recordings marked, or deleted from storage, per step.
pub const RECORDING_BATCH: i64 = 100;

const DAY_SECS: i64 = 24 * 3600;
/// Times a batch is archived again after it changed under the archive
/// before the organisation is left for the next run.
const ARCHIVE_ATTEMPTS: usize = 3;

/// What the operator configured for every organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurgeOptions {
    /// The operator's days (`retention_*_days`).
    pub defaults: RetentionDays,
    /// Archive call records before deleting them (`retention_archive`).
    pub archive: bool,
}

/// What one run purged, and the longest a batch held its transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetentionReport {
    pub call_records: usize,
    pub recordings: usize,
    pub recording_bytes: u64,
    /// Marked recordings whose object could not be deleted this run (they
    /// stay marked and are retried on the next), and archive parts that
    /// could not be stored (their organisation's records wait).
    pub storage_failures: usize,
    /// Archive parts written (and completed) this run.
    pub archive_parts: usize,
    pub archive_bytes: u64,
    pub longest_batch: Duration,
}

impl RetentionReport {
    pub fn is_empty(&self) -> bool {
        self.call_records == 0 && self.recordings == 0 && self.storage_failures == 0
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct OrgCounts {
    call_records: usize,
    recordings: usize,
    recording_bytes: u64,
    archive_parts: usize,
}

/// The locks every purge batch takes, in the order every writer takes
/// them: the organisation's (which a legal hold also takes) and its change
/// lock (which record ingest and recording uploads take to link a call
/// and its recording), so no call is linked to a recording while a batch
/// marks it.
fn lock(conn: &mut crate::db::DbConn, org: OrgId) -> Result<(), RepoError> {
    let org = org.to_string();
    orgs::lock(conn, &org)?;
    sync_seq::lock(conn, &org)
}

/// Which recordings this node's store holds.
pub fn store_filter(storage: &Storage) -> StoreFilter {
    match storage.store_id() {
        Some(id) => StoreFilter::Local(id.to_owned()),
        None => StoreFilter::S3,
    }
}

/// One purge as of `now` (the worker passes the system clock; tests move
/// it).
pub async fn run(
    db: &Database,
    storage: &Storage,
    options: PurgeOptions,
    now: Micros,
) -> Result<RetentionReport, RepoError> {
    let defaults = options.defaults;
    let store = store_filter(storage);
    let mut report = RetentionReport::default();
    let mut counts: BTreeMap<String, OrgCounts> = BTreeMap::new();
    // A crashed run's marked recordings and abandoned archive parts first.
    finish_marked(db, storage, &store, &mut report, &mut counts).await?;
    retention_archive::clean_abandoned(db, storage).await?;
    let policies: BTreeMap<String, RetentionDays> = db
        .run(retention_policies::all)
        .await?
        .into_iter()
        .map(|p| (p.org_id.clone(), p.chosen()))
        .collect();
    let org_ids = db.run(orgs::all_ids).await?;
    for org_id in org_ids {
        let chosen = policies
            .get(&org_id)
            .copied()
            .unwrap_or(RetentionDays::UNCHOSEN);
        let days = effective(chosen, defaults);
        let org: OrgId = stored_id(&org_id)?;
        if let Some(d) = days.call_record_days {
            let before = now - seconds(d * DAY_SECS);
            let purged = if options.archive {
                archive_and_purge_call_records(db, storage, org, before, &mut report).await?
            } else {
                let n = purge_call_records(db, org, before, now, &mut report).await?;
                (n, 0)
            };
            let entry = counts.entry(org_id.clone()).or_default();
            entry.call_records += purged.0;
            entry.archive_parts += purged.1;
        }
        if let Some(d) = days.recording_days {
            mark_recordings(
                db,
                org,
                now - seconds(d * DAY_SECS),
                &store,
                now,
                &mut report,
            )
            .await?;
        }
        finish_marked(db, storage, &store, &mut report, &mut counts).await?;
        if let Some(c) = counts.remove(&org_id) {
            record_audit(db, org, c, now).await?;
        }
    }
    // Leftovers of organisations handled before their rows were finished.
    for (org_id, c) in counts {
        record_audit(db, stored_id(&org_id)?, c, now).await?;
    }
    Ok(report)
}

/// Deletes the organisation's due call records batch by batch, each batch
/// going on from the last record the previous one read; their recordings
/// are marked in the same transaction.
async fn purge_call_records(
    db: &Database,
    org: OrgId,
    before: Micros,
    now: Micros,
    report: &mut RetentionReport,
) -> Result<usize, RepoError> {
    let mut total = 0;
    let mut after: Option<(i64, String)> = None;
    loop {
        let started = Instant::now();
        let from = after.clone();
        let (deleted, last) = db
            .write(move |conn| {
                lock(conn, org)?;
                let due = retention_purge::due_call_records(
                    conn,
                    org,
                    before,
                    from.as_ref(),
                    RECORD_BATCH,
                )?;
                let Some(last) = due.last().map(|d| (d.started_at, d.id.clone())) else {
                    return Ok::<_, RepoError>((0, None));
                };
                let deleted = delete_batch(conn, org, &due, now)?;
                Ok((deleted, Some(last)))
            })
            .await?;
        report.longest_batch = report.longest_batch.max(started.elapsed());
        report.call_records += deleted;
        total += deleted;
        match last {
            Some(last) if i64::try_from(deleted).unwrap_or(i64::MAX) >= RECORD_BATCH => {
                after = Some(last);
            }
            _ => return Ok(total),
        }
    }
}

/// Deletes a batch of due call records, marking their recordings (linked
/// or not) for the purge in the same transaction.
fn delete_batch(
    conn: &mut crate::db::DbConn,
    org: OrgId,
    due: &[retention_purge::DueCall],
    now: Micros,
) -> Result<usize, RepoError> {
    let mut recordings: Vec<String> = due.iter().filter_map(|d| d.recording_id.clone()).collect();
    recordings.extend(retention_purge::recordings_of_calls(conn, due)?);
    recordings.sort_unstable();
    recordings.dedup();
    if !recordings.is_empty() {
        retention_purge::mark_purging(conn, &recordings, now)?;
    }
    let ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
    // Their webhook messages go too, pending deliveries included: a purged
    // call is neither sent nor replayed.
    webhook_log::purge_of_calls(conn, org, &ids)?;
    retention_purge::delete_call_records(conn, &ids)
}

/// How the transaction that deletes an archived batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// The part is complete and its records are gone.
    Deleted(usize),
    /// The batch changed since it was archived (or the part was claimed as
    /// abandoned, or its run ran out of time): nothing was written; the
    /// part must be discarded.
    Changed,
}

/// As [`purge_call_records`], archiving each batch first; returns the
/// records deleted and the parts written.
async fn archive_and_purge_call_records(
    db: &Database,
    storage: &Storage,
    org: OrgId,
    before: Micros,
    report: &mut RetentionReport,
) -> Result<(usize, usize), RepoError> {
    let (mut total, mut parts) = (0, 0);
    let mut after: Option<(i64, String)> = None;
    let mut attempts = 0;
    loop {
        let Some(part) =
            retention_archive::prepare(db, org, before, after.clone(), RECORD_BATCH).await?
        else {
            return Ok((total, parts));
        };
        if part.rows.is_empty() {
            // Deleted between the two reads: read the batch again.
            attempts += 1;
            if attempts >= ARCHIVE_ATTEMPTS {
                return Ok((total, parts));
            }
            continue;
        }
        let stored = match retention_archive::store(db, storage, org, &part).await {
            Ok(stored) => stored,
            Err(ArchiveError::Repo(e)) => return Err(e),
            Err(ArchiveError::Storage(e)) => {
                // The records stay until the archive can be written.
                tracing::warn!(org = %org, error = %e, "retention: could not store an archive part; the organisation's records wait for the next run");
                report.storage_failures += 1;
                return Ok((total, parts));
            }
        };
        let started = Instant::now();
        let committed = commit_archived(db, org, before, &part, &stored).await?;
        report.longest_batch = report.longest_batch.max(started.elapsed());
        match committed {
            Committed::Deleted(deleted) => {
                attempts = 0;
                total += deleted;
                parts += 1;
                report.call_records += deleted;
                report.archive_parts += 1;
                report.archive_bytes += part.body.len() as u64;
                if !part.more {
                    return Ok((total, parts));
                }
                after = part.last();
            }
            Committed::Changed => {
                match retention_archive::discard(db, storage, &stored.row).await {
                    Ok(()) => {}
                    Err(ArchiveError::Repo(e)) => return Err(e),
                    // Left pending: a later run deletes it as abandoned.
                    Err(ArchiveError::Storage(e)) => {
                        tracing::warn!(part = %stored.row.id, error = %e, "retention: could not delete a discarded archive part");
                    }
                }
                attempts += 1;
                if attempts >= ARCHIVE_ATTEMPTS {
                    tracing::warn!(org = %org, "retention: a batch kept changing while it was archived; left for the next run");
                    return Ok((total, parts));
                }
            }
        }
    }
}

/// Under the purge's locks: if every archived record is still due and
/// unchanged, and the part is neither claimed nor past its deadline,
/// completes the part and deletes the records.
pub async fn commit_archived(
    db: &Database,
    org: OrgId,
    before: Micros,
    part: &PreparedPart,
    stored: &StoredPart,
) -> Result<Committed, RepoError> {
    let due: Vec<retention_purge::DueCall> = part
        .rows
        .iter()
        .map(|r| retention_purge::DueCall {
            id: r.id.clone(),
            recording_id: r.recording_id.clone(),
            started_at: r.started_at,
            phone_id: r.phone_id.clone(),
            call_id: r.call_id.clone(),
        })
        .collect();
    let ids: Vec<String> = part.expected.iter().map(|s| s.id.clone()).collect();
    let expected = part.expected.clone();
    let part_id = stored.row.id.clone();
    let stored = stored.clone();
    db.write(move |conn| {
        lock(conn, org)?;
        // Checked once the locks are held: a run that waited past its
        // deadline gives the part up.
        if !stored.in_time() || retention_purge::still_due(conn, org, before, &ids)? != expected {
            return Ok(Committed::Changed);
        }
        let now = now_micros();
        if !call_archives::complete(conn, &part_id, now)? {
            return Ok(Committed::Changed);
        }
        Ok(Committed::Deleted(delete_batch(conn, org, &due, now)?))
    })
    .await
}

/// Marks the organisation's due recordings, batch by batch.
async fn mark_recordings(
    db: &Database,
    org: OrgId,
    before: Micros,
    store: &StoreFilter,
    now: Micros,
    report: &mut RetentionReport,
) -> Result<(), RepoError> {
    let mut after: Option<(i64, String)> = None;
    loop {
        let store = store.clone();
        let from = after.clone();
        let started = Instant::now();
        let (marked, last) = db
            .write(move |conn| {
                lock(conn, org)?;
                let due = retention_purge::due_recordings(
                    conn,
                    org,
                    before,
                    from.as_ref(),
                    &store,
                    RECORDING_BATCH,
                )?;
                let Some(last) = due.last().map(|d| (d.uploaded_at, d.id.clone())) else {
                    return Ok::<_, RepoError>((0, None));
                };
                let ids: Vec<String> = due.into_iter().map(|d| d.id).collect();
                retention_purge::mark_purging(conn, &ids, now)?;
                Ok((ids.len(), Some(last)))
            })
            .await?;
        report.longest_batch = report.longest_batch.max(started.elapsed());
        match last {
            Some(last) if i64::try_from(marked).unwrap_or(i64::MAX) >= RECORDING_BATCH => {
                after = Some(last);
            }
            _ => return Ok(()),
        }
    }
}

/// Deletes every marked recording this node's store holds: the object,
/// then the row. One whose object cannot be deleted stays marked.
async fn finish_marked(
    db: &Database,
    storage: &Storage,
    store: &StoreFilter,
    report: &mut RetentionReport,
    counts: &mut BTreeMap<String, OrgCounts>,
) -> Result<(), RepoError> {
    let mut failed: Vec<String> = Vec::new();
    loop {
        let filter = store.clone();
        let skip = failed.clone();
        let marked = db
            .run(move |conn| {
                retention_purge::marked_recordings(conn, &filter, &skip, RECORDING_BATCH)
            })
            .await?;
        if marked.is_empty() {
            report.storage_failures += failed.len();
            return Ok(());
        }
        let mut gone = Vec::with_capacity(marked.len());
        for row in &marked {
            match storage.delete(&row.storage_key).await {
                Ok(()) => gone.push(row.id.clone()),
                Err(e) => {
                    tracing::warn!(recording = %row.id, error = %e, "retention: could not delete a recording's object; retrying next run");
                    failed.push(row.id.clone());
                }
            }
        }
        let ids = gone.clone();
        let started = Instant::now();
        // Counted only where this run deleted the row: workers purging side
        // by side never count a recording twice.
        let deleted: Vec<String> = db
            .write(move |conn| {
                let mut deleted = Vec::new();
                for id in ids {
                    if retention_purge::delete_marked_recording(conn, &id)? {
                        deleted.push(id);
                    }
                }
                Ok::<_, RepoError>(deleted)
            })
            .await?;
        report.longest_batch = report.longest_batch.max(started.elapsed());
        for row in marked.iter().filter(|r| deleted.contains(&r.id)) {
            let c = counts.entry(row.org_id.clone()).or_default();
            c.recordings += 1;
            let bytes = u64::try_from(row.size_bytes).unwrap_or_default();
            c.recording_bytes += bytes;
            report.recordings += 1;
            report.recording_bytes += bytes;
        }
    }
}

async fn record_audit(
    db: &Database,
    org: OrgId,
    counts: OrgCounts,
    now: Micros,
) -> Result<(), RepoError> {
    if counts.call_records == 0 && counts.recordings == 0 && counts.archive_parts == 0 {
        return Ok(());
    }
    tracing::info!(org = %org, call_records = counts.call_records, recordings = counts.recordings, "retention purged");
    db.write(move |conn| {
        Entry::about_org(org, AuditAction::RetentionPurged, by_system())
            .detail("call_records", counts.call_records)
            .detail("recordings", counts.recordings)
            .detail("recording_bytes", counts.recording_bytes)
            .detail("archive_parts", counts.archive_parts)
            .record(conn, now)
    })
    .await
}
