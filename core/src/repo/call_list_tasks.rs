//! The `call_list_tasks` table
//! (docs/call-lists.md, decision 0031): tasks stored by import, read in a
//! list's order for leasing, and moved between states with conditional
//! updates (a lease only takes a task that is free at that moment).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::call_list_tasks;
use crate::domain::calling_hours::Window;
use crate::ids::{CallListId, CallTaskId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{CallListOrder, CallTask, CallTaskState, TimeWindow};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_list_tasks)]
#[diesel(treat_none_as_default_value = false)]
pub struct TaskRow {
    pub id: String,
    pub list_id: String,
    pub org_id: String,
    pub seq: i64,
    pub dedupe_key: String,
    pub external_id: Option<String>,
    pub number: String,
    pub number_e164: Option<String>,
    pub name: Option<String>,
    pub payload: String,
    pub priority: i64,
    pub window_from: Option<i64>,
    pub window_to: Option<i64>,
    pub assignee_id: Option<String>,
    pub state: String,
    pub state_reason: Option<String>,
    pub due_at: i64,
    pub leased_by: Option<String>,
    pub leased_until: Option<i64>,
    pub attempts: i64,
    pub busy_retries: i64,
    pub no_answer_retries: i64,
    pub failed_retries: i64,
    pub not_completed_retries: i64,
    pub last_attempt_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub open_dial_id: Option<String>,
    pub held_for: Option<String>,
    pub held_until: Option<i64>,
}

fn hhmm(minute: i64) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

impl TaskRow {
    /// The task's own daily window, if it has one.
    pub fn window(&self) -> Option<Window> {
        match (self.window_from, self.window_to) {
            (Some(from), Some(to)) => Some(Window {
                from: u32::try_from(from).ok()?,
                to: u32::try_from(to).ok()?,
            }),
            _ => None,
        }
    }

    pub fn state(&self) -> Result<CallTaskState, RepoError> {
        CallTaskState::parse(&self.state)
            .ok_or_else(|| RepoError::Corrupt(format!("task {} state {:?}", self.id, self.state)))
    }

    pub fn to_wire(&self) -> Result<CallTask, RepoError> {
        Ok(CallTask {
            id: stored_id(&self.id)?,
            list_id: stored_id(&self.list_id)?,
            seq: self.seq,
            external_id: self.external_id.clone(),
            number: self.number.clone(),
            number_e164: self.number_e164.clone(),
            name: self.name.clone(),
            payload: serde_json::from_str(&self.payload)
                .map_err(|e| RepoError::Corrupt(format!("task {} payload: {e}", self.id)))?,
            priority: i32::try_from(self.priority)
                .map_err(|_| RepoError::Corrupt(format!("task {} priority", self.id)))?,
            window: self.window().map(|w| TimeWindow {
                from: hhmm(i64::from(w.from)),
                to: hhmm(i64::from(w.to)),
            }),
            assignee_id: self.assignee_id.as_deref().map(stored_id).transpose()?,
            state: self.state()?,
            state_reason: self.state_reason.clone(),
            due_at: to_datetime(self.due_at),
            leased_by: self.leased_by.as_deref().map(stored_id).transpose()?,
            leased_until: self.leased_until.map(to_datetime),
            held_for: self.held_for.as_deref().map(stored_id).transpose()?,
            held_until: self.held_until.map(to_datetime),
            attempts: self.attempts,
            last_attempt_at: self.last_attempt_at.map(to_datetime),
            open_dial_id: self.open_dial_id.as_deref().map(stored_id).transpose()?,
            created_at: to_datetime(self.created_at),
        })
    }
}

