//! Completion reports (docs/call-lists.md, "Progress"): when the attempt
//! that settles a salesperson's last open task of a list leaves them
//! nothing more to call there, their report goes to them and to the
//! list's owner, on the event stream and as a push, as the seed's desk
//! phone uploads its report when all numbers are done.
//!
//! The settling transaction only notes the emptied queue in an outbox
//! (`call_list_completions`); so does a `next` that finds nothing in a
//! list the user worked since their last report (a pool member may have
//! taken their last task). The worker delivers it once the list's gap
//! has passed (the time a list gives for the last call's disposition): it
//! checks the queue is still empty (a disposition may have reopened a
//! task, which then reports when it empties again), counts the report and
//! records the events, in a transaction of its own. So the settle (a
//! dial's end, a record upload) never takes a second user's row lock, and
//! a report is never lost: a worker that dies before marking it delivered
//! leaves it for the next.

use std::slice;

use super::call_list_reports::{add, zero_outcomes};
use super::{Services, app_events};
use crate::db::DbConn;
use crate::ids::{OrgId, UserId};
use crate::repo::call_list_attempts as attempts;
use crate::repo::call_list_completions::{self as completions, CompletionRow};
use crate::repo::call_list_tasks as tasks;
use crate::repo::call_lists::{self as lists, ListRow};
use crate::repo::{RepoError, stored_id, users};
use crate::time::{Micros, seconds, to_datetime};
use crate::wire::{
    AppEvent, CallListCompletion, CallListState, CallListUserReport, WebhookEventType,
};

/// Outbox rows looked at per worker step.
pub const DELIVER_BATCH: i64 = 100;

/// After an attempt of `user` took a task of `list` out of the open
/// states: when nothing of the list is left for them to call, notes it in
/// the outbox. In the attempt's transaction. Only for an active list (a
/// paused one is not being worked).
pub(super) fn note_if_done_in(
    conn: &mut DbConn,
    list: &ListRow,
    user: &str,
    now: Micros,
) -> Result<(), RepoError> {
    if list.state()? != CallListState::Active || has_open(conn, list, user, now)? {
        return Ok(());
    }
    let gap = seconds(i64::from(list.settings()?.gap_secs));
    completions::insert(
        conn,
        &CompletionRow {
            id: uuid::Uuid::now_v7().to_string(),
            org_id: list.org_id.clone(),
            list_id: list.id.clone(),
            user_id: user.to_owned(),
            report: None,
            created_at: now,
            deliver_after: now + gap,
            delivered_at: None,
        },
    )
}

/// `next` found nothing for `user` in `lists`: a queue emptied by someone
/// else (a pool member leasing the last free task) has no settle of the
/// user's own to note it, so it is noted here, for each list the user
/// attempted since their latest report. In `next`'s transaction.
pub(super) fn note_emptied_in(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    lists: &[String],
    now: Micros,
) -> Result<(), RepoError> {
    let me = user.to_string();
    for list_id in lists {
        let Some(attempted) = attempts::latest_of(conn, list_id, &me)? else {
            continue;
        };
        if completions::latest_of(conn, list_id, &me)?.is_some_and(|noted| noted >= attempted) {
            continue;
        }
        let list = lists::get(conn, org, stored_id(list_id)?)?;
        note_if_done_in(conn, &list, &me, now)?;
    }
    Ok(())
}

/// Whether `list` still has a task for `user` to call (theirs, or their
/// pool's).
fn has_open(conn: &mut DbConn, list: &ListRow, user: &str, now: Micros) -> Result<bool, RepoError> {
    let org: OrgId = stored_id(&list.org_id)?;
    let user_id: UserId = stored_id(user)?;
    let teams = users::team_ids_of(conn, &[user.to_owned()])?
        .remove(user)
        .unwrap_or_default();
    let in_pool = lists::pools_of(conn, org, user_id, &teams)?.contains(&list.id);
    tasks::has_open_for(conn, &list.id, user_id, in_pool, now)
}

