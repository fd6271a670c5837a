//! Each user's event log behind `GET /v1/events`. Rows are written in the
//! transaction of the change they describe, so a stream that replays from
//! its cursor sees every change exactly once; the relay only wakes streams.
//!
//! A stream reads "events after my cursor", which is only sound if a row
//! with a lower `seq` can never become visible after one with a higher
//! `seq`. PostgreSQL assigns identity values at insert, not at commit, so
//! two transactions could commit out of order. Writers therefore go through
//! `usecases::app_events::record`, which takes the user's row lock first and
//! holds it until commit: one user's events are numbered in commit order.
//! (SQLite has one writer at a time.)

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::dialect;
use crate::db::schema::app_events;
use crate::time::Micros;
use crate::wire::{AppEvent, SequencedEvent};

/// Appends the event. Call it inside the change's transaction, holding the
/// user's row lock (see the module notes).
pub fn insert(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    event: &AppEvent,
    at: Micros,
) -> Result<(), RepoError> {
    let payload = serde_json::to_string(event)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable event: {e}")))?;
    diesel::insert_into(app_events::table)
        .values((
            app_events::org_id.eq(org_id),
            app_events::user_id.eq(user_id),
            app_events::kind.eq(event.kind()),
            app_events::payload.eq(payload),
            app_events::at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Rows per multi-row insert of [`insert_for_users`]: 5 columns each stays far
/// below both databases' limits on bound parameters.
const INSERT_CHUNK: usize = 500;

/// Appends events of several users of one organisation, `(user id,
/// event)` in the order their `seq` is to follow, in multi-row inserts
/// (under the same rule as [`insert`]: every one of the users' row locks
/// is held).
pub fn insert_for_users(
    conn: &mut DbConn,
    org_id: &str,
    events: &[(&str, &AppEvent)],
    at: Micros,
) -> Result<(), RepoError> {
    for chunk in events.chunks(INSERT_CHUNK) {
        let rows = chunk
            .iter()
            .map(|&(user_id, event)| {
                let payload = serde_json::to_string(event)
                    .map_err(|e| RepoError::Corrupt(format!("unserialisable event: {e}")))?;
                Ok((
                    app_events::org_id.eq(org_id),
                    app_events::user_id.eq(user_id),
                    app_events::kind.eq(event.kind()),
                    app_events::payload.eq(payload),
                    app_events::at.eq(at),
                ))
            })
            .collect::<Result<Vec<_>, RepoError>>()?;
        dialect::insert_batch(conn, diesel::insert_into(app_events::table).values(rows))?;
    }
    Ok(())
}

/// The user's events after `after`, oldest first, at most `limit`.
pub fn after(
    conn: &mut DbConn,
    user_id: &str,
    after: i64,
    limit: i64,
) -> Result<Vec<SequencedEvent>, RepoError> {
    let rows: Vec<(i64, String)> = app_events::table
        .filter(app_events::user_id.eq(user_id))
        .filter(app_events::seq.gt(after))
        .order(app_events::seq.asc())
        .limit(limit)
        .select((app_events::seq, app_events::payload))
        .load(conn)?;
    rows.into_iter()
        .map(|(seq, payload)| {
            serde_json::from_str(&payload)
                .map(|event| SequencedEvent { seq, event })
                .map_err(|e| RepoError::Corrupt(format!("app event {seq}: {e}")))
        })
        .collect()
}

/// Whether a stream resuming after `after` cannot be served exactly: events
/// past it were purged, or it lies beyond the end (a restored database, a
/// made-up id, which would otherwise wait forever for events it already
/// "has"). The sequence is shared by all users, so a purged range cannot be
/// told apart from other users' rows: any purge past the cursor counts.
/// Checked once when a stream starts; a live stream is never 7 days behind.
pub fn resume_gap(conn: &mut DbConn, after: i64) -> Result<bool, RepoError> {
    if after == 0 {
        return Ok(false);
    }
    let (oldest, newest): (Option<i64>, Option<i64>) = app_events::table
        .select((
            diesel::dsl::min(app_events::seq),
            diesel::dsl::max(app_events::seq),
        ))
        .first(conn)?;
    Ok(oldest.is_some_and(|oldest| oldest > after + 1)
        || newest.is_none_or(|newest| after > newest))
}

/// The user's newest sequence number: where a stream that wants no history
/// starts. The user's own, not the global one: another user's higher number
/// may be committed while one of this user's lower ones is still in flight.
pub fn latest(conn: &mut DbConn, user_id: &str) -> Result<i64, RepoError> {
    let newest: Option<i64> = app_events::table
        .filter(app_events::user_id.eq(user_id))
        .select(diesel::dsl::max(app_events::seq))
        .first(conn)?;
    Ok(newest.unwrap_or(0))
}

/// Deletes events older than `before`; returns how many.
pub fn purge(conn: &mut DbConn, before: Micros) -> Result<usize, RepoError> {
    Ok(diesel::delete(app_events::table.filter(app_events::at.lt(before))).execute(conn)?)
}
