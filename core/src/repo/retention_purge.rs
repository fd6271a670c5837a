//! What the retention purge reads and deletes (docs/retention.md): call
//! records and recordings past an organisation's days that no legal hold
//! keeps, a call's dependents, and the two-step removal of a recording
//! (marked `purging_at`, object deleted, then the row).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::Bool;

use super::{DbConn, RepoError};
use crate::db::DbBackend;
use crate::db::schema::{
    call_annotation_edits, call_annotations, call_list_attempts, call_records, recordings,
    score_events,
};
use crate::ids::OrgId;
use crate::time::Micros;

/// True for a call record no active hold keeps: none on the call, on its
/// user or on its contact. Literals, so both databases plan it alike.
const CALL_NOT_HELD: &str = "NOT EXISTS (SELECT 1 FROM legal_holds h \
     WHERE h.org_id = call_records.org_id AND h.released_at IS NULL AND ( \
     (h.subject_type = 'call' AND h.subject_id = call_records.id) \
     OR (h.subject_type = 'user' AND h.subject_id = call_records.user_id) \
     OR (h.subject_type = 'contact' AND h.subject_id = call_records.contact_id)))";

/// True for a recording whose call (same phone and call id) no active hold
/// keeps; a recording without a call record has nothing to hold it.
const RECORDING_NOT_HELD: &str = "NOT EXISTS (SELECT 1 FROM call_records c \
     JOIN legal_holds h ON h.org_id = c.org_id AND h.released_at IS NULL AND ( \
     (h.subject_type = 'call' AND h.subject_id = c.id) \
     OR (h.subject_type = 'user' AND h.subject_id = c.user_id) \
     OR (h.subject_type = 'contact' AND h.subject_id = c.contact_id)) \
     WHERE c.phone_id = recordings.phone_id AND c.call_id = recordings.call_id)";

/// A recording committed to the purge: what deleting it needs.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct MarkedRecording {
    pub id: String,
    pub org_id: String,
    pub storage_key: String,
    pub size_bytes: i64,
}

/// Which recordings this node can delete: those of its own local store
/// (and rows from before stores had ids), or those on S3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreFilter {
    Local(String),
    S3,
}

/// `query` narrowed to the recordings on `store`.
fn on_store<'a, S>(
    query: recordings::BoxedQuery<'a, DbBackend, S>,
    store: &StoreFilter,
) -> recordings::BoxedQuery<'a, DbBackend, S> {
    match store {
        StoreFilter::Local(id) => query.filter(
            recordings::store_id
                .eq(id.clone())
                .or(recordings::store_id.is_null()),
        ),
        StoreFilter::S3 => query.filter(recordings::store_id.is_null()),
    }
}

/// A call record the purge may delete: its id, its recording, and where
/// the next batch goes on from.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct DueCall {
    pub id: String,
    pub recording_id: Option<String>,
    pub started_at: i64,
    pub phone_id: String,
    pub call_id: String,
}

