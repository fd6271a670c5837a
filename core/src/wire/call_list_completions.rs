//! A salesperson's queue of a call list emptied (docs/call-lists.md,
//! "Progress"): the completion report sent to them and to the list's
//! owner, on the event stream and as a push.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{CallListUserReport, CallTaskCounts};
use crate::ids::{CallListId, UserId};

/// The report of one emptied queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallListCompletion {
    pub list_id: CallListId,
    pub list_name: String,
    /// Whose queue emptied.
    pub user_id: UserId,
    /// Their share of the list's work, as the list's report counts it.
    pub user: CallListUserReport,
    /// Their attempts per outcome (every outcome listed, zero included).
    pub outcomes: BTreeMap<String, i64>,
    /// The list's tasks per state when the queue emptied.
    pub tasks: CallTaskCounts,
    /// No task of the list is open (queued, leased or returned) any more:
    /// the whole list is done, not only this salesperson's queue.
    pub list_completed: bool,
    pub at: DateTime<Utc>,
}
