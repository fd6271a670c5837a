//! Recordings and pending presigned uploads. A recording is keyed like its
//! record, by the phone's call id, so it links to the record whichever
//! arrives first: storing one looks for the other under the organisation's
//! change lock (`sync_seq::lock`), which both sides take before reading.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id, sync_seq};
use crate::db::schema::{call_records, recording_uploads, recordings};
use crate::db::write_tx;
use crate::ids::{OrgId, PhoneId, RecordingId, RecordingUploadId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Recording, RecordingFormat};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = recordings)]
#[diesel(treat_none_as_default_value = false)]
pub struct RecordingRow {
    pub id: String,
    pub org_id: String,
    pub phone_id: String,
    pub call_id: String,
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub format: String,
    pub duration_ms: Option<i64>,
    pub uploaded_at: i64,
}

impl RecordingRow {
    pub fn format(&self) -> Result<RecordingFormat, RepoError> {
        RecordingFormat::parse(&self.format)
            .ok_or_else(|| RepoError::Corrupt(format!("recording format {:?}", self.format)))
    }

    pub fn to_wire(&self) -> Result<Recording, RepoError> {
        Ok(Recording {
            id: stored_id(&self.id)?,
            phone_id: stored_id(&self.phone_id)?,
            call_id: self.call_id.clone(),
            size_bytes: u64::try_from(self.size_bytes).unwrap_or_default(),
            sha256: self.sha256.clone(),
            format: self.format()?,
            duration_ms: self.duration_ms.and_then(|d| u64::try_from(d).ok()),
            uploaded_at: to_datetime(self.uploaded_at),
        })
    }
}

/// The phone's recording of `call_id`, if one is stored.
pub fn for_call(
    conn: &mut DbConn,
    phone_id: PhoneId,
    call_id: &str,
) -> Result<Option<RecordingRow>, RepoError> {
    Ok(recordings::table
        .filter(recordings::phone_id.eq(phone_id.to_string()))
        .filter(recordings::call_id.eq(call_id))
        .select(RecordingRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: RecordingId) -> Result<RecordingRow, RepoError> {
    Ok(recordings::table
        .filter(recordings::org_id.eq(org.to_string()))
        .filter(recordings::id.eq(id.to_string()))
        .select(RecordingRow::as_select())
        .first(conn)?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now; `linked` says whether its record was already there.
    New { linked: bool },
    /// The call already had a recording (a replay or a race); nothing
    /// written. The caller compares checksums and drops its own copy.
    Existing(RecordingRow),
}

/// Stores a verified recording's row and links it to its record if the
/// record has arrived; linking counts as a change of the record for sync.
/// `ticket`, the presigned upload the object came from, is removed in the
/// same transaction: once the recording is stored nothing may treat its
/// object as abandoned.
pub fn store(
    conn: &mut DbConn,
    row: &RecordingRow,
    ticket: Option<&str>,
    now: Micros,
) -> Result<Stored, RepoError> {
    write_tx(conn, |conn| {
        sync_seq::lock(conn, &row.org_id)?;
        if let Some(ticket) = ticket {
            delete_upload(conn, ticket)?;
        }
        let phone_id: PhoneId = stored_id(&row.phone_id)?;
        if let Some(existing) = for_call(conn, phone_id, &row.call_id)? {
            return Ok(Stored::Existing(existing));
        }
        diesel::insert_into(recordings::table)
            .values(row)
            .execute(conn)?;
        let record: Option<String> = call_records::table
            .filter(call_records::phone_id.eq(&row.phone_id))
            .filter(call_records::call_id.eq(&row.call_id))
            .select(call_records::id)
            .first(conn)
            .optional()?;
        let Some(record_id) = record else {
            return Ok(Stored::New { linked: false });
        };
        let seq = sync_seq::reserve(conn, &row.org_id, 1)?;
        diesel::update(call_records::table.find(record_id))
            .set((
                call_records::recording_id.eq(&row.id),
                call_records::sync_seq.eq(seq),
                call_records::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Stored::New { linked: true })
    })
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = recording_uploads)]
pub struct UploadRow {
    pub id: String,
    pub org_id: String,
    pub phone_id: String,
    pub call_id: String,
    pub storage_key: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub created_at: i64,
    pub expires_at: i64,
}

pub fn create_upload(conn: &mut DbConn, row: &UploadRow) -> Result<(), RepoError> {
    diesel::insert_into(recording_uploads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// The phone's pending upload `id`; another phone's is not found.
pub fn upload(
    conn: &mut DbConn,
    phone_id: PhoneId,
    id: RecordingUploadId,
) -> Result<UploadRow, RepoError> {
    Ok(recording_uploads::table
        .filter(recording_uploads::id.eq(id.to_string()))
        .filter(recording_uploads::phone_id.eq(phone_id.to_string()))
        .select(UploadRow::as_select())
        .first(conn)?)
}

pub fn delete_upload(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::delete(recording_uploads::table.find(id)).execute(conn)?;
    Ok(())
}

/// Whether a stored recording uses this object.
pub fn key_in_use(conn: &mut DbConn, key: &str) -> Result<bool, RepoError> {
    Ok(diesel::select(diesel::dsl::exists(
        recordings::table.filter(recordings::storage_key.eq(key)),
    ))
    .get_result(conn)?)
}

/// Pending uploads whose URL expired before `before`: nobody can complete
/// them any more, so their objects (if any) can go.
pub fn abandoned_uploads(
    conn: &mut DbConn,
    before: Micros,
    limit: i64,
) -> Result<Vec<UploadRow>, RepoError> {
    Ok(recording_uploads::table
        .filter(recording_uploads::expires_at.lt(before))
        .order(recording_uploads::expires_at.asc())
        .limit(limit)
        .select(UploadRow::as_select())
        .load(conn)?)
}
