//! Writing an export's file into the spool directory (docs/exports.md):
//! the call log as CSV, page by page, or the recordings of the filter's
//! calls as a zip (stored, not compressed: audio does not shrink much)
//! with an `index.csv` naming each file's call. Both read as the
//! requester: another user's private call is redacted in the CSV and its
//! recording left out of the zip.

use std::io::Write;
use std::path::Path;

use futures_util::StreamExt;
use tokio::io::AsyncWriteExt;
use zip::write::SimpleFileOptions;

use super::call_csv;
use super::exports::{ExportFailure, ExportFilter, Progress};
use super::record_reads;
use crate::db::Database;
use crate::ids::{OrgId, UserId};
use crate::repo::call_records::{self, CallRecordRow, ListCursor};
use crate::repo::recordings::{self, RecordingRow};
use crate::storage::Storage;
use crate::time::{Micros, to_datetime};

/// Calls read per page.
const PAGE: i64 = 1000;
/// Recordings one zip may hold.
pub const MAX_ZIP_RECORDINGS: usize = 2_000;
/// Bytes of audio one zip may hold (2 GiB).
pub const MAX_ZIP_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// A written file, ready to store.
#[derive(Debug)]
pub struct Written {
    pub file: tempfile::TempPath,
    pub size_bytes: u64,
    /// Calls (CSV) or recordings (zip) in it.
    pub items: i64,
}

pub async fn calls_csv<F: Fn() -> Micros>(
    db: &Database,
    spool: &Path,
    org: OrgId,
    reader: UserId,
    filter: &ExportFilter,
    progress: &Progress<'_, F>,
) -> Result<Written, ExportFailure> {
    let (std_file, path) = tempfile::NamedTempFile::new_in(spool)?.into_parts();
    let mut file = tokio::fs::File::from_std(std_file);
    file.write_all(&call_csv::header()?).await?;
    let mut cursor: Option<ListCursor> = None;
    let mut items = 0i64;
    loop {
        let (scope, calls, after) = (filter.scope.clone(), filter.filter.clone(), cursor.clone());
        let page = db
            .run(move |conn| {
                call_csv::page(conn, org, reader, &scope, &calls, after.as_ref(), PAGE)
            })
            .await?;
        file.write_all(&page.bytes).await?;
        items += i64::try_from(page.rows).unwrap_or(0);
        progress.report(items, None).await?;
        cursor = page.next;
        if cursor.is_none() {
            break;
        }
    }
    file.flush().await?;
    file.sync_all().await?;
    let size_bytes = file.metadata().await?.len();
    Ok(Written {
        file: path,
        size_bytes,
        items,
    })
}

/// The calls of the filter with a recording the reader may hear, newest
/// first, with their recordings.
async fn recorded_calls(
    db: &Database,
    org: OrgId,
    reader: UserId,
    filter: &ExportFilter,
) -> Result<Vec<(CallRecordRow, RecordingRow)>, ExportFailure> {
    let mut calls = filter.filter.clone();
    calls.has_recording = Some(true);
    let mut found = Vec::new();
    let mut cursor: Option<ListCursor> = None;
    loop {
        let (scope, calls, after) = (filter.scope.clone(), calls.clone(), cursor.clone());
        let (rows, more) = db
            .run(move |conn| {
                let mut rows = call_records::list(conn, org, &scope, &calls, after.as_ref(), PAGE)?;
                let more = rows.len() as i64 == PAGE;
                let next = rows.last().map(ListCursor::of);
                // Another user's private call loses its recording here.
                record_reads::redact_for(conn, reader, &mut rows)?;
                let ids: Vec<&str> = rows
                    .iter()
                    .filter_map(|r| r.recording_id.as_deref())
                    .collect();
                let mut recs = recordings::by_ids(conn, &ids)?;
                let pairs: Vec<(CallRecordRow, RecordingRow)> = rows
                    .into_iter()
                    .filter_map(|r| {
                        let rec = recs.remove(r.recording_id.as_deref()?)?;
                        Some((r, rec))
                    })
                    .collect();
                Ok::<_, crate::repo::RepoError>((pairs, more.then_some(next).flatten()))
            })
            .await?;
        found.extend(rows);
        if found.len() > MAX_ZIP_RECORDINGS {
            return Err(ExportFailure::Fatal(format!(
                "the filter selects more than {MAX_ZIP_RECORDINGS} recordings; narrow it (for example with from and until)"
            )));
        }
        cursor = more;
        if cursor.is_none() {
            return Ok(found);
        }
    }
}

