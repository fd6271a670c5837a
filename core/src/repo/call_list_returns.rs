//! Tasks leaving their user (docs/call-lists.md, "Hand-back and
//! reassignment"; decision 0033): handed back as `returned` and held for
//! them a while, or moved by a manager to someone else or the pool; and
//! the `call_list_absences` the offline sweep keeps. Every UPDATE names
//! the states it expects, so a task taken meanwhile is left alone.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::{call_list_absences, call_list_members, call_list_tasks, call_lists};
use crate::ids::UserId;
use crate::time::Micros;
use crate::wire::CallListState;

// `CallTaskState` names (checked by the test below).
const QUEUED: &str = "queued";
const LEASED: &str = "leased";
const RETURNED: &str = "returned";

/// The lists where `user` holds a live lease or has an unfinished task
/// assigned (queued or leased), in id order.
pub fn lists_to_hand_back(
    conn: &mut DbConn,
    user: UserId,
    now: Micros,
) -> Result<Vec<String>, RepoError> {
    let me = user.to_string();
    let mut lists: Vec<String> = call_list_tasks::table
        .filter(
            call_list_tasks::state
                .eq(LEASED)
                .and(call_list_tasks::leased_by.eq(me.clone()))
                .and(call_list_tasks::leased_until.gt(now))
                .or(call_list_tasks::assignee_id
                    .eq(me)
                    .and(call_list_tasks::state.eq_any([QUEUED, LEASED]))),
        )
        .select(call_list_tasks::list_id)
        .distinct()
        .load(conn)?;
    lists.sort();
    Ok(lists)
}

/// What a hand-back writes on each task.
#[derive(Debug, Clone, Copy)]
pub struct HandBack<'a> {
    pub list: &'a str,
    pub user: UserId,
    /// Also the queued tasks assigned to `user` (only while the list is
    /// active: a draft or paused list's assignments wait as they are).
    pub assigned_too: bool,
    pub held_until: Micros,
    pub reason: &'a str,
    pub now: Micros,
}

/// Turns `user`'s live lease in the list, and (`assigned_too`) their
/// assigned unfinished tasks, into `returned` held for them until
/// `held_until`; the lease is cleared. How many.
pub fn hand_back(conn: &mut DbConn, h: &HandBack<'_>) -> Result<usize, RepoError> {
    let me = h.user.to_string();
    let live_lease = call_list_tasks::state
        .eq(LEASED)
        .and(call_list_tasks::leased_by.eq(me.clone()))
        .and(call_list_tasks::leased_until.gt(h.now));
    // A task on a call stays with its holder: the call's outcome settles it.
    let in_list = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq(h.list.to_owned()))
        .filter(call_list_tasks::open_dial_id.is_null());
    let returned = (
        call_list_tasks::state.eq(RETURNED),
        call_list_tasks::held_for.eq(Some(me.clone())),
        call_list_tasks::held_until.eq(Some(h.held_until)),
        call_list_tasks::leased_by.eq(None::<String>),
        call_list_tasks::leased_until.eq(None::<i64>),
        call_list_tasks::state_reason.eq(Some(h.reason)),
        call_list_tasks::updated_at.eq(h.now),
    );
    let n = if h.assigned_too {
        // A callback stays its caller's: it was promised at a time.
        let not_callback = call_list_tasks::state_reason
            .is_null()
            .or(call_list_tasks::state_reason.ne("callback"));
        let assigned = call_list_tasks::assignee_id
            .eq(me)
            .and(call_list_tasks::state.eq_any([QUEUED, LEASED]))
            .and(not_callback);
        diesel::update(in_list.filter(live_lease.or(assigned)))
            .set(returned)
            .execute(conn)?
    } else {
        diesel::update(in_list.filter(live_lease))
            .set(returned)
            .execute(conn)?
    };
    Ok(n)
}