/// The task of `list` with this dedupe key, if imported before.
pub fn by_dedupe_key(
    conn: &mut DbConn,
    list: &str,
    key: &str,
) -> Result<Option<TaskRow>, RepoError> {
    Ok(call_list_tasks::table
        .filter(call_list_tasks::list_id.eq(list))
        .filter(call_list_tasks::dedupe_key.eq(key))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, row: &TaskRow) -> Result<(), RepoError> {
    diesel::insert_into(call_list_tasks::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A task of the organisation's list `list`; `NotFound` otherwise.
pub fn get(conn: &mut DbConn, org: &str, id: CallTaskId) -> Result<TaskRow, RepoError> {
    Ok(call_list_tasks::table
        .filter(call_list_tasks::id.eq(id.to_string()))
        .filter(call_list_tasks::org_id.eq(org))
        .select(TaskRow::as_select())
        .first(conn)?)
}

/// A page of a list's tasks in import order, after the `seq` cursor.
pub fn page(
    conn: &mut DbConn,
    list: CallListId,
    state: Option<CallTaskState>,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<TaskRow>, RepoError> {
    let mut query = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq(list.to_string()))
        .select(TaskRow::as_select())
        .order(call_list_tasks::seq.asc())
        .limit(limit)
        .into_boxed();
    if let Some(state) = state {
        query = query.filter(call_list_tasks::state.eq(state.as_str()));
    }
    if let Some(after) = after_seq {
        query = query.filter(call_list_tasks::seq.gt(after));
    }
    Ok(query.load(conn)?)
}

/// The live lease `user` holds (or the task they are on a call for), if
/// any.
pub fn held_by(conn: &mut DbConn, user: UserId, now: Micros) -> Result<Option<TaskRow>, RepoError> {
    Ok(call_list_tasks::table
        .filter(call_list_tasks::leased_by.eq(user.to_string()))
        .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()))
        .filter(
            call_list_tasks::leased_until
                .gt(now)
                .or(call_list_tasks::open_dial_id.is_not_null()),
        )
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?)
}

type Boxed = call_list_tasks::BoxedQuery<
    'static,
    crate::db::DbBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<TaskRow, crate::db::DbBackend>>,
>;

/// The due tasks of `list` in the list's order, at most `limit`.
fn due_in_order(list: &str, order: CallListOrder, now: Micros, limit: i64) -> Boxed {
    // `due_at + 0`: no index range on the due time, so the planner reads
    // the list's order index (migration 000029) and stops after `limit`,
    // instead of taking the due range and sorting all of it.
    let due = sql::<BigInt>("(call_list_tasks.due_at + 0)").le(now);
    let query = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq(list.to_owned()))
        .filter(due)
        .select(TaskRow::as_select())
        .limit(limit)
        .into_boxed();
    // Ties by the oldest last attempt (never attempted first), then
    // import order.
    let last_attempt = sql::<BigInt>("COALESCE(call_list_tasks.last_attempt_at, 0)");
    match order {
        CallListOrder::Priority => query.order((
            call_list_tasks::priority.desc(),
            last_attempt.asc(),
            call_list_tasks::seq.asc(),
        )),
        // Import order is unique: no ties.
        CallListOrder::Import => query.order(call_list_tasks::seq.asc()),
        CallListOrder::Due => query.order((
            call_list_tasks::due_at.asc(),
            last_attempt.asc(),
            call_list_tasks::seq.asc(),
        )),
    }
}

