//! Writing down what came of a call (`PATCH /v1/calls/{id}`): notes, tags,
//! a disposition from the catalogue, a callback time, privacy. Each
//! accepted change bumps the annotation's version, appends an edit with
//! each changed field's before and after, renumbers the record for sync,
//! and moves the callback reminder (a push job due at `callback_at`).
//!
//! Who: anyone who may see the call, except that only the call's user
//! marks it private (when the organisation allows it) or changes a call
//! that is private. Edits of one organisation's calls serialise on its
//! change counter (`sync_seq`), so no edit is lost.

use serde_json::{Map, Value, json};

use super::blocklist::{self, Actor as BlocklistActor, BlocklistError};
use super::{AfterCommit, Services, call_record_events, call_rollups};
use crate::db::DbConn;
use crate::domain::FieldError;
use crate::domain::blocklist::NewEntry;
use crate::domain::call_outcomes::{callback_time, changed_fields};
use crate::domain::push_message::callback_message;
use crate::ids::{CallEditId, CallRecordId, DispositionId, OrgId, UserId};
use crate::repo::call_annotation_edits::{self, EditRow};
use crate::repo::call_annotations::{self, AnnotationRow};
use crate::repo::call_records::{self, CallRecordRow, Scope};
use crate::repo::dispositions::{self, DispositionRow};
use crate::repo::{RepoError, call_settings, jobs, orgs, sync_seq};
use crate::time::{Micros, to_datetime};
use crate::wire::{BlocklistKind, BlocklistPattern, BlocklistScope, CallRecordChange, ErrorCode};

/// Who edits, and which users' calls they may see.
#[derive(Debug, Clone)]
pub struct Editor {
    pub org: OrgId,
    pub user: UserId,
    pub scope: Scope,
}

