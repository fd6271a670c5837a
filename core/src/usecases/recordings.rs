//! Recordings: who may send the recording of a call, storing it and linking
//! it to its record, presigned upload tickets, and removing uploads never
//! completed. A recording is keyed like its record, by the phone's call
//! id, so it links to the record whichever arrives first: storing one looks
//! for the other under the organisation's change lock (`sync_seq::lock`),
//! which a record upload also takes before reading.

use super::call_record_events;
use crate::db::Database;
use crate::db::DbConn;
use crate::domain::recording_link::may_link;
use crate::ids::{PhoneId, RecordingUploadId, UserId};
use crate::repo::recordings::{self, RecordingRow, TicketHolder, UploadRow};
use crate::repo::{RepoError, bindings, call_records, stored_id, sync_seq};
use crate::storage::Storage;
use crate::time::Micros;
use crate::wire::CallRecordChange;

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// Stored now; `linked` says whether its record was already there;
    /// `replaced` is the object of an orphan it took the place of, to
    /// delete once this transaction has committed.
    New {
        linked: bool,
        replaced: Option<String>,
        /// The users whose streams got a `call_record` event (the linked
        /// record's user): wake them after the commit.
        woken: Vec<UserId>,
    },
    /// The call already had a recording (a replay or a race); nothing
    /// written. The caller compares checksums and drops its own copy.
    Existing(Box<RecordingRow>),
    /// Not the sender's call to send (or to learn about); nothing written.
    NotYours,
}

/// Who may send the recording of `call_id`, checked before any bytes are
/// taken (and again under the lock when storing).
pub async fn claim(
    db: &Database,
    phone: PhoneId,
    call_id: String,
    sender: Sender,
) -> Result<Claim, RepoError> {
    db.run(move |conn| claim_in(conn, phone, &call_id, sender))
        .await
}

/// Who may send the recording of `call_id`, and what is in the way: the
/// phone always; an app user when the stored record is theirs, or (no
/// record yet) when they held the phone at the start they claim. The one
/// rule for the check before the bytes are taken and the one under the
/// lock in [`store`].
pub fn claim_in(
    conn: &mut DbConn,
    phone_id: PhoneId,
    call_id: &str,
    sender: Sender,
) -> Result<Claim, RepoError> {
    let phone = phone_id.to_string();
    let record_owner = call_records::id_and_owner(conn, &phone, call_id)?.map(|(_, owner)| owner);
    let user = sender.user().map(|u| u.to_string());
    let allowed = match (sender, &record_owner) {
        (Sender::Phone, _) => true,
        (Sender::App { .. }, Some(owner)) => owner.is_some() && *owner == user,
        (Sender::App { started_at, .. }, None) => {
            let holder = bindings::holder_at(conn, &phone, started_at)?;
            holder.is_some() && holder == user
        }
    };
    if !allowed {
        return Ok(Claim::NotYours);
    }
    let Some(existing) = recordings::for_call(conn, phone_id, call_id)? else {
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
/// object as abandoned. The sender's [`claim_in`] is checked again here,
/// under the lock a record upload also takes, so a record arriving
/// meanwhile cannot slip between check and write; an orphan it replaces
/// leaves its object to the caller, to delete after the commit (never
/// before: the row must not point at a deleted object if this rolls back).
pub async fn store(
    db: &Database,
    row: RecordingRow,
    sender: Sender,
    ticket: Option<String>,
    now: Micros,
) -> Result<Stored, RepoError> {
    db.write(move |conn| store_in(conn, &row, sender, ticket.as_deref(), now))
        .await
}

fn store_in(
    conn: &mut DbConn,
    row: &RecordingRow,
    sender: Sender,
    ticket: Option<&str>,
    now: Micros,
) -> Result<Stored, RepoError> {
    sync_seq::lock(conn, &row.org_id)?;
    if let Some(ticket) = ticket {
        recordings::delete_upload(conn, ticket)?;
    }
    let phone_id: PhoneId = stored_id(&row.phone_id)?;
    let orphan = match claim_in(conn, phone_id, &row.call_id, sender)? {
        Claim::NotYours => return Ok(Stored::NotYours),
        Claim::Existing(existing) => return Ok(Stored::Existing(existing)),
        Claim::Free { orphan } => orphan,
    };
    // The orphan is linked to no record (`may_link` refused it), and its
    // row goes in the transaction that stores the rightful one.
    if let Some(orphan) = &orphan {
        recordings::delete(conn, &orphan.id)?;
    }
    let replaced = orphan.map(|o| o.storage_key);
    recordings::insert(conn, row)?;
    let record = call_records::id_and_owner(conn, &row.phone_id, &row.call_id)?;
    let Some((record_id, _)) =
        record.filter(|(_, owner)| may_link(row.uploaded_by.as_deref(), owner.as_deref()))
    else {
        return Ok(Stored::New {
            linked: false,
            replaced,
            woken: Vec::new(),
        });
    };
    let seq = sync_seq::reserve(conn, &row.org_id, 1)?;
    call_records::link_recording(conn, &record_id, &row.id, seq, now)?;
    // The record changed (it has a recording now): its user's app hears
    // of it like any other change.
    let changed: Vec<_> = call_records::by_call_ids(conn, &row.phone_id, &[row.call_id.as_str()])?
        .into_iter()
        .map(|record| (record, CallRecordChange::Updated))
        .collect();
    let woken = call_record_events::record_in(conn, &changed, now)?;
    super::webhook_outbox::calls_in(conn, &changed, true, now)?;
    Ok(Stored::New {
        linked: true,
        replaced,
        woken,
    })
}

/// Keeps a presigned upload's ticket until it is completed or abandoned.
pub async fn open_ticket(db: &Database, row: UploadRow) -> Result<(), RepoError> {
    db.write(move |conn| recordings::create_upload(conn, &row))
        .await
}

/// The pending upload `id` handed to `holder`.
pub async fn ticket(
    db: &Database,
    holder: TicketHolder,
    id: RecordingUploadId,
) -> Result<UploadRow, RepoError> {
    db.write(move |conn| recordings::upload(conn, holder, id))
        .await
}

/// Forgets a ticket whose upload was refused (its object is the caller's
/// to delete).
pub async fn drop_ticket(db: &Database, id: String) -> Result<(), RepoError> {
    db.write(move |conn| recordings::delete_upload(conn, &id))
        .await
}

/// Deletes at most `limit` presigned uploads whose URL expired before
/// `before` and were never completed: their objects, then their tickets
/// (an object a recording was stored from stays; only its stale ticket
/// goes). Returns how many objects were removed.
pub async fn remove_abandoned_uploads(
    db: &Database,
    storage: &Storage,
    before: Micros,
    limit: i64,
) -> Result<usize, RepoError> {
    let abandoned = db
        .run(move |conn| recordings::abandoned_uploads(conn, before, limit))
        .await?;
    let mut removed = 0;
    for upload in abandoned {
        let key = upload.storage_key.clone();
        let in_use = db
            .run(move |conn| recordings::key_in_use(conn, &key))
            .await?;
        if !in_use {
            if let Err(e) = storage.delete(&upload.storage_key).await {
                tracing::warn!(key = %upload.storage_key, error = %e, "could not delete an abandoned upload");
                continue;
            }
            removed += 1;
        }
        drop_ticket(db, upload.id).await?;
    }
    Ok(removed)
}