/// The ids of `user`'s unfinished tasks in the list, in import order:
/// assigned to them (queued, leased or returned), leased by them (a live
/// lease), or returned and still held for them.
pub fn unfinished_of(
    conn: &mut DbConn,
    list: &str,
    user: UserId,
    now: Micros,
) -> Result<Vec<String>, RepoError> {
    let me = user.to_string();
    Ok(call_list_tasks::table
        .filter(call_list_tasks::list_id.eq(list))
        .filter(
            call_list_tasks::assignee_id
                .eq(me.clone())
                .and(call_list_tasks::state.eq_any([QUEUED, LEASED, RETURNED]))
                .or(call_list_tasks::state
                    .eq(LEASED)
                    .and(call_list_tasks::leased_by.eq(me.clone()))
                    .and(call_list_tasks::leased_until.gt(now)))
                .or(call_list_tasks::state
                    .eq(RETURNED)
                    .and(call_list_tasks::held_for.eq(me))
                    .and(call_list_tasks::held_until.gt(now))),
        )
        .order(call_list_tasks::seq.asc())
        .select(call_list_tasks::id)
        .load(conn)?)
}

/// Moves the tasks `ids` of the list to `to` (an assignee, or the pool
/// with `None`): queued again, any lease or hold cleared. Only tasks still
/// unfinished and not on a call move; how many did.
pub fn reassign(
    conn: &mut DbConn,
    list: &str,
    ids: &[String],
    to: Option<&str>,
    now: Micros,
) -> Result<usize, RepoError> {
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::list_id.eq(list))
            .filter(call_list_tasks::id.eq_any(ids))
            .filter(call_list_tasks::state.eq_any([QUEUED, LEASED, RETURNED]))
            // A task on a call moves only once the call has settled it.
            .filter(call_list_tasks::open_dial_id.is_null()),
    )
    .set((
        call_list_tasks::assignee_id.eq(to),
        call_list_tasks::state.eq(QUEUED),
        call_list_tasks::leased_by.eq(None::<String>),
        call_list_tasks::leased_until.eq(None::<i64>),
        call_list_tasks::held_for.eq(None::<String>),
        call_list_tasks::held_until.eq(None::<i64>),
        call_list_tasks::state_reason.eq(Some("reassigned")),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?)
}

/// Every user with work that an absence would hand back, with their
/// organisation: a live lease, or a queued or leased task assigned to
/// them in an active list.
pub fn users_with_work(conn: &mut DbConn, now: Micros) -> Result<Vec<(String, String)>, RepoError> {
    let leasing: Vec<(String, Option<String>)> = call_list_tasks::table
        .filter(call_list_tasks::state.eq(LEASED))
        .filter(call_list_tasks::leased_until.gt(now))
        .select((call_list_tasks::org_id, call_list_tasks::leased_by))
        .distinct()
        .load(conn)?;
    let active = call_lists::table
        .filter(call_lists::state.eq(CallListState::Active.as_str()))
        .select(call_lists::id);
    let assigned: Vec<(String, Option<String>)> = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq_any(active))
        .filter(call_list_tasks::state.eq_any([QUEUED, LEASED]))
        .filter(call_list_tasks::assignee_id.is_not_null())
        .select((call_list_tasks::org_id, call_list_tasks::assignee_id))
        .distinct()
        .load(conn)?;
    let mut users: Vec<(String, String)> = leasing
        .into_iter()
        .chain(assigned)
        .filter_map(|(org, user)| Some((org, user?)))
        .collect();
    users.sort_by(|a, b| a.1.cmp(&b.1));
    users.dedup();
    Ok(users)
}

