//! What came of a call list (docs/call-lists.md, "Reports"): its tasks per
//! state, its attempts per outcome, disposition and salesperson, talk time
//! and when it was finished; and its attempts one by one.

use std::collections::BTreeMap;

use super::Services;
use super::call_lists::Manager;
use crate::ids::{CallListId, CallTaskId};
use crate::repo::call_list_attempts::{self as attempts, AttemptRow, OutcomeTally};
use crate::repo::{RepoError, call_lists as lists, stored_id};
use crate::time::to_datetime;
use crate::wire::{CallAttempt, CallAttemptOutcome, CallListReport, CallListUserReport, Page};

/// Whether an outcome is a dialled call that ended (skips, cancelled dials
/// and calls still going are not counted).
fn dialled(outcome: &str) -> bool {
    !matches!(
        CallAttemptOutcome::parse(outcome),
        Some(
            CallAttemptOutcome::Skipped
                | CallAttemptOutcome::Cancelled
                | CallAttemptOutcome::Dialing
        ) | None
    )
}

/// Every outcome, counted zero.
pub(super) fn zero_outcomes() -> BTreeMap<String, i64> {
    CallAttemptOutcome::ALL
        .iter()
        .map(|o| (o.as_str().to_owned(), 0))
        .collect()
}

/// Counts one tally row of the user's attempts into their share.
pub(super) fn add(user: &mut CallListUserReport, t: &OutcomeTally) {
    if dialled(&t.outcome) {
        user.attempts += t.count;
    }
    if t.outcome == CallAttemptOutcome::Answered.as_str() {
        user.answered += t.count;
    }
    if t.outcome == CallAttemptOutcome::Skipped.as_str() {
        user.skipped += t.count;
    }
    user.talk_secs += t.talk_secs;
}

/// The list's report, as of now.
pub async fn report(
    svc: &Services,
    by: Manager,
    id: CallListId,
) -> Result<CallListReport, RepoError> {
    svc.db
        .run(move |conn| {
            let list = by.list_in(conn, id)?;
            let tasks = lists::counts(conn, std::slice::from_ref(&list.id))?
                .remove(&list.id)
                .unwrap_or_default();
            let mut outcomes = zero_outcomes();
            let mut users: BTreeMap<String, CallListUserReport> = BTreeMap::new();
            let (mut total, mut talk) = (0, 0);
            for t in attempts::tally(conn, &list.id)? {
                *outcomes.entry(t.outcome.clone()).or_default() += t.count;
                let user = match users.entry(t.user_id.clone()) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(CallListUserReport::new(stored_id(&t.user_id)?))
                    }
                };
                add(user, &t);
                if dialled(&t.outcome) {
                    total += t.count;
                }
                talk += t.talk_secs;
            }
            let open = tasks.queued + tasks.leased + tasks.returned;
            let completed_at = if open == 0 {
                attempts::last_settled(conn, &list.id)?.map(to_datetime)
            } else {
                None
            };
            Ok(CallListReport {
                list_id: stored_id(&list.id)?,
                tasks,
                outcomes,
                dispositions: attempts::disposition_tally(conn, &list.id)?
                    .into_iter()
                    .collect(),
                attempts: total,
                talk_secs: talk,
                users: users.into_values().collect(),
                completed_at,
            })
        })
        .await
}

/// A page of the list's attempts, oldest first (of one task when given).
pub async fn attempts_page(
    svc: &Services,
    by: Manager,
    id: CallListId,
    task: Option<CallTaskId>,
    cursor: Option<String>,
    limit: u32,
) -> Result<Page<CallAttempt>, RepoError> {
    svc.db
        .run(move |conn| {
            let list = by.list_in(conn, id)?;
            let task = task.map(|t| t.to_string());
            let mut rows = attempts::page(
                conn,
                stored_id(&list.id)?,
                task.as_deref(),
                cursor.as_deref(),
                i64::from(limit) + 1,
            )?;
            let more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let next_cursor = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
            Ok(Page {
                items: to_wire(conn, &rows)?,
                next_cursor,
            })
        })
        .await
}

/// Attempts in their wire form, with their disposition codes.
pub fn to_wire(
    conn: &mut crate::db::DbConn,
    rows: &[AttemptRow],
) -> Result<Vec<CallAttempt>, RepoError> {
    let ids: Vec<String> = rows
        .iter()
        .filter_map(|r| r.disposition_id.clone())
        .collect();
    let codes = attempts::disposition_codes(conn, &ids)?;
    rows.iter()
        .map(|r| {
            let code = r
                .disposition_id
                .as_ref()
                .and_then(|d| codes.get(d).cloned());
            r.to_wire(code)
        })
        .collect()
}
