//! Callbacks nobody took (docs/call-lists.md, "Hand-back and
//! reassignment"): a callback waits for the salesperson who promised it;
//! once it is overdue by the list's `callback_pool_after_secs` and they
//! have not taken it, the worker's sweep gives it to the list's pool, so
//! the callee is not left waiting. A list without a pool keeps it with
//! its salesperson (nobody else could work it).

use super::{Services, app_events};
use crate::repo::call_list_returns::{self as returns, OverdueCallback};
use crate::repo::call_list_tasks as tasks;
use crate::repo::call_lists as lists;
use crate::repo::{RepoError, stored_id, users};
use crate::time::{Micros, seconds};
use crate::wire::{AppEvent, CallListState};

/// Overdue callbacks read per page, and pages per sweep (callbacks whose
/// list's wait has not passed are paged over, not read again and again).
pub const SWEEP_BATCH: i64 = 500;
const SWEEP_PAGES: usize = 20;

/// One sweep: gives each overdue callback whose list's wait has passed to
/// the pool, each in its own transaction, and tells its salesperson
/// (a `call_task` event). Returns how many moved. Safe to run on several
/// workers at once: the move names the state it expects.
pub async fn sweep(svc: &Services, now: Micros) -> Result<usize, RepoError> {
    let mut moved = 0;
    let mut cursor: Option<(Micros, String)> = None;
    for _ in 0..SWEEP_PAGES {
        let after = cursor.clone();
        let page = svc
            .db
            .run(move |conn| returns::overdue_callbacks(conn, now, after, SWEEP_BATCH))
            .await?;
        let full = page.len() as i64 == SWEEP_BATCH;
        cursor = page.last().map(|c| (c.due_at, c.id.clone()));
        for callback in page {
            let user = callback.assignee_id.clone();
            if svc
                .db
                .write(move |conn| to_pool_in(conn, &callback, now))
                .await?
            {
                moved += 1;
                svc.relay.wake_user(stored_id(&user)?).await;
            }
        }
        if !full {
            break;
        }
    }
    Ok(moved)
}

fn to_pool_in(
    conn: &mut crate::db::DbConn,
    callback: &OverdueCallback,
    now: Micros,
) -> Result<bool, RepoError> {
    // The salesperson's row lock before the task's row (the order `next`,
    // reassignment and hand-back take them in).
    users::lock(conn, &callback.assignee_id)?;
    let list = lists::get(
        conn,
        stored_id(&callback.org_id)?,
        stored_id(&callback.list_id)?,
    )?;
    if list.state()? != CallListState::Active {
        return Ok(false);
    }
    let wait = seconds(i64::from(list.settings()?.callback_pool_after_secs));
    if callback.due_at + wait > now {
        return Ok(false);
    }
    if !returns::callback_to_pool(conn, callback, now)? {
        return Ok(false);
    }
    tracing::info!(task = %callback.id, user = %callback.assignee_id, "overdue callback given to the pool");
    let task = tasks::by_id(conn, &callback.id)?;
    let event = AppEvent::CallTask {
        task: Box::new(task.to_wire()?),
        attempt: None,
    };
    app_events::record(conn, &callback.org_id, &callback.assignee_id, &event, now)?;
    // It may have been all they had left of the list.
    super::call_list_completions::note_if_done_in(conn, &list, &callback.assignee_id, now)?;
    Ok(true)
}
