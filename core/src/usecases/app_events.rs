//! Appending to a user's event log (`GET /v1/events`), the one way every
//! use case does it: the user's row lock first, held to commit, so one
//! user's events commit in `seq` order and a stream reading "after my
//! cursor" never skips a late-committing lower `seq`
//! (docs/decisions/0003-binding-locks.md). What the app misses when it is
//! not streaming also goes out as a push, queued in the same transaction so
//! it cannot be lost.

use crate::db::DbConn;
use crate::domain::push_message::event_message;
use crate::repo::{RepoError, app_events, jobs, users};
use crate::time::Micros;
use crate::wire::AppEvent;

/// Records the event for the user; call it inside the change's
/// transaction, after any binding row lock (the lock order). The caller
/// wakes the user's streams after commit (`AfterCommit::wake_user`).
pub fn record(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    event: &AppEvent,
    at: Micros,
) -> Result<(), RepoError> {
    users::lock(conn, user_id)?;
    app_events::insert(conn, org_id, user_id, event, at)?;
    if let Some(message) = event_message(event) {
        jobs::enqueue_push(conn, org_id, user_id, event.kind(), &message, at)?;
    }
    Ok(())
}

/// [`record`] for several users' events, `(user id, event)`: the users
/// locked in one statement (in id order), the events in multi-row inserts
/// whatever their user (an ingest batch announces up to 500 records to up
/// to as many users).
pub fn record_for_users(
    conn: &mut DbConn,
    org_id: &str,
    events: &[(&str, AppEvent)],
    at: Micros,
) -> Result<(), RepoError> {
    if events.is_empty() {
        return Ok(());
    }
    let users: Vec<&str> = events.iter().map(|&(user, _)| user).collect();
    users::lock_many(conn, &users)?;
    let rows: Vec<(&str, &AppEvent)> = events.iter().map(|(user, e)| (*user, e)).collect();
    app_events::insert_for_users(conn, org_id, &rows, at)?;
    for (user_id, event) in events {
        if let Some(message) = event_message(event) {
            jobs::enqueue_push(conn, org_id, user_id, event.kind(), &message, at)?;
        }
    }
    Ok(())
}
