//! Power mode (docs/call-lists.md, "Power mode"): when a call from a
//! power-mode list ends, the server dials the user's next task of that
//! list itself once the list's gap has passed. The settled attempt queues
//! a `power_dial` job; the worker runs it: the user must be available
//! (not DND, away, busy or offline) and hold a phone, else the job waits
//! and looks again (for up to [`PARK_LIMIT_SECS`]), so power mode resumes
//! by itself when they come back. When nothing is due yet (the rest wait
//! for their retry) it looks again when the next task falls due, if that
//! is sooner. A cancelled dial, a list that is no longer active, or an
//! empty queue ends it.

use super::Services;
use super::call_list_dials::{self, DialTaskError};
use super::call_list_work::{self, SKIP_DELAY_SECS, WorkError, Worker};
use super::dial_authorisation::HoursRule;
use super::dials::DialError;
use super::presence::{self, Reader};
use crate::ids::{CallListId, OrgId, UserId};
use crate::repo::jobs::{self, JobRow, Outcome};
use crate::repo::{RepoError, call_list_tasks as tasks, stored_id};
use crate::time::{Micros, seconds};
use crate::wire::{PresenceState, Role};

/// How often a waiting power job looks again (sooner when the next task
/// falls due sooner).
pub const RECHECK_SECS: i64 = 30;
/// How long a power job waits for its user to come back before power mode
/// ends (they start it again by dialling a task).
pub const PARK_LIMIT_SECS: i64 = 3600;
/// How long the phone may act on a power-mode dial.
pub const DIAL_TTL_SECS: i64 = 60;
/// How long a claim holds a job.
const CLAIM_SECS: i64 = 60;

