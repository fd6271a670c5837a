//! Moving a `call_list_tasks` row through a dialled attempt (docs/call-
//! lists.md, "Dialling and outcomes"): the holder's dial opens it, the
//! dial's or the call record's outcome settles it, a later disposition may
//! change what it became. Each update names the state it expects, so a
//! repeated or late outcome changes nothing.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::call_list_tasks;
use crate::domain::retry_policy::Used;
use crate::ids::UserId;
use crate::time::Micros;
use crate::wire::CallTaskState;

/// Marks the holder's live lease as on a call with `dial`, holding it
/// until `until`; counts the attempt. `false` when the caller does not
/// hold the task's live lease or it is on a call already.
pub fn start_dial(
    conn: &mut DbConn,
    id: &str,
    user: UserId,
    dial: &str,
    until: Micros,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()))
            .filter(call_list_tasks::leased_by.eq(user.to_string()))
            .filter(call_list_tasks::leased_until.gt(now))
            .filter(call_list_tasks::open_dial_id.is_null()),
    )
    .set((
        call_list_tasks::open_dial_id.eq(Some(dial)),
        call_list_tasks::leased_until.eq(Some(until)),
        call_list_tasks::attempts.eq(call_list_tasks::attempts + 1),
        call_list_tasks::last_attempt_at.eq(Some(now)),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// What a task becomes (every column the outcome decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskChange {
    pub state: CallTaskState,
    pub reason: String,
    /// When it may be leased again.
    pub due_at: Micros,
    /// The retry counters after the change.
    pub used: Used,
    /// Stays leased to this user until then (a cancelled dial); else the
    /// lease ends.
    pub lease: Option<(UserId, Micros)>,
    pub assignee: Option<String>,
}

/// Which row state a change applies to.
#[derive(Debug, Clone, Copy)]
pub enum Expect<'a> {
    /// On a call with this dial.
    OnCall(&'a str),
    /// Off any call, in this state (a later disposition).
    Settled(CallTaskState),
}

/// Applies `change` if the task is still as `expect` says; `false` when
/// it is not (a repeated outcome, or the task moved on).
pub fn apply(
    conn: &mut DbConn,
    id: &str,
    expect: Expect<'_>,
    change: &TaskChange,
    now: Micros,
) -> Result<bool, RepoError> {
    let (leased_by, leased_until) = match change.lease {
        Some((user, until)) => (Some(user.to_string()), Some(until)),
        None => (None, None),
    };
    let target =
        diesel::update(call_list_tasks::table.filter(call_list_tasks::id.eq(id))).into_boxed();
    let target = match expect {
        Expect::OnCall(dial) => target.filter(call_list_tasks::open_dial_id.eq(dial)),
        Expect::Settled(state) => target
            .filter(call_list_tasks::open_dial_id.is_null())
            .filter(call_list_tasks::state.eq(state.as_str())),
    };
    let n = target
        .set((
            call_list_tasks::state.eq(change.state.as_str()),
            call_list_tasks::state_reason.eq(Some(change.reason.as_str())),
            call_list_tasks::due_at.eq(change.due_at),
            call_list_tasks::busy_retries.eq(i64::from(change.used.busy)),
            call_list_tasks::no_answer_retries.eq(i64::from(change.used.no_answer)),
            call_list_tasks::failed_retries.eq(i64::from(change.used.failed)),
            call_list_tasks::not_completed_retries.eq(i64::from(change.used.not_completed)),
            call_list_tasks::leased_by.eq(leased_by),
            call_list_tasks::leased_until.eq(leased_until),
            call_list_tasks::assignee_id.eq(change.assignee.as_deref()),
            call_list_tasks::open_dial_id.eq(None::<String>),
            call_list_tasks::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(n == 1)
}
