//! A salesperson working call lists (docs/call-lists.md, "Working a
//! list"): `next` leases the first task they may call now, `skip` hands it
//! back with a reason. A caller holds at most one task: asking again
//! renews and answers the one held.

use chrono_tz::Tz;

use super::Services;
use super::presence;
use crate::domain::call_lists::{MAX_SKIP_REASON, TaskHours};
use crate::domain::{FieldError, blocklist};
use crate::ids::{CallListId, CallTaskId, OrgId, UserId};
use crate::repo::call_list_attempts::AttemptRow;
use crate::repo::call_list_tasks::{self as tasks, TaskRow};
use crate::repo::call_lists::{self as lists, ListRow};
use crate::repo::{RepoError, bindings, dial_rule_sets, users};
use crate::time::{Micros, seconds, to_datetime};
use crate::wire::{CallListState, CallTask, NextCallTaskResult};

/// Candidates read in a list's first step: the first of them is nearly
/// always leased, and reading (and decoding) fifty rows was two thirds of
/// a lease's time on SQLite.
const FIRST_BATCH: i64 = 5;
/// Candidates read per later step (the first step's were all deferred:
/// windows closed, or called too recently).
const BATCH: i64 = 50;
/// Steps per list before giving up for this call (each may defer a batch
/// of tasks whose windows are closed).
const STEPS: usize = 5;
/// How long a skipped task waits before it comes round again.
pub const SKIP_DELAY_SECS: i64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum WorkError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// Under DND nothing is handed out.
    #[error("you are in do not disturb")]
    Unavailable,
    /// No phone to call from.
    #[error("you hold no phone")]
    NoBinding,
    /// The task is not leased to the caller (any more).
    #[error("you do not hold this task")]
    NotLeased,
    /// The task is on a call: it cannot be skipped until the call ends.
    #[error("the task is on a call")]
    OnCall,
    /// The list asked for is not active.
    #[error("the call list is not active")]
    ListNotActive,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for WorkError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<crate::db::DbError> for WorkError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// Who works: the caller.
#[derive(Debug, Clone, Copy)]
pub struct Worker {
    pub org: OrgId,
    pub user: UserId,
}

/// Leases the next task for the worker (from `only` when given).
pub async fn next(
    svc: &Services,
    me: Worker,
    only: Option<CallListId>,
    now: Micros,
) -> Result<NextCallTaskResult, WorkError> {
    svc.db
        .write(move |conn| -> Result<NextCallTaskResult, WorkError> {
            let user = me.user.to_string();
            if presence::holds_pushes_in(conn, &user, now)? {
                return Err(WorkError::Unavailable);
            }
            if bindings::held_by(conn, &user, now)?.is_empty() {
                return Err(WorkError::NoBinding);
            }
            let active = active_lists(conn, me, only)?;
            // One `next` of a user at a time (a double tap must not lease
            // two tasks); taken before any list lock.
            users::lock(conn, &user)?;
            if let Some(held) = tasks::held_by(conn, me.user, now)? {
                // On a call: that task, until the call ends.
                if held.open_dial_id.is_some() {
                    return Ok(leased(held.to_wire()?));
                }
                lists::lock(conn, &held.list_id)?;
                let list = lists::get(conn, me.org, crate::repo::stored_id(&held.list_id)?)?;
                if list.state()? == CallListState::Active {
                    let until = now + seconds(i64::from(list.settings()?.lease_secs));
                    if tasks::renew(conn, &held.id, me.user, until, now)? {
                        let held =
                            tasks::get(conn, &held.org_id, crate::repo::stored_id(&held.id)?)?;
                        return Ok(leased(held.to_wire()?));
                    }
                } else {
                    // Paused or closed meanwhile: the task goes back.
                    tasks::release(conn, &held.id, me.user, now, "list_not_active", now)?;
                }
            }
            let teams = users::team_ids_of(conn, std::slice::from_ref(&user))?
                .remove(&user)
                .unwrap_or_default();
            let pools = lists::pools_of(conn, me.org, me.user, &teams)?;
            let mut workable: Vec<String> = tasks::lists_assigning(conn, &active, me.user)?;
            workable.extend(pools.iter().filter(|l| active.contains(l)).cloned());
            workable.sort();
            workable.dedup();
            let zone = org_zone(conn, me.org)?;
            // Oldest list first (ids are time-ordered).
            for list_id in &workable {
                lists::lock(conn, list_id)?;
                // Read under the lock: a pause committed meanwhile counts.
                let list = lists::get(conn, me.org, crate::repo::stored_id(list_id)?)?;
                if list.state()? != CallListState::Active {
                    continue;
                }
                if let Some(task) = lease_from(conn, &list, me, pools.contains(list_id), zone, now)?
                {
                    return Ok(leased(task.to_wire()?));
                }
            }
            // Due tasks left over after this call's steps: ask again now.
            let next_due =
                tasks::next_due(conn, &workable, &pools, me.user, now)?.map(|t| t.max(now));
            if next_due.is_none() {
                super::call_list_completions::note_emptied_in(
                    conn, me.org, me.user, &workable, now,
                )?;
            }
            Ok(NextCallTaskResult {
                task: None,
                next_due_at: next_due.map(to_datetime),
            })
        })
        .await
}