/// Up to `limit` tasks of `list` that `user` may lease at `now`, in the
/// list's order, the ones handed back and still held for `user` first
/// (they come back to them before anything else of the list); then the
/// due and free ones: queued, or leased with the lease run out, assigned
/// to `user` or (when `in_pool`) to nobody, and (when `in_pool`) returned
/// ones whose hold has passed. Call with the list's row lock held
/// (`call_lists::lock`): leases of one list are serialised.
pub fn lease_candidates(
    conn: &mut DbConn,
    list: &str,
    order: CallListOrder,
    user: UserId,
    in_pool: bool,
    now: Micros,
    limit: i64,
) -> Result<Vec<TaskRow>, RepoError> {
    let me = user.to_string();
    // Few tasks are returned: the plain due filter lets the planner take
    // the `(list_id, state, due_at)` range instead of walking the order
    // index over the whole list (50 ms at 100,000 tasks).
    let mut out: Vec<TaskRow> = due_in_order(list, order, now, limit)
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .filter(call_list_tasks::due_at.le(now))
        .filter(call_list_tasks::held_for.eq(me.clone()))
        .filter(call_list_tasks::held_until.gt(now))
        .load(conn)?;
    let rest = limit - out.len() as i64;
    if rest <= 0 {
        return Ok(out);
    }
    // A task on a call stays with its holder until the call ends.
    let free = call_list_tasks::open_dial_id.is_null().and(
        call_list_tasks::state
            .eq(CallTaskState::Queued.as_str())
            .or(call_list_tasks::state
                .eq(CallTaskState::Leased.as_str())
                .and(call_list_tasks::leased_until.le(now))),
    );
    let query = due_in_order(list, order, now, rest);
    let query = if in_pool {
        query.filter(
            free.and(
                call_list_tasks::assignee_id
                    .eq(me)
                    .or(call_list_tasks::assignee_id.is_null()),
            )
            .or(call_list_tasks::state
                .eq(CallTaskState::Returned.as_str())
                .and(call_list_tasks::held_until.le(now))),
        )
    } else {
        query.filter(free.and(call_list_tasks::assignee_id.eq(me)))
    };
    out.extend(query.load(conn)?);
    Ok(out)
}

/// Leases the task to `user` until `until` if it is still theirs to take
/// at `now`; `false` when someone else took it first. Each UPDATE names
/// the state it expects: a free task (queued, or its lease run out); a
/// returned one held for `user` (its assignee stays); a returned one whose
/// hold has passed (the pool takes it: its assignee is cleared).
pub fn lease(
    conn: &mut DbConn,
    id: &str,
    user: UserId,
    now: Micros,
    until: Micros,
) -> Result<bool, RepoError> {
    let me = user.to_string();
    let leased = (
        call_list_tasks::state.eq(CallTaskState::Leased.as_str()),
        call_list_tasks::leased_by.eq(Some(me.clone())),
        call_list_tasks::leased_until.eq(Some(until)),
        call_list_tasks::held_for.eq(None::<String>),
        call_list_tasks::held_until.eq(None::<i64>),
        call_list_tasks::updated_at.eq(now),
    );
    let due = || {
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id.to_owned()))
            .filter(call_list_tasks::due_at.le(now))
    };
    // A task on a call stays with its holder until the call ends.
    let free = call_list_tasks::open_dial_id.is_null().and(
        call_list_tasks::state
            .eq(CallTaskState::Queued.as_str())
            .or(call_list_tasks::state
                .eq(CallTaskState::Leased.as_str())
                .and(call_list_tasks::leased_until.le(now))),
    );
    if diesel::update(due().filter(free))
        .set(leased.clone())
        .execute(conn)?
        == 1
    {
        return Ok(true);
    }
    let returned = call_list_tasks::state.eq(CallTaskState::Returned.as_str());
    let held_for_me = due()
        .filter(returned)
        .filter(call_list_tasks::held_for.eq(me))
        .filter(call_list_tasks::held_until.gt(now));
    if diesel::update(held_for_me)
        .set(leased.clone())
        .execute(conn)?
        == 1
    {
        return Ok(true);
    }
    let hold_passed = due()
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .filter(call_list_tasks::held_until.le(now));
    let n = diesel::update(hold_passed)
        .set((leased, call_list_tasks::assignee_id.eq(None::<String>)))
        .execute(conn)?;
    Ok(n == 1)
}