/// What one power job did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Dialled this task.
    Dialled(String),
    /// Waits: the user is not available (the reason), or nothing is due
    /// yet.
    Waiting(&'static str),
    /// Power mode ended for the user (the reason).
    Ended(&'static str),
}

/// Runs up to `limit` due power jobs at `now`; what each did.
pub async fn run_due(
    svc: &Services,
    owner: &str,
    now: Micros,
    limit: i64,
) -> Result<Vec<Step>, RepoError> {
    let owner = owner.to_owned();
    let claimed = svc
        .db
        .write(move |conn| {
            jobs::claim_due_of_kind(
                conn,
                jobs::POWER_DIAL,
                &owner,
                now,
                now + seconds(CLAIM_SECS),
                limit,
            )
        })
        .await?;
    let mut steps = Vec::with_capacity(claimed.len());
    for c in claimed {
        let (step, due) = run_one(svc, &c.job, now).await?;
        let job = c.job.clone();
        let answer = step.clone();
        svc.db
            .write(move |conn| match answer {
                Step::Dialled(_) => jobs::finish(conn, &job, Outcome::Done, None, now),
                Step::Ended(why) => jobs::finish(conn, &job, Outcome::Dropped, Some(why), now),
                Step::Waiting(why) => {
                    if now - job.created_at > seconds(PARK_LIMIT_SECS) {
                        jobs::finish(conn, &job, Outcome::Dropped, Some(why), now)
                    } else {
                        jobs::retry_at(conn, &job, look_again_at(now, due), why, false)
                    }
                }
            })
            .await?;
        tracing::info!(job = %c.job.id, ?step, "power-mode step");
        steps.push(step);
    }
    Ok(steps)
}

/// When a waiting job looks again: [`RECHECK_SECS`] from now, or sooner
/// when the next task falls due sooner (a retry's delay ending), so power
/// mode goes on as soon as there is something to dial. Never before the
/// next second (a task due "now" that `next` did not reach).
fn look_again_at(now: Micros, due: Option<Micros>) -> Micros {
    let recheck = now + seconds(RECHECK_SECS);
    due.map_or(recheck, |due| due.clamp(now + seconds(1), recheck))
}

/// What the job did, and when the next task falls due if it waits for one.
async fn run_one(
    svc: &Services,
    job: &JobRow,
    now: Micros,
) -> Result<(Step, Option<Micros>), RepoError> {
    let org: OrgId = stored_id(&job.org_id)?;
    let Some(user) = job.user_id.as_deref() else {
        return only(Step::Ended("no_user"));
    };
    let user: UserId = stored_id(user)?;
    let list: CallListId = stored_id(&job.payload)?;
    let reader = Reader {
        org,
        user,
        role: Role::Salesperson,
    };
    let state = match presence::get(svc, reader, user, now).await {
        Ok(p) => p.state,
        // Deleted or moved: nothing to dial for.
        Err(RepoError::NotFound) => return only(Step::Ended("user_gone")),
        Err(e) => return Err(e),
    };
    match state {
        PresenceState::Available => {}
        PresenceState::Busy => return only(Step::Waiting("busy")),
        PresenceState::Away => return only(Step::Waiting("away")),
        PresenceState::Dnd => return only(Step::Waiting("dnd")),
        PresenceState::Offline => return only(Step::Waiting("offline")),
    }
    let me = Worker { org, user };
    let next = match call_list_work::next(svc, me, Some(list), now).await {
        Ok(next) => next,
        Err(WorkError::NoBinding) => return only(Step::Waiting("unbound")),
        Err(WorkError::Unavailable) => return only(Step::Waiting("dnd")),
        Err(WorkError::ListNotActive) => return only(Step::Ended("list_not_active")),
        Err(WorkError::Repo(RepoError::NotFound)) => return only(Step::Ended("list_gone")),
        Err(WorkError::Repo(e)) => return Err(e),
        Err(e) => return Err(RepoError::Corrupt(format!("power next: {e}"))),
    };
    let Some(task) = next.task else {
        return Ok(match next.next_due_at {
            Some(due) => (Step::Waiting("nothing_due"), Some(micros_of(due))),
            None => (Step::Ended("queue_empty"), None),
        });
    };
    // `next` answers a task the user holds from another list first: that
    // one is theirs to confirm, never dialled by this list's power mode.
    if task.list_id != list {
        return only(Step::Waiting("holding_another_task"));
    }
    let ttl = seconds(DIAL_TTL_SECS);
    match call_list_dials::dial(svc, me, task.id, None, ttl, now).await {
        Ok(dialled) => only(Step::Dialled(dialled.task.id)),
        // The rules refuse this number now (a blocklist entry added since
        // the import, its class, the callee's hours): it goes back with the
        // refusal and the next is tried at the next look.
        Err(DialTaskError::Dial(refusal)) if refuses_the_number(&refusal) => {
            let reason = format!("power_dial_refused: {refusal}");
            let id = task.id.to_string();
            svc.db
                .write(move |conn| -> Result<bool, RepoError> {
                    let due = now + seconds(SKIP_DELAY_SECS);
                    tasks::release(conn, &id, user, due, &reason, now)
                })
                .await?;
            only(Step::Waiting("dial_refused"))
        }
        Err(DialTaskError::Dial(DialError::Repo(e)) | DialTaskError::Work(WorkError::Repo(e))) => {
            Err(e)
        }
        // Several phones held: the server cannot choose; the user dials.
        Err(DialTaskError::Dial(DialError::PhoneRequired)) => only(Step::Ended("phone_required")),
        // About the caller, not the number (no phone any more, their own
        // hours): the task stays theirs and the next look tries again.
        Err(DialTaskError::Dial(_)) => only(Step::Waiting("caller_refused")),
        Err(DialTaskError::Work(e)) => Err(RepoError::Corrupt(format!("power dial: {e}"))),
    }
}

/// A step with no due time to wait for.
fn only(step: Step) -> Result<(Step, Option<Micros>), RepoError> {
    Ok((step, None))
}

fn micros_of(at: chrono::DateTime<chrono::Utc>) -> Micros {
    at.timestamp_micros()
}

/// Whether a dial refusal is about the number (any caller would get it
/// now), so the task should wait and the next one go.
fn refuses_the_number(refusal: &DialError) -> bool {
    matches!(
        refusal,
        DialError::Blocked(_)
            | DialError::ClassNotAllowed { .. }
            | DialError::Number(_)
            | DialError::OutsideHours {
                which: HoursRule::Callee,
                ..
            }
    )
}