/// A checked change: `None` leaves a field as it is; `Some(None)` clears.
#[derive(Debug, Clone, Default)]
pub struct CallChange {
    pub notes: Option<Option<String>>,
    pub tags: Option<Vec<String>>,
    pub disposition_id: Option<Option<DispositionId>>,
    pub callback_at: Option<Option<Micros>>,
    pub private: Option<bool>,
    /// The annotation version the change was made against.
    pub version: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AnnotateError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Only the call's user marks it private or changes a private call.
    #[error("not the call's user")]
    NotYourCall,
    #[error("private calls are not allowed")]
    PrivateDisabled,
    /// `version` is no longer the annotation's.
    #[error("annotation changed")]
    Changed,
    /// A `do_not_call` disposition could not add its number to the
    /// blocklist (it is full).
    #[error(transparent)]
    Blocklist(#[from] BlocklistError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<crate::db::DbError> for AnnotateError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for AnnotateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// The topic of a call's callback reminder jobs.
pub fn reminder_topic(call_record_id: &str) -> String {
    format!("callback:{call_record_id}")
}

/// What an accepted change did.
#[derive(Debug, Clone)]
pub struct Annotated {
    pub annotation: AnnotationRow,
}

/// Applies `change` to call `id` at `now`; the call's user hears of an
/// accepted change on their stream (`call_record` `updated`).
pub async fn annotate(
    services: &Services,
    editor: Editor,
    id: CallRecordId,
    change: CallChange,
    now: Micros,
) -> Result<Annotated, AnnotateError> {
    let (annotated, woken) = services
        .db
        .write(move |conn| annotate_in(conn, &editor, id, &change, now))
        .await?;
    let mut after = AfterCommit::new();
    for user in woken {
        after.wake_user(user);
    }
    after.run(services).await;
    Ok(annotated)
}

fn annotate_in(
    conn: &mut DbConn,
    editor: &Editor,
    id: CallRecordId,
    change: &CallChange,
    now: Micros,
) -> Result<(Annotated, Vec<UserId>), AnnotateError> {
    let record = call_records::get(conn, editor.org, &editor.scope, id)?;
    // A `do_not_call` disposition adds to the blocklist, which takes the
    // organisation's lock: taken first, as the lock order says.
    orgs::lock(conn, &record.org_id)?;
    // The organisation's record changes commit in order under this lock,
    // so two edits of one call never both start from the same version.
    sync_seq::lock(conn, &record.org_id)?;
    // Read again under the lock: an ingest that committed while this edit
    // waited may have changed the call, and the rollups must move the
    // call from where it is now (on PostgreSQL the first read can be stale).
    let record = call_records::get(conn, editor.org, &editor.scope, id)?;
    let editor_id = editor.user.to_string();
    let before = call_annotations::get(conn, editor.org, &record.id)?
        .unwrap_or_else(|| AnnotationRow::empty(&record.id, &record.org_id, &editor_id, now));
    let own = record.user_id.as_deref() == Some(editor_id.as_str());
    if !own && (before.is_private() || change.private.is_some()) {
        return Err(AnnotateError::NotYourCall);
    }
    if change.private == Some(true) && !call_settings::allow_private(conn, editor.org)? {
        return Err(AnnotateError::PrivateDisabled);
    }
    if change.version.is_some_and(|v| v != before.version) {
        return Err(AnnotateError::Changed);
    }
    let after = changed_row(conn, editor, &before, change, now)?;
    let fields = changed_fields(&snapshot(&before)?, &snapshot(&after)?);
    if fields.is_empty() {
        return Ok((Annotated { annotation: before }, Vec::new()));
    }
    let stored = if before.version == 0 {
        call_annotations::insert(conn, &after)?;
        true
    } else {
        call_annotations::update_from(conn, &after)?
    };
    if !stored {
        return Err(AnnotateError::Changed);
    }
    call_rollups::annotation_changed(conn, &record, &before, &after)?;
    let changes = serde_json::to_string(&fields)
        .map_err(|e| RepoError::Corrupt(format!("edit of call {}: {e}", record.id)))?;
    call_annotation_edits::insert(
        conn,
        &EditRow {
            id: CallEditId::new().to_string(),
            call_record_id: record.id.clone(),
            org_id: record.org_id.clone(),
            editor_id,
            version: after.version,
            changes,
            edited_at: now,
        },
    )?;
    let seq = sync_seq::reserve(conn, &record.org_id, 1)?;
    call_records::touch(conn, &record.id, seq, now)?;
    let touched = CallRecordRow {
        sync_seq: seq,
        updated_at: now,
        ..record.clone()
    };
    // Users before push schedules (the reminder below): the lock order.
    let woken = call_record_events::record_in(conn, &[(touched, CallRecordChange::Updated)], now)?;
    if before.callback_at != after.callback_at {
        move_reminder(conn, &record, after.callback_at, now)?;
    }
    // A new disposition may score its call's contact (docs/scoring.md).
    if fields.contains_key("disposition_id")
        && let Some(number) = record.remote_e164.as_deref()
    {
        let touched = super::scoring::Touched {
            id: &record.id,
            number,
        };
        super::scoring::score_records(conn, editor.org, &[touched], now)?;
    }
    if fields.contains_key("disposition_id") || fields.contains_key("callback_at") {
        super::call_list_dials::call_annotated_in(
            conn,
            editor.org,
            &record.id,
            after.disposition_id.as_deref(),
            after.callback_at,
            now,
        )?;
    }
    if let (Some(d), true) = (&after.disposition_id, fields.contains_key("disposition_id"))
        && disposition_flags(conn, editor.org, d)?.do_not_call
    {
        on_do_not_call(conn, editor, &record, now)?;
    }
    Ok((Annotated { annotation: after }, woken))
}

fn disposition_flags(
    conn: &mut DbConn,
    org: OrgId,
    id: &str,
) -> Result<dispositions::Flags, RepoError> {
    let id: DispositionId = crate::repo::stored_id(id)?;
    Ok(dispositions::get(conn, org, id)?.flags())
}

/// A call was given a `do_not_call` disposition: its number (E.164) goes
/// on the organisation's blocklist, in this transaction, so no one dials it
/// again. A number that is not E.164 cannot be an entry; one already
/// blocked by the same entry stays as it is.
fn on_do_not_call(
    conn: &mut DbConn,
    editor: &Editor,
    record: &CallRecordRow,
    now: Micros,
) -> Result<(), AnnotateError> {
    let Some(number) = record.remote_e164.clone() else {
        return Ok(());
    };
    let entry = NewEntry {
        kind: BlocklistKind::Block,
        scope: BlocklistScope::Organisation,
        scope_id: editor.org.to_string(),
        pattern: BlocklistPattern::Number,
        value: number,
        label: "do not call".into(),
        reason: format!("disposition on call {}", record.id),
        expires_at: None,
    };
    let actor = BlocklistActor::Rule { user: editor.user };
    match blocklist::add_in(conn, editor.org, entry, actor, now) {
        Ok(_) | Err(BlocklistError::Exists(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The annotation after `change`, checked against the catalogue and the
/// callback rule (a `callback` disposition needs a time; another clears it).
fn changed_row(
    conn: &mut DbConn,
    editor: &Editor,
    before: &AnnotationRow,
    change: &CallChange,
    now: Micros,
) -> Result<AnnotationRow, AnnotateError> {
    let mut after = before.clone();
    if let Some(notes) = &change.notes {
        after.notes = notes.clone();
    }
    if let Some(tags) = &change.tags {
        after.tags =
            serde_json::to_string(tags).map_err(|e| RepoError::Corrupt(format!("tags: {e}")))?;
    }
    if let Some(private) = change.private {
        after.private = i64::from(private);
    }
    if let Some(disposition) = change.disposition_id {
        after.disposition_id = disposition.map(|d| d.to_string());
    }
    let disposition = after
        .disposition_id
        .as_deref()
        .map(|d| chosen_disposition(conn, editor.org, d, before))
        .transpose()?;
    let wants_callback = disposition.as_ref().is_some_and(|d| d.flags().callback);
    after.callback_at = match change.callback_at {
        Some(Some(_)) if !wants_callback => {
            return Err(FieldError::new(
                "callback_at",
                ErrorCode::InvalidField,
                "needs a disposition with the callback flag",
            )
            .into());
        }
        Some(Some(at)) if Some(at) == before.callback_at => Some(at),
        Some(Some(at)) => Some(callback_time(at, now)?),
        Some(None) => None,
        None if wants_callback => before.callback_at,
        None => None,
    };
    if wants_callback && after.callback_at.is_none() {
        return Err(FieldError::new(
            "callback_at",
            ErrorCode::CallbackRequired,
            "a callback disposition needs callback_at",
        )
        .into());
    }
    after.version = before.version + 1;
    after.updated_by = editor.user.to_string();
    after.updated_at = now;
    Ok(after)
}

/// The disposition a change names: of the organisation, and active unless
/// the call has it already.
fn chosen_disposition(
    conn: &mut DbConn,
    org: OrgId,
    id: &str,
    before: &AnnotationRow,
) -> Result<DispositionRow, AnnotateError> {
    let unknown = || {
        FieldError::new(
            "disposition_id",
            ErrorCode::UnknownDisposition,
            "no such disposition in the catalogue",
        )
    };
    let parsed: DispositionId = id.parse().map_err(|_| unknown())?;
    let row = match dispositions::get(conn, org, parsed) {
        Err(RepoError::NotFound) => return Err(unknown().into()),
        other => other?,
    };
    if row.archived_at.is_some() && before.disposition_id.as_deref() != Some(id) {
        return Err(FieldError::new(
            "disposition_id",
            ErrorCode::DispositionArchived,
            "this disposition is archived",
        )
        .into());
    }
    Ok(row)
}

/// The annotation's fields as the history records them.
fn snapshot(row: &AnnotationRow) -> Result<Map<String, Value>, RepoError> {
    let value = json!({
        "notes": row.notes,
        "tags": row.tag_list()?,
        "disposition_id": row.disposition_id,
        "callback_at": row.callback_at.map(|t| to_datetime(t).to_rfc3339()),
        "private": row.is_private(),
    });
    Ok(value.as_object().cloned().unwrap_or_default())
}

/// Drops the call's pending reminder and, with a new time, queues one for
/// the call's user due then.
fn move_reminder(
    conn: &mut DbConn,
    record: &CallRecordRow,
    callback_at: Option<Micros>,
    now: Micros,
) -> Result<(), RepoError> {
    let topic = reminder_topic(&record.id);
    jobs::drop_pending_for_topic(conn, &record.org_id, &topic, "callback changed", now)?;
    if let (Some(at), Some(user)) = (callback_at, record.user_id.as_deref()) {
        let message = callback_message(&record.id, to_datetime(at));
        jobs::enqueue_push_at(conn, &record.org_id, user, &topic, &message, at, now)?;
    }
    Ok(())
}
