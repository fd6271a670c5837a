//! Dialling a leased call-list task and settling the attempt
//! (docs/call-lists.md, "Dialling and outcomes"). The holder's `dial`
//! places a dial command for the task's number (every dial rule applies)
//! and opens a `dialing` attempt; the first of the dial command ending and
//! the call record arriving settles it through the list's retry policy;
//! a disposition given to the call later decides again.

use std::slice;

use super::call_list_work::{WorkError, Worker};
use super::dials::{self, Created, DialError, NewDial};
use super::{Services, app_events, call_list_completions};
use crate::db::DbConn;
use crate::domain::call_task_outcomes::{Verdict, decide, kind_used, policy_outcome};
use crate::domain::retry_policy::Used;
use crate::domain::{DialNumber, E164};
use crate::ids::{CallTaskId, DialId, OrgId, PhoneId};
use crate::repo::call_list_attempts::{self as attempts, AttemptRow};
use crate::repo::call_list_tasks::{self as tasks, TaskRow};
use crate::repo::call_task_outcomes::{self as outcomes, Expect, TaskChange};
use crate::repo::dials::{DialRow, Scope};
use crate::repo::{
    RepoError, call_annotations, call_lists as lists, dispositions, jobs, stored_id,
};
use crate::time::{Micros, seconds};
use crate::wire::{
    AppEvent, CallAttemptOutcome, CallListMode, CallListState, CallResult, CallTaskState,
    DialFailure, DialState,
};

#[derive(Debug, thiserror::Error)]
pub enum DialTaskError {
    #[error(transparent)]
    Work(#[from] WorkError),
    /// The dial itself was refused (no phone, a dial rule, the number).
    #[error(transparent)]
    Dial(#[from] DialError),
}

impl From<RepoError> for DialTaskError {
    fn from(e: RepoError) -> Self {
        Self::Work(WorkError::Repo(e))
    }
}

impl From<diesel::result::Error> for DialTaskError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Work(e.into())
    }
}

impl From<crate::db::DbError> for DialTaskError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Work(e.into())
    }
}

/// A task's dial: the task, its command and the attempt waiting for the
/// outcome; `placed` is false when the task was already on this call (a
/// repeated request answers the same dial).
#[derive(Debug, Clone)]
pub struct Dialled {
    pub task: TaskRow,
    pub dial: DialRow,
    pub attempt: AttemptRow,
    pub placed: bool,
}

/// Dials the task the worker holds from their bound phone (`phone` when
/// they hold several). `ttl`: how long the phone may still act on it.
pub async fn dial(
    svc: &Services,
    me: Worker,
    task: CallTaskId,
    phone: Option<PhoneId>,
    ttl: Micros,
    now: Micros,
) -> Result<Dialled, DialTaskError> {
    let once = || {
        svc.db
            .write(move |conn| dial_in(conn, me, task, phone, ttl, now))
    };
    let dialled = match once().await {
        // On PostgreSQL a second request that read the task before the
        // first committed its dial loses at `start_dial` and rolls back
        // its own command; asked again it sees the first dial and answers
        // it, as a repeat should.
        Err(DialTaskError::Work(WorkError::NotLeased)) => once().await?,
        other => other?,
    };
    if dialled.placed {
        dials::changed(&dialled.dial)?.run(svc).await;
    }
    Ok(dialled)
}