fn leased(task: CallTask) -> NextCallTaskResult {
    NextCallTaskResult {
        task: Some(task),
        next_due_at: None,
    }
}

/// The active lists of the organisation to look in: `only` (which must be
/// active), or every active one.
fn active_lists(
    conn: &mut crate::db::DbConn,
    me: Worker,
    only: Option<CallListId>,
) -> Result<Vec<String>, WorkError> {
    match only {
        Some(id) => {
            let list = lists::get(conn, me.org, id)?;
            if list.state()? != CallListState::Active {
                return Err(WorkError::ListNotActive);
            }
            Ok(vec![list.id])
        }
        None => Ok(lists::active_ids(conn, me.org)?),
    }
}

/// The organisation's zone (its dial rules'), for callees of no known
/// zone and lists without one.
fn org_zone(conn: &mut crate::db::DbConn, org: OrgId) -> Result<Tz, RepoError> {
    Ok(dial_rule_sets::current(conn, org)?
        .and_then(|r| r.set.time_zone.parse().ok())
        .unwrap_or(Tz::UTC))
}

/// Leases the first task of `list` the worker may call now. Tasks whose
/// windows are closed, or whose number was called from this list less
/// than the recall gap ago, are deferred to when they may go.
fn lease_from(
    conn: &mut crate::db::DbConn,
    list: &ListRow,
    me: Worker,
    in_pool: bool,
    zone: Tz,
    now: Micros,
) -> Result<Option<TaskRow>, WorkError> {
    let settings = list.settings()?;
    let order = list.order()?;
    for step in 0..STEPS {
        let batch = if step == 0 { FIRST_BATCH } else { BATCH };
        let candidates =
            tasks::lease_candidates(conn, &list.id, order, me.user, in_pool, now, batch)?;
        if candidates.is_empty() {
            return Ok(None);
        }
        for task in &candidates {
            // The callee asked for the callback's time: no recall gap, and
            // a deferral keeps it a callback (the pool fallback looks for it).
            let callback = task.state_reason.as_deref() == Some("callback");
            if let Some(last) = task.last_attempt_at.filter(|_| !callback) {
                let gap_end = last + seconds(i64::from(settings.min_recall_gap_secs));
                if gap_end > now {
                    tasks::defer(conn, &task.id, gap_end, "recall_gap", now)?;
                    continue;
                }
            }
            let deferred = |why: &'static str| if callback { "callback" } else { why };
            let Some(e164) = task.number_e164.as_deref() else {
                continue;
            };
            let hours = TaskHours::new(&settings, zone, e164, task.window(), zone);
            match hours.next_allowed(now) {
                Some(at) if at <= now => {}
                Some(at) => {
                    tasks::defer(conn, &task.id, at, deferred("outside_hours"), now)?;
                    continue;
                }
                // No allowed time within a year: look again in a day.
                None => {
                    tasks::defer(
                        conn,
                        &task.id,
                        now + seconds(86_400),
                        deferred("no_allowed_time"),
                        now,
                    )?;
                    continue;
                }
            }
            let until = now + seconds(i64::from(settings.lease_secs));
            if tasks::lease(conn, &task.id, me.user, now, until)? {
                return Ok(Some(tasks::get(
                    conn,
                    &task.org_id,
                    crate::repo::stored_id(&task.id)?,
                )?));
            }
        }
        if (candidates.len() as i64) < batch {
            return Ok(None);
        }
    }
    Ok(None)
}

/// Hands a task the worker holds back to the queue with a reason; it
/// comes round again after [`SKIP_DELAY_SECS`].
pub async fn skip(
    svc: &Services,
    me: Worker,
    task: CallTaskId,
    reason: String,
    now: Micros,
) -> Result<CallTask, WorkError> {
    let reason = blocklist::parse_text("reason", &reason, MAX_SKIP_REASON)?;
    svc.db
        .write(move |conn| -> Result<CallTask, WorkError> {
            let row = tasks::get(conn, &me.org.to_string(), task)?;
            if row.open_dial_id.is_some() && row.leased_by == Some(me.user.to_string()) {
                return Err(WorkError::OnCall);
            }
            let due = now + seconds(SKIP_DELAY_SECS);
            if !tasks::release(conn, &row.id, me.user, due, "skipped", now)? {
                return Err(WorkError::NotLeased);
            }
            let user = me.user.to_string();
            let attempt = AttemptRow::skipped(&row.id, &row.list_id, &user, &reason, now);
            crate::repo::call_list_attempts::insert(conn, &attempt)?;
            Ok(tasks::get(conn, &row.org_id, task)?.to_wire()?)
        })
        .await
}