fn file_name(call: &CallRecordRow, recording: &RecordingRow) -> String {
    format!(
        "{}_{}_{}.{}",
        to_datetime(call.started_at).format("%Y%m%dT%H%M%SZ"),
        call.direction,
        call.id,
        recording.format
    )
}

const INDEX_COLUMNS: [&str; 9] = [
    "file",
    "call_record_id",
    "started_at",
    "direction",
    "remote_number",
    "duration_secs",
    "format",
    "size_bytes",
    "note",
];

/// Runs `work` on the blocking pool.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ExportFailure> + Send + 'static,
) -> Result<T, ExportFailure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ExportFailure::Io(format!("blocking task: {e}")))?
}

fn zip_error(e: zip::result::ZipError) -> ExportFailure {
    ExportFailure::Io(format!("zip: {e}"))
}

pub async fn recordings_zip<F: Fn() -> Micros>(
    db: &Database,
    storage: &Storage,
    org: OrgId,
    reader: UserId,
    filter: &ExportFilter,
    progress: &Progress<'_, F>,
) -> Result<Written, ExportFailure> {
    let pairs = recorded_calls(db, org, reader, filter).await?;
    let audio: u64 = pairs
        .iter()
        .map(|(_, r)| u64::try_from(r.size_bytes).unwrap_or(0))
        .sum();
    if audio > MAX_ZIP_BYTES {
        return Err(ExportFailure::Fatal(format!(
            "the recordings come to {audio} bytes, more than the {MAX_ZIP_BYTES} one export may hold; narrow the filter"
        )));
    }
    let total = i64::try_from(pairs.len()).unwrap_or(i64::MAX);
    progress.report(0, Some(total)).await?;
    let (std_file, path) = tempfile::NamedTempFile::new_in(storage.spool_dir())?.into_parts();
    // The zip writer is synchronous: every write runs on the blocking pool,
    // the writer moving there and back, so the runtime's threads (the
    // API's, with the embedded worker) never wait on the disk.
    let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(std_file));
    let options = SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let mut index = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    index
        .write_record(INDEX_COLUMNS)
        .map_err(|e| ExportFailure::Io(e.to_string()))?;
    let mut done = 0i64;
    for (call, recording) in &pairs {
        let name = file_name(call, recording);
        let on_this_node = recording
            .store_id
            .as_deref()
            .is_none_or(|s| Some(s) == storage.store_id());
        let note = if on_this_node {
            let mut body = storage
                .read(&recording.storage_key)
                .await
                .map_err(|e| ExportFailure::Io(e.to_string()))?;
            let entry = name.clone();
            zip = blocking(move || {
                zip.start_file(entry, options).map_err(zip_error)?;
                Ok(zip)
            })
            .await?;
            while let Some(chunk) = body.next().await {
                let chunk = chunk.map_err(|e| ExportFailure::Io(e.to_string()))?;
                zip = blocking(move || {
                    zip.write_all(&chunk)?;
                    Ok(zip)
                })
                .await?;
            }
            ""
        } else {
            "stored on another node's disk; not included"
        };
        index
            .write_record([
                if note.is_empty() { name.as_str() } else { "" },
                call.id.as_str(),
                &to_datetime(call.started_at).to_rfc3339(),
                call.direction.as_str(),
                &call_csv::inert(&call.remote_number),
                &call
                    .duration_secs
                    .map(|d| d.to_string())
                    .unwrap_or_default(),
                recording.format.as_str(),
                &recording.size_bytes.to_string(),
                note,
            ])
            .map_err(|e| ExportFailure::Io(e.to_string()))?;
        done += 1;
        progress.report(done, Some(total)).await?;
    }
    let index = index
        .into_inner()
        .map_err(|e| ExportFailure::Io(e.to_string()))?;
    let size_bytes = blocking(move || {
        zip.start_file("index.csv", options).map_err(zip_error)?;
        zip.write_all(&index)?;
        let file = zip
            .finish()
            .map_err(zip_error)?
            .into_inner()
            .map_err(|e| ExportFailure::Io(e.to_string()))?;
        file.sync_all()?;
        Ok(file.metadata()?.len())
    })
    .await?;
    Ok(Written {
        file: path,
        size_bytes,
        items: done,
    })
}