fn dial_in(
    conn: &mut DbConn,
    me: Worker,
    id: CallTaskId,
    phone: Option<PhoneId>,
    ttl: Micros,
    now: Micros,
) -> Result<Dialled, DialTaskError> {
    let org = me.org.to_string();
    let user = me.user.to_string();
    let task = tasks::get(conn, &org, id)?;
    let holds = task.state == CallTaskState::Leased.as_str()
        && task.leased_by.as_deref() == Some(user.as_str());
    if !holds {
        return Err(WorkError::NotLeased.into());
    }
    if let Some(open) = &task.open_dial_id {
        return on_call(conn, me.org, task.clone(), open);
    }
    if task.leased_until.is_none_or(|until| until <= now) {
        return Err(WorkError::NotLeased.into());
    }
    let list = lists::get(conn, me.org, stored_id(&task.list_id)?)?;
    if list.state()? != CallListState::Active {
        return Err(WorkError::ListNotActive.into());
    }
    let e164 = task
        .number_e164
        .as_deref()
        .ok_or_else(|| RepoError::Corrupt(format!("leased task {} has no number", task.id)))?;
    let number = DialNumber::International(
        E164::parse("number", e164, None)
            .map_err(|e| RepoError::Corrupt(format!("task {} number: {}", task.id, e.message)))?,
    );
    let request = NewDial {
        org: me.org,
        user: me.user,
        phone,
        number,
        idempotency: None,
        ttl,
    };
    // Takes the binding's and the user's locks; a refusal rolls back.
    let dial = match dials::place_locked(conn, &request, now)? {
        Created::New(row) | Created::Replayed(row) => row,
    };
    let until = now + seconds(i64::from(list.settings()?.lease_secs));
    if !outcomes::start_dial(conn, &task.id, me.user, &dial.id, until, now)? {
        // The lease ended since it was read: nothing is sent.
        return Err(WorkError::NotLeased.into());
    }
    let attempt = AttemptRow::dialing(&task.id, &task.list_id, &user, &dial.id, now);
    attempts::insert(conn, &attempt)?;
    announce(conn, &attempt.id, now)?;
    Ok(Dialled {
        task: tasks::get(conn, &org, id)?,
        dial,
        attempt,
        placed: true,
    })
}

/// The task is on a call already: that call's dial and attempt.
fn on_call(
    conn: &mut DbConn,
    org: OrgId,
    task: TaskRow,
    open: &str,
) -> Result<Dialled, DialTaskError> {
    let dial_id: DialId = stored_id(open)?;
    let dial =
        crate::repo::dials::find(conn, Scope::Org(org), dial_id)?.ok_or(RepoError::NotFound)?;
    let attempt = attempts::by_dials(conn, slice::from_ref(&dial.id))?
        .pop()
        .ok_or_else(|| RepoError::Corrupt(format!("dial {} has no attempt", dial.id)))?;
    Ok(Dialled {
        task,
        dial,
        attempt,
        placed: false,
    })
}

/// A dial command reached a final state: settles the attempt that placed
/// it, if a task did and nothing settled it first. In the dial change's
/// transaction.
pub(super) fn dial_finished_in(
    conn: &mut DbConn,
    dial: &DialRow,
    now: Micros,
) -> Result<(), RepoError> {
    let outcome = match dial.state()? {
        DialState::Ended => CallAttemptOutcome::Answered,
        DialState::Failed => match dial.failure.as_deref().and_then(DialFailure::parse) {
            Some(DialFailure::Busy | DialFailure::Rejected) => CallAttemptOutcome::Busy,
            Some(DialFailure::NoAnswer) => CallAttemptOutcome::NoAnswer,
            Some(DialFailure::InvalidNumber) => CallAttemptOutcome::InvalidNumber,
            Some(DialFailure::Error) | None => CallAttemptOutcome::Failed,
        },
        // Never dialled: the phone was away.
        DialState::Expired => CallAttemptOutcome::Failed,
        DialState::Cancelled => CallAttemptOutcome::Cancelled,
        _ => return Ok(()),
    };
    let Some(attempt) = attempts::by_dials(conn, slice::from_ref(&dial.id))?.pop() else {
        return Ok(());
    };
    settle(conn, &attempt, outcome, now)
}

/// Call records that name a dial arrived: each is linked to the attempt
/// that placed the dial, and settles it if nothing did yet.
pub(super) fn records_arrived_in(
    conn: &mut DbConn,
    records: &[ArrivedRecord],
    now: Micros,
) -> Result<(), RepoError> {
    let dial_ids: Vec<String> = records.iter().map(|r| r.dial_id.clone()).collect();
    for attempt in attempts::by_dials(conn, &dial_ids)? {
        let Some(record) = records
            .iter()
            .find(|r| Some(r.dial_id.as_str()) == attempt.dial_id.as_deref())
        else {
            continue;
        };
        let talk = (record.result == Some(CallResult::Answered))
            .then_some(record.duration_secs)
            .flatten();
        attempts::link_record(conn, &attempt.id, &record.record_id, talk)?;
        let outcome = match record.result {
            Some(CallResult::Answered) => CallAttemptOutcome::Answered,
            Some(CallResult::Busy | CallResult::Rejected) => CallAttemptOutcome::Busy,
            // Hung up while it rang.
            Some(CallResult::NoAnswer | CallResult::Cancelled) => CallAttemptOutcome::NoAnswer,
            Some(CallResult::Failed) => CallAttemptOutcome::Failed,
            // Still going: the dial or a later upload settles it.
            None => continue,
        };
        settle(conn, &attempt, outcome, now)?;
    }
    Ok(())
}

