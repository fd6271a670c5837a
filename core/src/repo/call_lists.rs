//! The `call_lists` and `call_list_members` tables (docs/call-lists.md):
//! a list's row with its settings as JSON, its version (bumped by every
//! change, compared by `PATCH`) and the users of its pool.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{call_list_members, call_list_tasks, call_lists};
use crate::domain::call_lists::Settings;
use crate::ids::{CallListId, OrgId, TeamId, UserId};
use crate::time::Micros;
use crate::wire::{CallListMode, CallListOrder, CallListState, CallTaskCounts, CallTaskState};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_lists)]
#[diesel(treat_none_as_default_value = false)]
pub struct ListRow {
    pub id: String,
    pub org_id: String,
    pub owner_id: String,
    pub name: String,
    pub state: String,
    pub mode: String,
    pub order_by: String,
    pub settings: String,
    pub pool_team_id: Option<String>,
    pub version: i64,
    pub next_seq: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

impl ListRow {
    pub fn state(&self) -> Result<CallListState, RepoError> {
        CallListState::parse(&self.state).ok_or_else(|| {
            RepoError::Corrupt(format!("call list {} state {:?}", self.id, self.state))
        })
    }

    pub fn mode(&self) -> Result<CallListMode, RepoError> {
        CallListMode::parse(&self.mode).ok_or_else(|| {
            RepoError::Corrupt(format!("call list {} mode {:?}", self.id, self.mode))
        })
    }

    pub fn order(&self) -> Result<CallListOrder, RepoError> {
        CallListOrder::parse(&self.order_by).ok_or_else(|| {
            RepoError::Corrupt(format!("call list {} order {:?}", self.id, self.order_by))
        })
    }

    pub fn settings(&self) -> Result<Settings, RepoError> {
        serde_json::from_str(&self.settings)
            .map_err(|e| RepoError::Corrupt(format!("call list {} settings: {e}", self.id)))
    }
}

pub fn insert(conn: &mut DbConn, row: &ListRow, members: &[UserId]) -> Result<(), RepoError> {
    diesel::insert_into(call_lists::table)
        .values(row)
        .execute(conn)?;
    set_members(conn, &row.id, members)
}

fn set_members(conn: &mut DbConn, list: &str, members: &[UserId]) -> Result<(), RepoError> {
    diesel::delete(call_list_members::table.filter(call_list_members::list_id.eq(list)))
        .execute(conn)?;
    let mut ids: Vec<String> = members.iter().map(ToString::to_string).collect();
    ids.sort();
    ids.dedup();
    let rows: Vec<_> = ids
        .into_iter()
        .map(|user| {
            (
                call_list_members::list_id.eq(list.to_owned()),
                call_list_members::user_id.eq(user),
            )
        })
        .collect();
    if !rows.is_empty() {
        crate::db::dialect::insert_batch(
            conn,
            diesel::insert_into(call_list_members::table).values(rows),
        )?;
    }
    Ok(())
}

/// A list of `org`; `NotFound` for any other.
pub fn get(conn: &mut DbConn, org: OrgId, id: CallListId) -> Result<ListRow, RepoError> {
    Ok(call_lists::table
        .filter(call_lists::id.eq(id.to_string()))
        .filter(call_lists::org_id.eq(org.to_string()))
        .select(ListRow::as_select())
        .first(conn)?)
}

/// Takes the list's row lock for the rest of the transaction (PostgreSQL;
/// SQLite's write transaction already serialises): leases of one list and
/// changes to it go one at a time.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(call_lists::table.filter(call_lists::id.eq(id)))
        .set(call_lists::version.eq(call_lists::version))
        .execute(conn)?;
    Ok(())
}

