//! Call lists on the wire (docs/call-lists.md): lists, their tasks, the
//! import batch and its per-row results, and the caller's next task.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::TimeWindow;
use super::WeekWindows;
use super::str_enum::str_enum;
use crate::ids::{CallListId, CallTaskId, DialId, TeamId, UserId};

str_enum! {
    /// A list's life: drafted, worked while active, paused by its owner,
    /// completed when no task is left to work, archived.
    pub enum CallListState {
        Draft => "draft",
        Active => "active",
        Paused => "paused",
        Completed => "completed",
        Archived => "archived",
    }
}

str_enum! {
    /// Preview: the salesperson confirms each call. Power: the next call
    /// is placed on the desk phone a gap after the last one ends.
    pub enum CallListMode {
        Preview => "preview",
        Power => "power",
    }
}

str_enum! {
    /// The order tasks are handed out in: highest priority first, import
    /// order, or earliest due time; ties by the oldest last attempt, then
    /// import order.
    pub enum CallListOrder {
        Priority => "priority",
        Import => "import",
        Due => "due",
    }
}

str_enum! {
    /// Where a task is.
    pub enum CallTaskState {
        /// Waiting to be leased (from `due_at` on).
        Queued => "queued",
        /// Held by a salesperson until `leased_until`.
        Leased => "leased",
        Completed => "completed",
        /// Its retries ran out.
        GaveUp => "gave_up",
        /// The number cannot exist or does not.
        Dropped => "dropped",
        /// The blocklist refuses the number: never dialled.
        Blocked => "blocked",
        /// Handed back (logout, unbind, offline) for its owner or the pool.
        Returned => "returned",
    }
}

/// One kind of outcome's retry rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryRule {
    /// Seconds before the retry (60 to 2,592,000).
    pub delay_secs: u32,
    /// Retries after the first attempt (0 to 20).
    pub max_retries: u32,
}

/// A list's retry policy; a kind left out keeps its default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicyBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy: Option<RetryRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_answer: Option<RetryRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<RetryRule>,
    /// Answered, but the disposition does not complete the task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_completed: Option<RetryRule>,
}

/// When the list dials: weekly windows and holidays in `time_zone` (the
/// organisation's dial-rules zone when absent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCallingHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    pub weekly: WeekWindows,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Who works the pool (tasks with no assignee): a team's members and
/// these users.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallListPool {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub user_ids: Vec<UserId>,
}

/// `POST /v1/call-lists`. Everything but `name` has a default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCallList {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// Seconds between one call's end and the next power-mode call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gap_secs: Option<u32>,
    /// How long a leased task stays with its holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<u32>,
    /// The least time between two calls to one number from this list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_recall_gap_secs: Option<u32>,
    /// The country national numbers in imports are read in (ISO 3166-1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_hours: Option<ListCallingHours>,
    /// Only dial while it is between `from` and `to` in every zone of the
    /// callee's country (the organisation's zone when unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_hours: Option<TimeWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryPolicyBody>,
    #[serde(default)]
    pub pool: CallListPool,
    /// How long tasks handed back (logout, unbind, offline) stay reserved
    /// for their user before the pool gets them (0 to 604,800; 0: at once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_back_hold_secs: Option<u32>,
    /// Offline longer than this hands a user's tasks back (60 to 86,400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline_return_secs: Option<u32>,
    /// How long past its time a callback waits for the salesperson who
    /// promised it before the pool may take it (0 to 604,800).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_pool_after_secs: Option<u32>,
}

impl CreateCallList {
    /// A list with only its name (everything else defaults).
    pub fn named(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            mode: None,
            order: None,
            gap_secs: None,
            lease_secs: None,
            min_recall_gap_secs: None,
            region: None,
            calling_hours: None,
            callee_hours: None,
            retry: None,
            pool: CallListPool::default(),
            hand_back_hold_secs: None,
            offline_return_secs: None,
            callback_pool_after_secs: None,
        }
    }
}

/// `PATCH /v1/call-lists/{id}`: the version read, and what changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCallList {
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

/// Tasks per state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTaskCounts {
    pub queued: i64,
    pub leased: i64,
    pub completed: i64,
    pub gave_up: i64,
    pub dropped: i64,
    pub blocked: i64,
    pub returned: i64,
}