/// The report of `user`'s share of `list`, as of `now`.
fn count(
    conn: &mut DbConn,
    list: &ListRow,
    user: &str,
    now: Micros,
) -> Result<CallListCompletion, RepoError> {
    let user_id: UserId = stored_id(user)?;
    let counts = lists::counts(conn, slice::from_ref(&list.id))?
        .remove(&list.id)
        .unwrap_or_default();
    let mut share = CallListUserReport::new(user_id);
    let mut outcomes = zero_outcomes();
    for t in attempts::tally(conn, &list.id)? {
        if t.user_id == user {
            add(&mut share, &t);
            *outcomes.entry(t.outcome.clone()).or_default() += t.count;
        }
    }
    Ok(CallListCompletion {
        list_id: stored_id(&list.id)?,
        list_name: list.name.clone(),
        user_id,
        user: share,
        outcomes,
        tasks: counts,
        list_completed: counts.queued + counts.leased + counts.returned == 0,
        at: to_datetime(now),
    })
}

/// What one worker step did with the outbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Reports sent.
    pub delivered: usize,
    /// Queues that had work again by then: nothing sent.
    pub reopened: usize,
}

/// Delivers the reports in the outbox whose list's gap has passed, up to
/// [`DELIVER_BATCH`], each in its own transaction: the
/// `call_list_completion` event (and its push) to the salesperson and to
/// the list's owner. A report that fails is logged and left for the next
/// step; the others go on.
pub async fn deliver_pending(svc: &Services, now: Micros) -> Result<DeliveryReport, RepoError> {
    let due = svc
        .db
        .run(move |conn| completions::due(conn, now, DELIVER_BATCH))
        .await?;
    let mut report = DeliveryReport::default();
    for row in due {
        let id = row.id.clone();
        match svc.db.write(move |conn| deliver_in(conn, &row, now)).await {
            Ok(Delivery::Sent(recipients)) => {
                report.delivered += 1;
                for user in recipients {
                    svc.relay.wake_user(user).await;
                }
            }
            Ok(Delivery::Reopened) => report.reopened += 1,
            Ok(Delivery::Taken) => {}
            Err(e) => {
                tracing::error!(completion = %id, error = %e, "completion report not delivered; trying again at the next step")
            }
        }
    }
    Ok(report)
}

enum Delivery {
    /// Another worker had it.
    Taken,
    /// The queue had work again: nothing sent.
    Reopened,
    /// Sent to these users.
    Sent(Vec<UserId>),
}

fn deliver_in(conn: &mut DbConn, row: &CompletionRow, now: Micros) -> Result<Delivery, RepoError> {
    let list = lists::get(conn, stored_id(&row.org_id)?, stored_id(&row.list_id)?)?;
    // Both users' row locks before anything else, in id order, so two
    // deliveries never wait on each other crosswise; the salesperson's
    // also keeps their `next` from changing the queue under the look.
    let mut recipients = vec![row.user_id.clone(), list.owner_id.clone()];
    recipients.sort();
    recipients.dedup();
    for user in &recipients {
        users::lock(conn, user)?;
    }
    if has_open(conn, &list, &row.user_id, now)? {
        return Ok(if completions::mark_delivered(conn, row, None, now)? {
            Delivery::Reopened
        } else {
            Delivery::Taken
        });
    }
    let completion = count(conn, &list, &row.user_id, now)?;
    let json = serde_json::to_string(&completion)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable completion: {e}")))?;
    if !completions::mark_delivered(conn, row, Some(&json), now)? {
        return Ok(Delivery::Taken);
    }
    let data = serde_json::to_value(&completion)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable completion: {e}")))?;
    super::webhook_outbox::enqueue_in(
        conn,
        &row.org_id,
        &[super::webhook_outbox::Event {
            kind: WebhookEventType::CallListCompleted,
            ordering_key: row.list_id.clone(),
            data,
        }],
        now,
    )?;
    let event = AppEvent::CallListCompletion {
        completion: Box::new(completion),
    };
    for user in &recipients {
        app_events::record(conn, &row.org_id, user, &event, now)?;
    }
    Ok(Delivery::Sent(
        recipients
            .iter()
            .map(|u| stored_id(u))
            .collect::<Result<_, _>>()?,
    ))
}
