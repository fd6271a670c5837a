//! Working call lists from the app (docs/call-lists.md): the next task to
//! call, dialling it from the desk phone and skipping one. Managing lists belongs to the console (the Rust
//! client has those methods too).

use std::time::SystemTime;

use deskbind_mobile::wire;

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::{DialInfo, id, instant};

/// A task of a call list. `state` is its wire name (`queued`, `leased`,
/// `completed`, `gave_up`, `dropped`, `blocked`, `returned`); `payload_json`
/// the JSON object the manager imported with it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallTaskInfo {
    pub id: String,
    pub list_id: String,
    pub external_id: Option<String>,
    pub number: String,
    pub number_e164: Option<String>,
    pub name: Option<String>,
    pub payload_json: String,
    pub priority: i32,
    pub state: String,
    pub state_reason: Option<String>,
    pub due_at: SystemTime,
    pub leased_until: Option<SystemTime>,
    pub attempts: i64,
    /// The dial placed for the task that has not ended yet.
    pub open_dial_id: Option<String>,
}

impl From<wire::CallTask> for CallTaskInfo {
    fn from(t: wire::CallTask) -> Self {
        Self {
            id: t.id.to_string(),
            list_id: t.list_id.to_string(),
            external_id: t.external_id,
            number: t.number,
            number_e164: t.number_e164,
            name: t.name,
            payload_json: t.payload.to_string(),
            priority: t.priority,
            state: t.state.as_str().to_owned(),
            state_reason: t.state_reason,
            due_at: instant(t.due_at),
            leased_until: t.leased_until.map(instant),
            attempts: t.attempts,
            open_dial_id: t.open_dial_id.map(|d| d.to_string()),
        }
    }
}

/// A salesperson's queue of a list emptied (docs/call-lists.md,
/// "Progress"): their share of the work. Sent to them and to the list's
/// owner; `list_completed` when no task of the list is open any more.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallListCompletionInfo {
    pub list_id: String,
    pub list_name: String,
    pub user_id: String,
    pub attempts: i64,
    pub answered: i64,
    pub skipped: i64,
    pub talk_secs: i64,
    pub list_completed: bool,
    pub at: SystemTime,
}

impl From<wire::CallListCompletion> for CallListCompletionInfo {
    fn from(c: wire::CallListCompletion) -> Self {
        Self {
            list_id: c.list_id.to_string(),
            list_name: c.list_name,
            user_id: c.user_id.to_string(),
            attempts: c.user.attempts,
            answered: c.user.answered,
            skipped: c.user.skipped,
            talk_secs: c.user.talk_secs,
            list_completed: c.list_completed,
            at: instant(c.at),
        }
    }
}

/// One of the user's tasks moved (the stream's `call_task` event): dialled
/// (its attempt `dialing`), settled by its call, or decided again by a
/// disposition (then without an attempt).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallTaskEventInfo {
    /// The task as it is now.
    pub task: CallTaskInfo,
    pub attempt_id: Option<String>,
    /// The attempt's outcome: `dialing`, `answered`, `busy`, `no_answer`,
    /// `invalid_number`, `failed`, `cancelled`, `skipped`.
    pub outcome: Option<String>,
    /// What the attempt made of the task (`retry_busy`, `completed`, ...).
    pub reason: Option<String>,
}

impl CallTaskEventInfo {
    pub(crate) fn new(task: wire::CallTask, attempt: Option<wire::CallAttempt>) -> Self {
        Self {
            task: task.into(),
            attempt_id: attempt.as_ref().map(|a| a.id.to_string()),
            outcome: attempt.as_ref().map(|a| a.outcome.as_str().to_owned()),
            reason: attempt.and_then(|a| a.reason),
        }
    }
}

/// The leased task, or none and when the next one falls due.
#[derive(Debug, Clone, uniffi::Record)]
pub struct NextCallTaskInfo {
    pub task: Option<CallTaskInfo>,
    pub next_due_at: Option<SystemTime>,
}

/// A task's dial: the task on its call, and the dial command the phone
/// was sent (follow it like any dial).
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallTaskDialInfo {
    pub task: CallTaskInfo,
    pub dial: DialInfo,
    /// The attempt's id; its outcome comes from the call.
    pub attempt_id: String,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Leases the next task to call now (from `list_id` only, when given).
    /// Asking again while holding one renews and returns it.
    pub async fn next_call_task(&self, list_id: Option<String>) -> Result<NextCallTaskInfo> {
        let list = list_id.as_deref().map(|l| id("list_id", l)).transpose()?;
        let next = done(self.inner().next_call_task(list).await)?;
        Ok(NextCallTaskInfo {
            task: next.task.map(CallTaskInfo::from),
            next_due_at: next.next_due_at.map(instant),
        })
    }

    /// Hands a leased task back with a reason (at most 200 characters).
    pub async fn skip_call_task(&self, task_id: String, reason: String) -> Result<CallTaskInfo> {
        let task = id("task_id", &task_id)?;
        done(self.inner().skip_call_task(task, &reason).await).map(CallTaskInfo::from)
    }

    /// Dials the leased task from the bound desk phone (`phone_id` when
    /// holding several). Asking again while it is on that call returns the
    /// same dial.
    pub async fn dial_call_task(
        &self,
        task_id: String,
        phone_id: Option<String>,
    ) -> Result<CallTaskDialInfo> {
        let task = id("task_id", &task_id)?;
        let phone = phone_id.as_deref().map(|p| id("phone_id", p)).transpose()?;
        let dialled = done(self.inner().dial_call_task(task, phone).await)?;
        Ok(CallTaskDialInfo {
            task: dialled.task.into(),
            dial: dialled.dial.into(),
            attempt_id: dialled.attempt.id.to_string(),
        })
    }
}
