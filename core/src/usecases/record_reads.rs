//! Call records as the API sends them: each with its recording, read in
//! one query for a page of records.

use crate::db::DbConn;
use crate::repo::call_records::CallRecordRow;
use crate::repo::{RepoError, recordings};
use crate::wire::CallRecord;

/// Rows with their recordings, in wire form.
pub fn with_recordings(
    conn: &mut DbConn,
    rows: &[CallRecordRow],
) -> Result<Vec<CallRecord>, RepoError> {
    let ids: Vec<&str> = rows
        .iter()
        .filter_map(|r| r.recording_id.as_deref())
        .collect();
    let found = recordings::by_ids(conn, &ids)?;
    rows.iter()
        .map(|r| {
            let recording = r
                .recording_id
                .as_ref()
                .and_then(|id| found.get(id))
                .map(|rec| rec.to_wire())
                .transpose()?;
            r.to_wire(recording)
        })
        .collect()
}