/// A page of the organisation's lists, newest first, after the cursor
/// (a list id); `owner`: only that user's.
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    owner: Option<UserId>,
    state: Option<CallListState>,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<ListRow>, RepoError> {
    let mut query = call_lists::table
        .filter(call_lists::org_id.eq(org.to_string()))
        .select(ListRow::as_select())
        .order(call_lists::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(owner) = owner {
        query = query.filter(call_lists::owner_id.eq(owner.to_string()));
    }
    if let Some(state) = state {
        query = query.filter(call_lists::state.eq(state.as_str()));
    }
    if let Some(before) = before {
        query = query.filter(call_lists::id.lt(before.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// The users of a list's pool named one by one (besides its team).
pub fn members(conn: &mut DbConn, list: &str) -> Result<Vec<UserId>, RepoError> {
    let ids: Vec<String> = call_list_members::table
        .filter(call_list_members::list_id.eq(list))
        .order(call_list_members::user_id.asc())
        .select(call_list_members::user_id)
        .load(conn)?;
    ids.iter().map(|id| stored_id(id)).collect()
}

/// Tasks per state of each list.
pub fn counts(
    conn: &mut DbConn,
    lists: &[String],
) -> Result<HashMap<String, CallTaskCounts>, RepoError> {
    let rows: Vec<(String, String, i64)> = call_list_tasks::table
        .filter(call_list_tasks::list_id.eq_any(lists))
        .group_by((call_list_tasks::list_id, call_list_tasks::state))
        .select((
            call_list_tasks::list_id,
            call_list_tasks::state,
            diesel::dsl::count_star(),
        ))
        .load(conn)?;
    let mut out: HashMap<String, CallTaskCounts> = HashMap::new();
    for (list, state, n) in rows {
        let counts = out.entry(list).or_default();
        match CallTaskState::parse(&state) {
            Some(CallTaskState::Queued) => counts.queued += n,
            Some(CallTaskState::Leased) => counts.leased += n,
            Some(CallTaskState::Completed) => counts.completed += n,
            Some(CallTaskState::GaveUp) => counts.gave_up += n,
            Some(CallTaskState::Dropped) => counts.dropped += n,
            Some(CallTaskState::Blocked) => counts.blocked += n,
            Some(CallTaskState::Returned) => counts.returned += n,
            None => return Err(RepoError::Corrupt(format!("task state {state:?}"))),
        }
    }
    Ok(out)
}

/// Moves the list from version `read` to `read + 1` with the new name
/// and state; `false` when its version is no longer `read`.
pub fn update(
    conn: &mut DbConn,
    id: &str,
    read: i64,
    name: &str,
    state: CallListState,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_lists::table
            .filter(call_lists::id.eq(id))
            .filter(call_lists::version.eq(read)),
    )
    .set((
        call_lists::name.eq(name),
        call_lists::state.eq(state.as_str()),
        call_lists::version.eq(read + 1),
        call_lists::updated_at.eq(now),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Takes `n` import positions of the list: the first one's number.
pub fn take_seqs(conn: &mut DbConn, id: &str, n: i64) -> Result<i64, RepoError> {
    let first: i64 = call_lists::table
        .filter(call_lists::id.eq(id))
        .select(call_lists::next_seq)
        .first(conn)?;
    diesel::update(call_lists::table.filter(call_lists::id.eq(id)))
        .set(call_lists::next_seq.eq(first + n))
        .execute(conn)?;
    Ok(first)
}

/// The active lists whose pool `user` works: named one by one, or
/// through one of `teams`.
pub fn pools_of(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    teams: &[TeamId],
) -> Result<Vec<String>, RepoError> {
    let named: Vec<String> = call_list_members::table
        .filter(call_list_members::user_id.eq(user.to_string()))
        .select(call_list_members::list_id)
        .load(conn)?;
    let team_ids: Vec<String> = teams.iter().map(ToString::to_string).collect();
    let mut lists: Vec<String> = call_lists::table
        .filter(call_lists::org_id.eq(org.to_string()))
        .filter(call_lists::state.eq(CallListState::Active.as_str()))
        .filter(
            call_lists::id
                .eq_any(named)
                .or(call_lists::pool_team_id.eq_any(team_ids)),
        )
        .select(call_lists::id)
        .load(conn)?;
    lists.sort();
    Ok(lists)
}

/// The organisation's active lists, oldest first.
pub fn active_ids(conn: &mut DbConn, org: OrgId) -> Result<Vec<String>, RepoError> {
    Ok(call_lists::table
        .filter(call_lists::org_id.eq(org.to_string()))
        .filter(call_lists::state.eq(CallListState::Active.as_str()))
        .order(call_lists::id.asc())
        .select(call_lists::id)
        .load(conn)?)
}