/// Extends `user`'s live lease of the task to `until`; `false` when the
/// lease is no longer theirs or has run out (a task on a call is theirs
/// until the call ends).
pub fn renew(
    conn: &mut DbConn,
    id: &str,
    user: UserId,
    until: Micros,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()))
            .filter(call_list_tasks::leased_by.eq(user.to_string()))
            .filter(
                call_list_tasks::leased_until
                    .gt(now)
                    .or(call_list_tasks::open_dial_id.is_not_null()),
            ),
    )
    .set((
        call_list_tasks::leased_until.eq(Some(until)),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Sets when a free task may next be leased (a window not open yet, a
/// recall gap), with the reason; a lease that ran out is cleared. A
/// returned task stays returned (and held for whom it was): only its due
/// time moves.
pub fn defer(
    conn: &mut DbConn,
    id: &str,
    due_at: Micros,
    reason: &str,
    now: Micros,
) -> Result<(), RepoError> {
    let returned = diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str())),
    )
    .set((
        call_list_tasks::due_at.eq(due_at),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    if returned == 1 {
        return Ok(());
    }
    // Only a task still free: its holder may have dialled it (or renewed
    // it) since it was read as a candidate.
    let free = call_list_tasks::state
        .eq(CallTaskState::Queued.as_str())
        .and(call_list_tasks::open_dial_id.is_null())
        .or(call_list_tasks::state
            .eq(CallTaskState::Leased.as_str())
            .and(call_list_tasks::leased_until.le(now))
            .and(call_list_tasks::open_dial_id.is_null()));
    diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(free),
    )
    .set((
        call_list_tasks::state.eq(CallTaskState::Queued.as_str()),
        call_list_tasks::leased_by.eq(None::<String>),
        call_list_tasks::leased_until.eq(None::<i64>),
        call_list_tasks::due_at.eq(due_at),
        call_list_tasks::state_reason.eq(Some(reason)),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(())
}

/// Gives a leased task back to the queue, due at `due_at`, if `user`
/// holds its live lease; `false` otherwise.
pub fn release(
    conn: &mut DbConn,
    id: &str,
    user: UserId,
    due_at: Micros,
    reason: &str,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_tasks::table
            .filter(call_list_tasks::id.eq(id))
            .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()))
            .filter(call_list_tasks::leased_by.eq(user.to_string()))
            .filter(call_list_tasks::leased_until.gt(now))
            .filter(call_list_tasks::open_dial_id.is_null()),
    )
    .set((
        call_list_tasks::state.eq(CallTaskState::Queued.as_str()),
        call_list_tasks::leased_by.eq(None::<String>),
        call_list_tasks::leased_until.eq(None::<i64>),
        call_list_tasks::due_at.eq(due_at),
        call_list_tasks::state_reason.eq(Some(reason)),
        call_list_tasks::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// The earliest time a task of `lists` falls due for `user`: queued ones
/// assigned to them (or in the pool when the list is in `pools`), returned
/// ones held for them (while held at `now`), and returned ones of `pools`
/// once their hold ends.
pub fn next_due(
    conn: &mut DbConn,
    lists: &[String],
    pools: &[String],
    user: UserId,
    now: Micros,
) -> Result<Option<Micros>, RepoError> {
    let me = user.to_string();
    let queued: Option<i64> = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq_any(lists))
        .filter(call_list_tasks::state.eq(CallTaskState::Queued.as_str()))
        .filter(
            call_list_tasks::assignee_id
                .eq(me.clone())
                .or(call_list_tasks::assignee_id
                    .is_null()
                    .and(call_list_tasks::list_id.eq_any(pools))),
        )
        .select(diesel::dsl::min(call_list_tasks::due_at))
        .first(conn)?;
    let held: Option<i64> = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq_any(lists))
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .filter(call_list_tasks::held_for.eq(me))
        .filter(call_list_tasks::held_until.gt(now))
        .select(diesel::dsl::min(call_list_tasks::due_at))
        .first(conn)?;
    // For the pool a returned task falls due when both its due time and
    // its hold have passed.
    let pooled: Option<i64> = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq_any(pools))
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .select(sql::<diesel::sql_types::Nullable<BigInt>>(
            "MIN(CASE WHEN call_list_tasks.held_until > call_list_tasks.due_at \
             THEN call_list_tasks.held_until ELSE call_list_tasks.due_at END)",
        ))
        .first(conn)?;
    Ok([queued, held, pooled].into_iter().flatten().min())
}

