//! The archive the retention purge writes before it deletes call records
//! (docs/retention.md "Archives"): each batch becomes one part, the
//! batch's records as gzip-compressed NDJSON (one `CallRecord` per line,
//! as webhooks carry it), in the object store under
//! `archives/{org}/{YYYY-MM}/{part}.ndjson.gz`. A batch never spans two
//! UTC months, so a month's download is its parts joined (gzip members
//! concatenated are one valid gzip stream).
//!
//! A part is made in three steps so it holds exactly the records the purge
//! deletes: read and serialise the batch (no lock); insert the part
//! `pending` and store its object; then, under the purge's locks, check
//! every record is still due and unchanged (same change counter), complete
//! the part and delete the records in one transaction. A batch that
//! changed in between is discarded and read again. A part left pending by
//! a crash is deleted by a later run once it is older than
//! [`ABANDONED_AFTER`]. Deleting a part first claims it (`abandoned_at`,
//! only where it is not complete), and completing one requires it
//! unclaimed, so a part is either completed with its object or deleted
//! with it, whatever two workers do at once; a run also gives up a part it
//! began more than [`PART_DEADLINE`] ago. Parts are stamped with the system
//! clock (not the purge's `now`, which tests move).

use std::io::Write as _;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::record_reads;
use crate::db::Database;
use crate::ids::{CallArchiveId, OrgId, UserId};
use crate::repo::RepoError;
use crate::repo::call_archives::{self, CallArchiveRow};
use crate::repo::call_records::{self, CallRecordRow};
use crate::repo::retention_purge;
use crate::storage::{Storage, StorageError};
use crate::time::{Micros, now_micros, seconds, to_datetime};

/// A pending part older than this was abandoned by a crashed run.
pub const ABANDONED_AFTER: Duration = Duration::from_secs(3600);
/// A run gives up a part it began longer ago than this, well inside
/// [`ABANDONED_AFTER`].
pub const PART_DEADLINE: Duration = Duration::from_secs(1800);
/// Abandoned parts cleaned per step.
const CLEAN_BATCH: i64 = 100;

/// The UTC month (`YYYY-MM`) of a timestamp: the part a call goes to.
pub fn month_of(at: Micros) -> String {
    to_datetime(at).format("%Y-%m").to_string()
}

/// A batch read and serialised, not yet stored.
#[derive(Debug)]
pub struct PreparedPart {
    pub month: String,
    pub rows: Vec<CallRecordRow>,
    /// Every record's id, change counter, contact and recording, ordered
    /// by id: what the delete must still find.
    pub expected: Vec<retention_purge::ArchivedState>,
    pub body: Vec<u8>,
    /// Whether the read filled the batch before the month cut (more may
    /// be due).
    pub more: bool,
}

impl PreparedPart {
    /// The last record, where the next batch goes on from.
    pub fn last(&self) -> Option<(i64, String)> {
        self.rows.last().map(|r| (r.started_at, r.id.clone()))
    }
}

/// A part whose object is stored and whose row is pending.
#[derive(Debug, Clone)]
pub struct StoredPart {
    pub row: CallArchiveRow,
    pub begun: Instant,
}

impl StoredPart {
    /// Whether the run may still complete it.
    pub fn in_time(&self) -> bool {
        self.begun.elapsed() < PART_DEADLINE
    }
}

/// Reads up to `limit` due records of `org` after `after`, cuts them at
/// the first month boundary and serialises them; `None` when none is due.
pub async fn prepare(
    db: &Database,
    org: OrgId,
    before: Micros,
    after: Option<(i64, String)>,
    limit: i64,
) -> Result<Option<PreparedPart>, RepoError> {
    db.run(move |conn| {
        let due = retention_purge::due_call_records(conn, org, before, after.as_ref(), limit)?;
        if due.is_empty() {
            return Ok(None);
        }
        let full = i64::try_from(due.len()).unwrap_or(i64::MAX) >= limit;
        let ids: Vec<String> = due.into_iter().map(|d| d.id).collect();
        // Rows a concurrent change removed since are simply not archived
        // (nor deleted: the delete takes only what was archived). The month
        // is the rows' own, as read here.
        let mut rows = call_records::by_ids_oldest_first(conn, org, &ids)?;
        let month = rows
            .first()
            .map(|r| month_of(r.started_at))
            .unwrap_or_default();
        let keep = rows
            .iter()
            .take_while(|r| month_of(r.started_at) == month)
            .count();
        let cut = keep < rows.len();
        rows.truncate(keep);
        // As webhooks carry a call: nobody's view, so another user's
        // private call is archived redacted, as it is shown.
        let records = record_reads::for_reader(conn, UserId::nobody(), &rows)?;
        // The lines first, then one compression pass: serde_json writes
        // token by token, and each small write into the encoder costs a
        // pass over its output buffer.
        let mut lines = Vec::with_capacity(records.len() * 1024);
        for record in &records {
            serde_json::to_writer(&mut lines, record)
                .map_err(|e| RepoError::Corrupt(format!("unserialisable call: {e}")))?;
            lines.push(b'\n');
        }
        let mut gz = GzEncoder::new(Vec::with_capacity(lines.len() / 4), Compression::default());
        gz.write_all(&lines).map_err(io_corrupt)?;
        let body = gz.finish().map_err(io_corrupt)?;
        let mut expected: Vec<retention_purge::ArchivedState> =
            rows.iter().map(archived_state).collect();
        expected.sort_unstable();
        Ok(Some(PreparedPart {
            month,
            rows,
            expected,
            body,
            more: full || cut,
        }))
    })
    .await
}

