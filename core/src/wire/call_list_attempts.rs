//! Dialling a leased task, its attempts and a list's report
//! (docs/call-lists.md, "Dialling and outcomes" and "Reports").

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use super::{CallTask, CallTaskCounts, Dial};
use crate::ids::{CallAttemptId, CallListId, CallRecordId, CallTaskId, DialId, PhoneId, UserId};

str_enum! {
    /// How an attempt ended. `dialing` until its dial or call record
    /// settles it.
    pub enum CallAttemptOutcome {
        Dialing => "dialing",
        /// Handed back by the salesperson without a call.
        Skipped => "skipped",
        /// The salesperson cancelled the dial: no retry is used.
        Cancelled => "cancelled",
        Answered => "answered",
        /// Busy, or rejected by the callee.
        Busy => "busy",
        NoAnswer => "no_answer",
        /// The call failed, or the phone never dialled before the command
        /// expired.
        Failed => "failed",
        /// The network said the number does not exist: the task is dropped.
        InvalidNumber => "invalid_number",
    }
}

/// `POST /v1/me/call-list/tasks/{id}/dial`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialCallTask {
    /// Which held phone dials (needed only when holding several).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<PhoneId>,
}

/// One attempt at a task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallAttempt {
    pub id: CallAttemptId,
    pub task_id: CallTaskId,
    pub list_id: CallListId,
    pub user_id: UserId,
    pub outcome: CallAttemptOutcome,
    /// A skip's reason; for a settled dial what the task became
    /// (`retry_busy`, `completed`, `gave_up_no_answer`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_id: Option<DialId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_record_id: Option<CallRecordId>,
    /// The disposition code the call was given, once it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talk_secs: Option<i64>,
    pub at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<DateTime<Utc>>,
}

/// The dial placed for a task, and the attempt that waits for its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialCallTaskResult {
    pub task: CallTask,
    pub dial: Dial,
    pub attempt: CallAttempt,
}

/// One salesperson's share of a list's work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallListUserReport {
    pub user_id: UserId,
    /// Dialled attempts that ended (skips, cancels and calls still going
    /// not counted).
    pub attempts: i64,
    pub answered: i64,
    pub skipped: i64,
    pub talk_secs: i64,
}

impl CallListUserReport {
    /// Nothing done yet.
    pub fn new(user_id: UserId) -> Self {
        Self {
            user_id,
            attempts: 0,
            answered: 0,
            skipped: 0,
            talk_secs: 0,
        }
    }
}

/// `GET /v1/call-lists/{id}/report`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallListReport {
    pub list_id: CallListId,
    pub tasks: CallTaskCounts,
    /// Attempts per outcome (every outcome listed, zero included).
    pub outcomes: BTreeMap<String, i64>,
    /// Answered attempts per disposition code (only codes used).
    pub dispositions: BTreeMap<String, i64>,
    /// Dialled attempts that ended (skips, cancels and calls still going
    /// not counted).
    pub attempts: i64,
    pub talk_secs: i64,
    /// Per salesperson who worked the list, by id.
    pub users: Vec<CallListUserReport>,
    /// When the last open task was finished, once none is open (queued,
    /// leased or returned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<DateTime<Utc>>,
}