/// A retry policy as it applies (defaults filled in).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetryPolicyView {
    pub busy: RetryRule,
    pub no_answer: RetryRule,
    pub failed: RetryRule,
    pub not_completed: RetryRule,
}

/// A call list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallList {
    pub id: CallListId,
    pub name: String,
    pub owner_id: UserId,
    pub state: CallListState,
    pub mode: CallListMode,
    pub order: CallListOrder,
    pub gap_secs: u32,
    pub lease_secs: u32,
    pub min_recall_gap_secs: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calling_hours: Option<ListCallingHours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callee_hours: Option<TimeWindow>,
    pub retry: RetryPolicyView,
    pub pool: CallListPool,
    pub hand_back_hold_secs: u32,
    pub offline_return_secs: u32,
    pub callback_pool_after_secs: u32,
    pub counts: CallTaskCounts,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One row of an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCallTask {
    /// Makes the row idempotent; without it the number does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    pub number: String,
    /// The country a national `number` is read in (else the list's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the app shows with the task (a JSON object, at most 4 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<serde_json::Value>,
    /// Higher first (-1000 to 1000, default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    /// A daily window in the callee's zones that narrows the list's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
    /// Not before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    /// Only this user works the task (else the pool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<UserId>,
}

impl ImportCallTask {
    /// A row with only its number.
    pub fn number(number: impl Into<String>) -> Self {
        Self {
            external_id: None,
            number: number.into(),
            region: None,
            name: None,
            payload: None,
            priority: None,
            window: None,
            due_at: None,
            assignee_id: None,
        }
    }
}

/// `POST /v1/call-lists/{id}/tasks`: at most 1,000 rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportCallTasks {
    pub tasks: Vec<ImportCallTask>,
}

str_enum! {
    /// What became of one imported row.
    pub enum CallTaskImportStatus {
        Created => "created",
        /// The same external id (or number) was imported before.
        Unchanged => "unchanged",
        /// Stored as `dropped`: the number cannot exist.
        Dropped => "dropped",
        /// Stored as `blocked`: the blocklist refuses the number.
        Blocked => "blocked",
        /// Not stored: the row itself is wrong (see `code`).
        Rejected => "rejected",
    }
}

/// The result of one row, in the order sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTaskImportRow {
    pub index: usize,
    pub status: CallTaskImportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<CallTaskId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The answer to an import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCallTasksResult {
    pub created: usize,
    pub unchanged: usize,
    pub dropped: usize,
    pub blocked: usize,
    pub rejected: usize,
    pub results: Vec<CallTaskImportRow>,
}

/// A task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallTask {
    pub id: CallTaskId,
    pub list_id: CallListId,
    /// Import order within the list.
    pub seq: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// As imported.
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_e164: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub payload: serde_json::Value,
    pub priority: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<TimeWindow>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<UserId>,
    pub state: CallTaskState,
    /// Why a task is dropped or blocked, or the last skip's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state_reason: Option<String>,
    pub due_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leased_by: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leased_until: Option<DateTime<Utc>>,
    /// A `returned` task: the user it came back from, who alone may lease
    /// it until `held_until`; the pool after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_for: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_until: Option<DateTime<Utc>>,
    pub attempts: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The dial placed for the task that has not ended yet: the task is on
    /// a call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_dial_id: Option<DialId>,
    pub created_at: DateTime<Utc>,
}

/// `POST /v1/me/call-list/next`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NextCallTask {
    /// Only from this list (else from every active list the caller works).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_id: Option<CallListId>,
}

/// The leased task, or none with when the next one falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextCallTaskResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<CallTask>,
    /// With no task: the earliest time a waiting task falls due, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due_at: Option<DateTime<Utc>>,
}

/// `POST /v1/me/call-list/tasks/{id}/skip`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipCallTask {
    /// Why (at most 200 characters).
    pub reason: String,
}

/// Where `POST /v1/call-lists/{id}/reassign` moves the tasks: exactly one
/// of a user, a team (spread over its enabled members in turn) or the pool.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignTarget {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    /// `true`: no assignee, the list's pool works them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<bool>,
}

/// `POST /v1/call-lists/{id}/reassign`: the unfinished tasks of
/// `from_user_id` in the list (assigned to them, leased by them, or held
/// for them) go to `to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReassignCallTasks {
    pub from_user_id: UserId,
    pub to: ReassignTarget,
}

/// How many tasks moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReassignCallTasksResult {
    pub moved: u64,
}
