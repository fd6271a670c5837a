//! The `recordings` and `recording_uploads` tables: stored recordings and
//! pending presigned uploads. A recording is keyed like its record, by the
//! phone's call id; who may send one and linking it to its record is
//! `usecases::recordings`.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{recording_uploads, recordings};
use crate::ids::{OrgId, PhoneId, RecordingId, RecordingUploadId, UserId};
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
    /// The app user who uploaded it; `None` when the phone did.
    pub uploaded_by: Option<String>,
    /// The local store holding the file (`None` on S3): another node with
    /// its own disk cannot serve it.
    pub store_id: Option<String>,
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

/// A stored recording of `org`; one the retention purge is removing is
/// gone already.
pub fn get(conn: &mut DbConn, org: OrgId, id: RecordingId) -> Result<RecordingRow, RepoError> {
    Ok(recordings::table
        .filter(recordings::org_id.eq(org.to_string()))
        .filter(recordings::id.eq(id.to_string()))
        .filter(recordings::purging_at.is_null())
        .select(RecordingRow::as_select())
        .first(conn)?)
}

/// The phone's recordings of `call_ids`: `(call id, recording id, the app
/// user who uploaded it)`.
pub fn for_calls(
    conn: &mut DbConn,
    phone_id: &str,
    call_ids: &[&str],
) -> Result<Vec<(String, String, Option<String>)>, RepoError> {
    Ok(recordings::table
        .filter(recordings::phone_id.eq(phone_id))
        .filter(recordings::call_id.eq_any(call_ids))
        // A record arriving late is not linked to a recording being purged.
        .filter(recordings::purging_at.is_null())
        .select((recordings::call_id, recordings::id, recordings::uploaded_by))
        .load(conn)?)
}

/// The recordings `ids`, by id, in one query.
pub fn by_ids(conn: &mut DbConn, ids: &[&str]) -> Result<HashMap<String, RecordingRow>, RepoError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found: Vec<RecordingRow> = recordings::table
        .filter(recordings::id.eq_any(ids))
        .filter(recordings::purging_at.is_null())
        .select(RecordingRow::as_select())
        .load(conn)?;
    Ok(found.into_iter().map(|r| (r.id.clone(), r)).collect())
}

pub fn insert(conn: &mut DbConn, row: &RecordingRow) -> Result<(), RepoError> {
    diesel::insert_into(recordings::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn delete(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::delete(recordings::table.find(id)).execute(conn)?;
    Ok(())
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
    /// The app user the ticket was handed to; `None` for the phone.
    pub user_id: Option<String>,
    /// When that user says the call started.
    pub call_started_at: Option<i64>,
}

pub fn create_upload(conn: &mut DbConn, row: &UploadRow) -> Result<(), RepoError> {
    diesel::insert_into(recording_uploads::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Whose pending upload is asked for.
#[derive(Debug, Clone, Copy)]
pub enum TicketHolder {
    Phone(PhoneId),
    User(OrgId, UserId),
}

/// The pending upload `id` handed to `holder`; anyone else's is not found
/// (a phone's is not a user's, and the reverse).
pub fn upload(
    conn: &mut DbConn,
    holder: TicketHolder,
    id: RecordingUploadId,
) -> Result<UploadRow, RepoError> {
    let query = recording_uploads::table
        .filter(recording_uploads::id.eq(id.to_string()))
        .select(UploadRow::as_select());
    Ok(match holder {
        TicketHolder::Phone(phone) => query
            .filter(recording_uploads::phone_id.eq(phone.to_string()))
            .filter(recording_uploads::user_id.is_null())
            .first(conn)?,
        TicketHolder::User(org, user) => query
            .filter(recording_uploads::org_id.eq(org.to_string()))
            .filter(recording_uploads::user_id.eq(user.to_string()))
            .first(conn)?,
    })
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