/// How long an attempt may wait for its call's outcome. A phone that
/// took the dial and then went silent (rebooted, lost power) never
/// reports; after this the attempt counts as `failed` (its retry budget
/// decides) and the task is free again.
pub const OUTCOME_TIMEOUT_SECS: i64 = 4 * 3600;

/// Settles as `failed` up to `limit` attempts that have waited longer than
/// [`OUTCOME_TIMEOUT_SECS`] for an outcome; how many. The worker runs it
/// with the dial expiry sweep.
pub async fn settle_stale(svc: &Services, now: Micros, limit: i64) -> Result<usize, RepoError> {
    svc.db
        .write(move |conn| {
            let stale = attempts::open_before(conn, now - seconds(OUTCOME_TIMEOUT_SECS), limit)?;
            for attempt in &stale {
                settle(conn, attempt, CallAttemptOutcome::Failed, now)?;
            }
            Ok(stale.len())
        })
        .await
}

/// A call record that names the dial it came from.
#[derive(Debug, Clone)]
pub struct ArrivedRecord {
    pub dial_id: String,
    pub record_id: String,
    pub result: Option<CallResult>,
    pub duration_secs: Option<i64>,
}

/// Settles a `dialing` attempt with `outcome` and moves its task; a
/// repeated outcome (the attempt settled already) changes nothing.
fn settle(
    conn: &mut DbConn,
    attempt: &AttemptRow,
    outcome: CallAttemptOutcome,
    now: Micros,
) -> Result<(), RepoError> {
    if attempt.outcome()? != CallAttemptOutcome::Dialing {
        return Ok(());
    }
    let Some(dial) = attempt.dial_id.as_deref() else {
        return Ok(());
    };
    let task = tasks::by_id(conn, &attempt.task_id)?;
    let list = lists::get(conn, stored_id(&task.org_id)?, stored_id(&task.list_id)?)?;
    let settings = list.settings()?;
    let used = used_of(&task);
    let change = match policy_outcome(outcome) {
        // A cancelled dial: the holder keeps the task and may dial again.
        None => TaskChange {
            state: CallTaskState::Leased,
            reason: "dial_cancelled".into(),
            due_at: task.due_at,
            used,
            lease: Some((
                stored_id(&attempt.user_id)?,
                now + seconds(i64::from(settings.lease_secs)),
            )),
            assignee: task.assignee_id.clone(),
        },
        Some(o) => {
            // A disposition given while the call was still going counts.
            let org = stored_id(&task.org_id)?;
            let callback_at = match attempt.call_record_id.as_deref() {
                Some(record) if attempt.disposition_id.is_some() => {
                    call_annotations::get(conn, org, record)?.and_then(|a| a.callback_at)
                }
                _ => None,
            };
            let verdict = verdict_of(conn, org, attempt.disposition_id.as_deref(), callback_at)?;
            let decision = decide(&settings.retry_policy(), o, verdict, used, now);
            change_of(&task, attempt, decision)
        }
    };
    if !attempts::settle(conn, &attempt.id, outcome, &change.reason, now)? {
        return Ok(());
    }
    if outcomes::apply(conn, &task.id, Expect::OnCall(dial), &change, now)? {
        announce(conn, &attempt.id, now)?;
        if is_finished(change.state) {
            call_list_completions::note_if_done_in(conn, &list, &attempt.user_id, now)?;
        }
    }
    // Power mode: the next call goes when the gap has passed; a cancel
    // stops it (the salesperson took over).
    if list.mode()? == CallListMode::Power
        && list.state()? == CallListState::Active
        && outcome != CallAttemptOutcome::Cancelled
    {
        let at = now + seconds(i64::from(settings.gap_secs));
        jobs::enqueue_power_dial(conn, &task.org_id, &attempt.user_id, &list.id, at, now)?;
    }
    Ok(())
}

/// Whether a task in `state` is done with (no more calls).
fn is_finished(state: CallTaskState) -> bool {
    matches!(
        state,
        CallTaskState::Completed
            | CallTaskState::GaveUp
            | CallTaskState::Dropped
            | CallTaskState::Blocked
    )
}

fn used_of(task: &TaskRow) -> Used {
    let n = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
    Used {
        busy: n(task.busy_retries),
        no_answer: n(task.no_answer_retries),
        failed: n(task.failed_retries),
        not_completed: n(task.not_completed_retries),
    }
}