/// The lists among `lists` that have a task assigned to `user`, or
/// handed back and held for them.
pub fn lists_assigning(
    conn: &mut DbConn,
    lists: &[String],
    user: UserId,
) -> Result<Vec<String>, RepoError> {
    let me = user.to_string();
    // Two queries, one per column's index: with the OR in one, SQLite
    // scanned every task of the lists (8 ms per `next` at 20,000 tasks).
    let mut assigning: Vec<String> = call_list_tasks::table
        .filter(call_list_tasks::assignee_id.eq(me.clone()))
        .filter(call_list_tasks::list_id.eq_any(lists))
        .select(call_list_tasks::list_id)
        .distinct()
        .load(conn)?;
    assigning.extend(
        call_list_tasks::table
            .filter(call_list_tasks::held_for.eq(me))
            .filter(call_list_tasks::list_id.eq_any(lists))
            .select(call_list_tasks::list_id)
            .distinct()
            .load::<String>(conn)?,
    );
    assigning.sort();
    assigning.dedup();
    Ok(assigning)
}

/// A task by id, whatever its organisation (for outcomes reached through
/// a row that names it).
pub fn by_id(conn: &mut DbConn, id: &str) -> Result<TaskRow, RepoError> {
    Ok(call_list_tasks::table
        .filter(call_list_tasks::id.eq(id))
        .select(TaskRow::as_select())
        .first(conn)?)
}

/// Whether `list` still has an open task for `user` at `now`: assigned to
/// them (queued or leased), leased by them, handed back and still held
/// for them, or (when they work
/// the list's pool) a free pool task or a returned one whose hold passed.
/// Tasks other people hold are not theirs. Each probe is one indexed
/// EXISTS.
pub fn has_open_for(
    conn: &mut DbConn,
    list: &str,
    user: UserId,
    in_pool: bool,
    now: Micros,
) -> Result<bool, RepoError> {
    use diesel::dsl::{exists, select};
    let me = user.to_string();
    let queued_or_leased = [
        CallTaskState::Queued.as_str(),
        CallTaskState::Leased.as_str(),
    ];
    let in_list = || call_list_tasks::table.filter(call_list_tasks::list_id.eq(list.to_owned()));
    // A returned task is theirs only while held for them (then the pool's:
    // `lease_candidates` offers it to nobody else before).
    let mine = in_list()
        .filter(call_list_tasks::assignee_id.eq(me.clone()))
        .filter(call_list_tasks::state.eq_any(queued_or_leased));
    let leased = in_list()
        .filter(call_list_tasks::leased_by.eq(me.clone()))
        .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()));
    let held = in_list()
        .filter(call_list_tasks::held_for.eq(me))
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .filter(call_list_tasks::held_until.gt(now));
    if select(exists(mine)).get_result(conn)?
        || select(exists(leased)).get_result(conn)?
        || select(exists(held)).get_result(conn)?
    {
        return Ok(true);
    }
    if !in_pool {
        return Ok(false);
    }
    // One state per query: each reads `(assignee_id, list_id, state)`
    // (an OR across states made SQLite walk every pool task of the list).
    let free_queued = in_list()
        .filter(call_list_tasks::assignee_id.is_null())
        .filter(call_list_tasks::state.eq(CallTaskState::Queued.as_str()));
    let lease_lapsed = in_list()
        .filter(call_list_tasks::assignee_id.is_null())
        .filter(call_list_tasks::state.eq(CallTaskState::Leased.as_str()))
        .filter(call_list_tasks::leased_until.le(now))
        .filter(call_list_tasks::open_dial_id.is_null());
    let hold_passed = in_list()
        .filter(call_list_tasks::state.eq(CallTaskState::Returned.as_str()))
        .filter(call_list_tasks::held_until.le(now));
    Ok(select(exists(free_queued)).get_result(conn)?
        || select(exists(lease_lapsed)).get_result(conn)?
        || select(exists(hold_passed)).get_result(conn)?)
}