/// Up to `limit` call records of `org` that started before `before`, after
/// `after` (the last of the previous batch, so the held ones already passed
/// are not read again), that no hold keeps; oldest first.
pub fn due_call_records(
    conn: &mut DbConn,
    org: OrgId,
    before: Micros,
    after: Option<&(i64, String)>,
    limit: i64,
) -> Result<Vec<DueCall>, RepoError> {
    let mut query = call_records::table
        .filter(call_records::org_id.eq(org.to_string()))
        .filter(call_records::started_at.lt(before))
        .filter(sql::<Bool>(CALL_NOT_HELD))
        .order((call_records::started_at.asc(), call_records::id.asc()))
        .limit(limit)
        .select((
            call_records::id,
            call_records::recording_id,
            call_records::started_at,
            call_records::phone_id,
            call_records::call_id,
        ))
        .into_boxed();
    if let Some((at, id)) = after {
        // The bare `>=` is what both databases can start the index range
        // at; the OR alone is only a filter, and the scan would walk every
        // row (dead ones included) of the batches before.
        query = query.filter(call_records::started_at.ge(*at)).filter(
            call_records::started_at.gt(*at).or(call_records::started_at
                .eq(*at)
                .and(call_records::id.gt(id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// What an archived record must still be when its batch is deleted: its
/// change counter (every edit bumps it), and its contact and recording
/// links (which change without it).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Queryable)]
pub struct ArchivedState {
    pub id: String,
    pub sync_seq: i64,
    pub contact_id: Option<String>,
    pub recording_id: Option<String>,
}

/// id, org_id, started_at, sync_seq, contact_id, recording_id.
type CheckedRow = (String, String, i64, i64, Option<String>, Option<String>);

/// Of the records `ids`, those still due (started before `before`, no
/// hold keeps them) as they are now, sorted by id: an archived batch is
/// deleted only if this is what was archived.
pub fn still_due(
    conn: &mut DbConn,
    org: OrgId,
    before: Micros,
    ids: &[String],
) -> Result<Vec<ArchivedState>, RepoError> {
    // By primary key alone, the rest checked here: with the organisation
    // or the start time in the query, SQLite walks the (org, started_at)
    // index over every due record instead.
    let rows: Vec<CheckedRow> = call_records::table
        .filter(call_records::id.eq_any(ids))
        .filter(sql::<Bool>(CALL_NOT_HELD))
        .select((
            call_records::id,
            call_records::org_id,
            call_records::started_at,
            call_records::sync_seq,
            call_records::contact_id,
            call_records::recording_id,
        ))
        .load(conn)?;
    let org = org.to_string();
    let mut found: Vec<ArchivedState> = rows
        .into_iter()
        .filter(|(_, row_org, started_at, ..)| *row_org == org && *started_at < before)
        .map(
            |(id, _, _, sync_seq, contact_id, recording_id)| ArchivedState {
                id,
                sync_seq,
                contact_id,
                recording_id,
            },
        )
        .collect();
    // Sorted here, not by the database's collation.
    found.sort_unstable();
    Ok(found)
}

/// Deletes the call records `ids` with their notes and edit history, and
/// unlinks them from score events and call-list attempts (the points and
/// the attempt stay). Their recordings must be marked first.
pub fn delete_call_records(conn: &mut DbConn, ids: &[String]) -> Result<usize, RepoError> {
    diesel::delete(
        call_annotation_edits::table.filter(call_annotation_edits::call_record_id.eq_any(ids)),
    )
    .execute(conn)?;
    diesel::delete(call_annotations::table.filter(call_annotations::call_record_id.eq_any(ids)))
        .execute(conn)?;
    diesel::update(score_events::table.filter(score_events::call_record_id.eq_any(ids)))
        .set(score_events::call_record_id.eq(None::<String>))
        .execute(conn)?;
    diesel::update(
        call_list_attempts::table.filter(call_list_attempts::call_record_id.eq_any(ids)),
    )
    .set(call_list_attempts::call_record_id.eq(None::<String>))
    .execute(conn)?;
    Ok(diesel::delete(call_records::table.filter(call_records::id.eq_any(ids))).execute(conn)?)
}

/// A recording the purge may mark, and where the next batch goes on from.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct DueRecording {
    pub id: String,
    pub uploaded_at: i64,
}

/// Up to `limit` recordings of `org` uploaded before `before`, after
/// `after` (the last of the previous batch), not yet marked, on a store
/// this node reaches, whose call no hold keeps; oldest first.
pub fn due_recordings(
    conn: &mut DbConn,
    org: OrgId,
    before: Micros,
    after: Option<&(i64, String)>,
    store: &StoreFilter,
    limit: i64,
) -> Result<Vec<DueRecording>, RepoError> {
    let mut query = recordings::table
        .filter(recordings::org_id.eq(org.to_string()))
        .filter(recordings::uploaded_at.lt(before))
        .filter(recordings::purging_at.is_null())
        .filter(sql::<Bool>(RECORDING_NOT_HELD))
        .order((recordings::uploaded_at.asc(), recordings::id.asc()))
        .limit(limit)
        .select((recordings::id, recordings::uploaded_at))
        .into_boxed();
    if let Some((at, id)) = after {
        // `>=` starts the index range; see `due_call_records`.
        query = query.filter(recordings::uploaded_at.ge(*at)).filter(
            recordings::uploaded_at.gt(*at).or(recordings::uploaded_at
                .eq(*at)
                .and(recordings::id.gt(id.clone()))),
        );
    }
    Ok(on_store(query, store).load(conn)?)
}

/// The recordings of these calls by phone and call id, linked or not (a
/// recording its call never took still goes with it).
pub fn recordings_of_calls(conn: &mut DbConn, calls: &[DueCall]) -> Result<Vec<String>, RepoError> {
    let mut by_phone: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for call in calls {
        by_phone
            .entry(call.phone_id.as_str())
            .or_default()
            .push(call.call_id.as_str());
    }
    let mut ids = Vec::new();
    for (phone, call_ids) in by_phone {
        ids.extend(
            recordings::table
                .filter(recordings::phone_id.eq(phone))
                .filter(recordings::call_id.eq_any(call_ids))
                .select(recordings::id)
                .load::<String>(conn)?,
        );
    }
    Ok(ids)
}

/// Commits the recordings `ids` to the purge: marks them and unlinks them
/// from their calls, so no reader is offered a file about to go.
pub fn mark_purging(conn: &mut DbConn, ids: &[String], now: Micros) -> Result<usize, RepoError> {
    diesel::update(call_records::table.filter(call_records::recording_id.eq_any(ids)))
        .set(call_records::recording_id.eq(None::<String>))
        .execute(conn)?;
    Ok(diesel::update(
        recordings::table
            .filter(recordings::id.eq_any(ids))
            .filter(recordings::purging_at.is_null()),
    )
    .set(recordings::purging_at.eq(now))
    .execute(conn)?)
}

/// Up to `limit` marked recordings on a store this node reaches (of any
/// organisation: a crashed run's leftovers are finished first), but none
/// of `skip` (whose object could not be deleted this run).
pub fn marked_recordings(
    conn: &mut DbConn,
    store: &StoreFilter,
    skip: &[String],
    limit: i64,
) -> Result<Vec<MarkedRecording>, RepoError> {
    let query = recordings::table
        .filter(recordings::purging_at.is_not_null())
        .filter(recordings::id.ne_all(skip))
        .order(recordings::id.asc())
        .limit(limit)
        .select((
            recordings::id,
            recordings::org_id,
            recordings::storage_key,
            recordings::size_bytes,
        ))
        .into_boxed();
    Ok(on_store(query, store).load(conn)?)
}

/// Deletes the marked recording `id` (its object is gone), unlinking any
/// call that still points at it; whether this call deleted it (another
/// worker may have first).
pub fn delete_marked_recording(conn: &mut DbConn, id: &str) -> Result<bool, RepoError> {
    diesel::update(call_records::table.filter(call_records::recording_id.eq(id)))
        .set(call_records::recording_id.eq(None::<String>))
        .execute(conn)?;
    let n = diesel::delete(
        recordings::table
            .filter(recordings::id.eq(id))
            .filter(recordings::purging_at.is_not_null()),
    )
    .execute(conn)?;
    Ok(n == 1)
}