fn change_of(
    task: &TaskRow,
    attempt: &AttemptRow,
    decision: crate::domain::call_task_outcomes::Decision,
) -> TaskChange {
    TaskChange {
        state: decision.state,
        reason: decision.reason.to_owned(),
        due_at: decision.due_at.unwrap_or(task.due_at),
        used: decision.used,
        lease: None,
        assignee: if decision.to_caller {
            Some(attempt.user_id.clone())
        } else {
            task.assignee_id.clone()
        },
    }
}

/// A call's disposition or callback time changed: if a task placed the
/// call and this was its latest attempt, the task is decided again with
/// the disposition (docs/call-lists.md). In the annotation's transaction.
pub(super) fn call_annotated_in(
    conn: &mut DbConn,
    org: OrgId,
    record: &str,
    disposition: Option<&str>,
    callback_at: Option<Micros>,
    now: Micros,
) -> Result<(), RepoError> {
    let Some(attempt) = attempts::by_record(conn, record)? else {
        return Ok(());
    };
    attempts::set_disposition(conn, &attempt.id, disposition)?;
    if attempt.outcome()? != CallAttemptOutcome::Answered {
        return Ok(());
    }
    let latest = attempts::latest_dialled(conn, &attempt.task_id)?;
    if latest.as_ref().map(|a| a.id.as_str()) != Some(attempt.id.as_str()) {
        return Ok(());
    }
    let task = tasks::by_id(conn, &attempt.task_id)?;
    let state = task.state()?;
    // Only while the task is still what this attempt made of it (not
    // skipped, reassigned or handed back since).
    if task.open_dial_id.is_some()
        || task.state_reason != attempt.reason
        || !matches!(
            state,
            CallTaskState::Completed | CallTaskState::Queued | CallTaskState::GaveUp
        )
    {
        return Ok(());
    }
    let verdict = verdict_of(conn, org, disposition, callback_at)?;
    // Decide from the counters as they were before this attempt.
    let before = match attempt.reason.as_deref().and_then(kind_used) {
        Some(kind) => used_of(&task).minus(kind),
        None => used_of(&task),
    };
    let list = lists::get(conn, org, stored_id(&task.list_id)?)?;
    let settings = list.settings()?;
    let policy = settings.retry_policy();
    let outcome = crate::domain::retry_policy::Outcome::Answered;
    let decision = decide(&policy, outcome, verdict, before, attempt.at);
    let change = change_of(&task, &attempt, decision);
    if outcomes::apply(conn, &task.id, Expect::Settled(state), &change, now)? {
        attempts::set_reason(conn, &attempt.id, &change.reason)?;
        announce(conn, &attempt.id, now)?;
        // A callback or retry the disposition finished: it may have been
        // the last open task.
        if !is_finished(state) && is_finished(change.state) {
            call_list_completions::note_if_done_in(conn, &list, &attempt.user_id, now)?;
        }
    }
    Ok(())
}

/// What a call's disposition (and callback time) says about its task.
fn verdict_of(
    conn: &mut DbConn,
    org: OrgId,
    disposition: Option<&str>,
    callback_at: Option<Micros>,
) -> Result<Verdict, RepoError> {
    let Some(id) = disposition else {
        return Ok(Verdict::None);
    };
    let flags = dispositions::get(conn, org, stored_id(id)?)?.flags();
    Ok(match (flags.callback, callback_at) {
        (true, Some(at)) => Verdict::Callback(at),
        _ if flags.reached || flags.do_not_call => Verdict::Completes,
        _ => Verdict::NotCompleted,
    })
}

/// Writes the `call_task` event of the attempt's task, as it is now, to
/// the one who made the attempt (whose row lock every caller already
/// holds: the dial's, the record's or the annotation's).
fn announce(conn: &mut DbConn, attempt: &str, now: Micros) -> Result<(), RepoError> {
    let Some(row) = attempts::by_id(conn, attempt)? else {
        return Ok(());
    };
    let task = tasks::by_id(conn, &row.task_id)?;
    let attempt = super::call_list_reports::to_wire(conn, slice::from_ref(&row))?.pop();
    let event = AppEvent::CallTask {
        task: Box::new(task.to_wire()?),
        attempt: attempt.map(Box::new),
    };
    app_events::record(conn, &task.org_id, &row.user_id, &event, now)
}