/// Since when each user the sweep has seen offline was first seen so.
pub fn absences(conn: &mut DbConn) -> Result<HashMap<String, Micros>, RepoError> {
    Ok(call_list_absences::table
        .select((call_list_absences::user_id, call_list_absences::since))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Notes `user` offline from `since` unless already noted; when they were
/// first seen offline. Call with the user's row lock held (two sweeps
/// never insert one user twice).
pub fn note_absent(conn: &mut DbConn, user: &str, since: Micros) -> Result<Micros, RepoError> {
    let noted: Option<i64> = call_list_absences::table
        .filter(call_list_absences::user_id.eq(user))
        .select(call_list_absences::since)
        .first(conn)
        .optional()?;
    if let Some(noted) = noted {
        return Ok(noted);
    }
    diesel::insert_into(call_list_absences::table)
        .values((
            call_list_absences::user_id.eq(user),
            call_list_absences::since.eq(since),
        ))
        .execute(conn)?;
    Ok(since)
}

/// Forgets the absences of `users` (seen connected, or without work).
pub fn forget_absences(conn: &mut DbConn, users: &[String]) -> Result<usize, RepoError> {
    if users.is_empty() {
        return Ok(0);
    }
    Ok(
        diesel::delete(call_list_absences::table.filter(call_list_absences::user_id.eq_any(users)))
            .execute(conn)?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::CallTaskState;

    #[test]
    fn the_state_names_are_the_wire_ones() {
        assert_eq!(QUEUED, CallTaskState::Queued.as_str());
        assert_eq!(LEASED, CallTaskState::Leased.as_str());
        assert_eq!(RETURNED, CallTaskState::Returned.as_str());
    }
}

/// A queued callback past its time, still waiting for its salesperson.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueCallback {
    pub id: String,
    pub org_id: String,
    pub list_id: String,
    pub assignee_id: String,
    pub due_at: Micros,
}

/// Up to `limit` queued callbacks due at or before `now` that still have
/// their salesperson as assignee, in active lists that have a pool (a
/// team or named members), longest overdue first from after `cursor`
/// (`(due_at, id)` of the last one read), through the partial index
/// `call_list_tasks_callbacks`.
pub fn overdue_callbacks(
    conn: &mut DbConn,
    now: Micros,
    cursor: Option<(Micros, String)>,
    limit: i64,
) -> Result<Vec<OverdueCallback>, RepoError> {
    let with_members = call_list_members::table
        .select(call_list_members::list_id)
        .distinct();
    let pooled = call_lists::table
        .filter(call_lists::state.eq(CallListState::Active.as_str()))
        .filter(
            call_lists::pool_team_id
                .is_not_null()
                .or(call_lists::id.eq_any(with_members)),
        )
        .select(call_lists::id);
    let mut query = call_list_tasks::table
        .filter(call_list_tasks::state.eq(QUEUED))
        .filter(call_list_tasks::state_reason.eq("callback"))
        .filter(call_list_tasks::due_at.le(now))
        .filter(call_list_tasks::assignee_id.is_not_null())
        .filter(call_list_tasks::open_dial_id.is_null())
        .filter(call_list_tasks::list_id.eq_any(pooled))
        .into_boxed();
    if let Some((due_at, id)) = cursor {
        // The bare `>=` lets an index range start at the cursor (the OR
        // alone is only a filter).
        query = query.filter(call_list_tasks::due_at.ge(due_at)).filter(
            call_list_tasks::due_at
                .gt(due_at)
                .or(call_list_tasks::due_at
                    .eq(due_at)
                    .and(call_list_tasks::id.gt(id))),
        );
    }
    let rows: Vec<(String, String, String, Option<String>, i64)> = query
        .order((call_list_tasks::due_at.asc(), call_list_tasks::id.asc()))
        .limit(limit)
        .select((
            call_list_tasks::id,
            call_list_tasks::org_id,
            call_list_tasks::list_id,
            call_list_tasks::assignee_id,
            call_list_tasks::due_at,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, org_id, list_id, assignee, due_at)| {
            Some(OverdueCallback {
                id,
                org_id,
                list_id,
                assignee_id: assignee?,
                due_at,
            })
        })
        .collect())
}

/// Gives a callback its salesperson did not take to the list's pool: its
/// assignee cleared, reason `callback_to_pool`, if it is still the queued
/// callback of `assignee` due at `due_at` (not deferred or moved to
/// another time since it was read); `false` when it changed meanwhile.
pub fn callback_to_pool(
    conn: &mut DbConn,
    callback: &OverdueCallback,
    now: Micros,
) -> Result<bool, RepoError> {
    let (id, assignee) = (&callback.id, &callback.assignee_id);
    let n = diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(call_list_tasks::due_at.eq(callback.due_at))
            .filter(call_list_tasks::state.eq(QUEUED))
            .filter(call_list_tasks::state_reason.eq("callback"))
            .filter(call_list_tasks::assignee_id.eq(assignee))
            .filter(call_list_tasks::open_dial_id.is_null()),
    )
    .set((
        call_list_tasks::assignee_id.eq(None::<String>),
        call_list_tasks::state_reason.eq(Some("callback_to_pool")),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