/// What the delete must still find of an archived row.
fn archived_state(row: &CallRecordRow) -> retention_purge::ArchivedState {
    retention_purge::ArchivedState {
        id: row.id.clone(),
        sync_seq: row.sync_seq,
        contact_id: row.contact_id.clone(),
        recording_id: row.recording_id.clone(),
    }
}

fn io_corrupt(e: std::io::Error) -> RepoError {
    RepoError::Corrupt(format!("archive compression: {e}"))
}

/// Why a part could not be stored.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Inserts the part pending, then stores its object. If the object cannot
/// be stored, the row is removed again and the records stay.
pub async fn store(
    db: &Database,
    storage: &Storage,
    org: OrgId,
    part: &PreparedPart,
) -> Result<StoredPart, ArchiveError> {
    let id = CallArchiveId::new();
    let row = CallArchiveRow {
        id: id.to_string(),
        org_id: org.to_string(),
        month: part.month.clone(),
        storage_key: format!("archives/{org}/{}/{id}.ndjson.gz", part.month),
        store_id: storage.store_id().map(str::to_owned),
        records: i64::try_from(part.rows.len()).unwrap_or(i64::MAX),
        size_bytes: i64::try_from(part.body.len()).unwrap_or(i64::MAX),
        first_started_at: part.rows.first().map_or(0, |r| r.started_at),
        last_started_at: part.rows.last().map_or(0, |r| r.started_at),
        created_at: now_micros(),
        completed_at: None,
        abandoned_at: None,
    };
    let begun = Instant::now();
    let pending = row.clone();
    db.write(move |conn| call_archives::insert_pending(conn, &pending))
        .await?;
    if let Err(e) = put(storage, &row.storage_key, &part.body).await {
        discard(db, storage, &row).await?;
        return Err(e.into());
    }
    Ok(StoredPart { row, begun })
}

async fn put(storage: &Storage, key: &str, body: &[u8]) -> Result<(), StorageError> {
    let spool = storage.spool_dir().to_owned();
    let bytes = body.to_vec();
    let file = tokio::task::spawn_blocking(move || {
        let mut file = tempfile::NamedTempFile::new_in(spool)?;
        file.write_all(&bytes)?;
        file.as_file().sync_all()?;
        Ok::<_, std::io::Error>(file.into_temp_path())
    })
    .await
    .map_err(|e| StorageError::Io(std::io::Error::other(e)))??;
    storage.put_file(key, file, body.len() as u64).await
}

/// Removes a part that will not be completed: claims it (unless it was
/// completed meanwhile, which leaves it alone), deletes the object, then
/// the row. A crash in between leaves a claimed row, which any later run
/// finishes.
pub async fn discard(
    db: &Database,
    storage: &Storage,
    row: &CallArchiveRow,
) -> Result<(), ArchiveError> {
    let id = row.id.clone();
    let claimed = db
        .write(move |conn| call_archives::claim_abandoned(conn, &id, now_micros()))
        .await?;
    if !claimed {
        return Ok(());
    }
    storage.delete(&row.storage_key).await?;
    let id = row.id.clone();
    db.write(move |conn| call_archives::delete_pending(conn, &id))
        .await?;
    Ok(())
}

/// Deletes the parts on this node's store that crashed runs abandoned
/// (begun more than [`ABANDONED_AFTER`] ago by the system clock, or claimed
/// already); how many. One whose object cannot be deleted is left for the
/// next run.
pub async fn clean_abandoned(db: &Database, storage: &Storage) -> Result<usize, RepoError> {
    let before = now_micros() - seconds(ABANDONED_AFTER.as_secs() as i64);
    let store = storage.store_id().map(str::to_owned);
    let rows = db
        .run(move |conn| call_archives::abandoned(conn, before, store.as_deref(), CLEAN_BATCH))
        .await?;
    let mut cleaned = 0;
    for row in rows {
        match discard(db, storage, &row).await {
            Ok(()) => cleaned += 1,
            Err(ArchiveError::Repo(e)) => return Err(e),
            Err(ArchiveError::Storage(e)) => {
                tracing::warn!(part = %row.id, error = %e, "retention: could not delete an abandoned archive part; retrying next run");
            }
        }
    }
    Ok(cleaned)
}
