//! Recordings and pending presigned uploads. A recording is keyed like its
//! record, by the phone's call id, so it links to the record whichever
//! arrives first: storing one looks for the other under the organisation's
//! change lock (`sync_seq::lock`), which both sides take before reading.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id, sync_seq};
use crate::db::schema::{call_records, recording_uploads, recordings};
use crate::db::write_tx;
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

pub fn get(conn: &mut DbConn, org: OrgId, id: RecordingId) -> Result<RecordingRow, RepoError> {
    Ok(recordings::table
        .filter(recordings::org_id.eq(org.to_string()))
        .filter(recordings::id.eq(id.to_string()))
        .select(RecordingRow::as_select())
        .first(conn)?)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now; `linked` says whether its record was already there;
    /// `replaced` is the object of an orphan it took the place of, to
    /// delete once this transaction has committed.
    New {
        linked: bool,
        replaced: Option<String>,
    },
    /// The call already had a recording (a replay or a race); nothing
    /// written. The caller compares checksums and drops its own copy.
    Existing(Box<RecordingRow>),
    /// Not the sender's call to send (or to learn about); nothing written.
    NotYours,
}

/// Who sends a recording: the phone itself, or an app user relaying it
/// (the phone handed it over), who says when the call started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Phone,
    App { user: UserId, started_at: Micros },
}

impl Sender {
    pub fn user(self) -> Option<UserId> {
        match self {
            Self::Phone => None,
            Self::App { user, .. } => Some(user),
        }
    }

    pub fn started_at(self) -> Option<Micros> {
        match self {
            Self::Phone => None,
            Self::App { started_at, .. } => Some(started_at),
        }
    }
}

/// A recording uploaded by `uploaded_by` may be linked to a record owned
/// by `record_user`: the phone's go with any record, an app user's only
/// with that user's own calls.
pub fn may_link(uploaded_by: Option<&str>, record_user: Option<&str>) -> bool {
    uploaded_by.is_none_or(|u| record_user == Some(u))
}

/// What a sender may do with the recording of a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Not theirs to send; a recording stored already is not revealed.
    NotYours,
    /// The call's recording, stored already, which the sender may know of
    /// (the phone; the uploader itself; the owner of the record it is
    /// linked to).
    Existing(Box<RecordingRow>),
    /// The sender may store it, replacing `orphan` if set: an app user's
    /// upload that the arrived record shows was never theirs to send
    /// (`may_link` refuses it), so it cannot keep the rightful one out.
    Free { orphan: Option<Box<RecordingRow>> },
}

/// Who may send the recording of `call_id`, and what is in the way: the
/// phone always; an app user when the stored record is theirs, or (no
/// record yet) when they held the phone at the start they claim. The one
/// rule for the check before the bytes are taken and the one under the
/// lock in [`store`].
pub fn claim(
    conn: &mut DbConn,
    phone_id: PhoneId,
    call_id: &str,
    sender: Sender,
) -> Result<Claim, RepoError> {
    let record_owner: Option<Option<String>> = call_records::table
        .filter(call_records::phone_id.eq(phone_id.to_string()))
        .filter(call_records::call_id.eq(call_id))
        .select(call_records::user_id)
        .first(conn)
        .optional()?;
    let user = sender.user().map(|u| u.to_string());
    let allowed = match (sender, &record_owner) {
        (Sender::Phone, _) => true,
        (Sender::App { .. }, Some(owner)) => owner.is_some() && *owner == user,
        (Sender::App { started_at, .. }, None) => {
            let holder = super::bindings::holder_at(conn, &phone_id.to_string(), started_at)?;
            holder.is_some() && holder == user
        }
    };
    if !allowed {
        return Ok(Claim::NotYours);
    }
    let Some(existing) = for_call(conn, phone_id, call_id)? else {
        return Ok(Claim::Free { orphan: None });
    };
    let existing = Box::new(existing);
    Ok(match &record_owner {
        Some(owner) if !may_link(existing.uploaded_by.as_deref(), owner.as_deref()) => {
            Claim::Free {
                orphan: Some(existing),
            }
        }
        // With the record here the sender is the phone or its owner, and
        // the recording is linked to it.
        Some(_) => Claim::Existing(existing),
        // No record yet: an app user learns only of their own upload.
        None if sender == Sender::Phone || existing.uploaded_by == user => {
            Claim::Existing(existing)
        }
        None => Claim::NotYours,
    })
}

/// Stores a verified recording's row and links it to its record if the
/// record has arrived; linking counts as a change of the record for sync.
/// `ticket`, the presigned upload the object came from, is removed in the
/// same transaction: once the recording is stored nothing may treat its
/// object as abandoned. The sender's [`claim`] is checked again here, under
/// the lock a record upload also takes, so a record arriving meanwhile
/// cannot slip between check and write; an orphan it replaces leaves its
/// object to the caller, to delete after the commit (never before: the
/// row must not point at a deleted object if this rolls back).
pub fn store(
    conn: &mut DbConn,
    row: &RecordingRow,
    sender: Sender,
    ticket: Option<&str>,
    now: Micros,
) -> Result<Stored, RepoError> {
    write_tx(conn, |conn| {
        sync_seq::lock(conn, &row.org_id)?;
        if let Some(ticket) = ticket {
            delete_upload(conn, ticket)?;
        }
        let phone_id: PhoneId = stored_id(&row.phone_id)?;
        let orphan = match claim(conn, phone_id, &row.call_id, sender)? {
            Claim::NotYours => return Ok(Stored::NotYours),
            Claim::Existing(existing) => return Ok(Stored::Existing(existing)),
            Claim::Free { orphan } => orphan,
        };
        // The orphan is linked to no record (`may_link` refused it), and
        // its row goes in the transaction that stores the rightful one.
        if let Some(orphan) = &orphan {
            diesel::delete(recordings::table.find(&orphan.id)).execute(conn)?;
        }
        let replaced = orphan.map(|o| o.storage_key);
        diesel::insert_into(recordings::table)
            .values(row)
            .execute(conn)?;
        let record: Option<(String, Option<String>)> = call_records::table
            .filter(call_records::phone_id.eq(&row.phone_id))
            .filter(call_records::call_id.eq(&row.call_id))
            .select((call_records::id, call_records::user_id))
            .first(conn)
            .optional()?;
        let Some((record_id, _)) =
            record.filter(|(_, owner)| may_link(row.uploaded_by.as_deref(), owner.as_deref()))
        else {
            return Ok(Stored::New {
                linked: false,
                replaced,
            });
        };
        let seq = sync_seq::reserve(conn, &row.org_id, 1)?;
        diesel::update(call_records::table.find(record_id))
            .set((
                call_records::recording_id.eq(&row.id),
                call_records::sync_seq.eq(seq),
                call_records::updated_at.eq(now),
            ))
            .execute(conn)?;
        Ok(Stored::New {
            linked: true,
            replaced,
        })
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
