//! The completion-report outbox (docs/call-lists.md, "Progress"): a row
//! per emptied queue, written in the transaction of the attempt that
//! emptied it, and its report counted and delivered by the worker.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::call_list_completions;
use crate::time::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_list_completions)]
pub struct CompletionRow {
    pub id: String,
    pub org_id: String,
    pub list_id: String,
    pub user_id: String,
    /// The `CallListCompletion` delivered, as JSON (none before, or when
    /// nothing was sent).
    pub report: Option<String>,
    pub created_at: i64,
    /// When the worker may deliver it.
    pub deliver_after: i64,
    pub delivered_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &CompletionRow) -> Result<(), RepoError> {
    diesel::insert_into(call_list_completions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` reports not delivered yet that may be delivered at
/// `now`, oldest first.
pub fn due(conn: &mut DbConn, now: Micros, limit: i64) -> Result<Vec<CompletionRow>, RepoError> {
    Ok(call_list_completions::table
        .filter(call_list_completions::delivered_at.is_null())
        .filter(call_list_completions::deliver_after.le(now))
        .order(call_list_completions::deliver_after.asc())
        .limit(limit)
        .select(CompletionRow::as_select())
        .load(conn)?)
}

/// Marks every undelivered row of the list and user delivered, `id` with
/// `report` (none: nothing was sent) and any other (a queue that emptied
/// again before the first was delivered: one report covers both);
/// `false` when another worker took `id` first.
pub fn mark_delivered(
    conn: &mut DbConn,
    row: &CompletionRow,
    report: Option<&str>,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_completions::table
            .filter(call_list_completions::id.eq(&row.id))
            .filter(call_list_completions::delivered_at.is_null()),
    )
    .set((
        call_list_completions::delivered_at.eq(now),
        call_list_completions::report.eq(report),
    ))
    .execute(conn)?;
    if n == 1 {
        diesel::update(
            call_list_completions::table
                .filter(call_list_completions::list_id.eq(&row.list_id))
                .filter(call_list_completions::user_id.eq(&row.user_id))
                .filter(call_list_completions::delivered_at.is_null()),
        )
        .set(call_list_completions::delivered_at.eq(now))
        .execute(conn)?;
    }
    Ok(n == 1)
}

/// When the user's latest report of the list was noted, if ever.
pub fn latest_of(conn: &mut DbConn, list: &str, user: &str) -> Result<Option<Micros>, RepoError> {
    Ok(call_list_completions::table
        .filter(call_list_completions::list_id.eq(list))
        .filter(call_list_completions::user_id.eq(user))
        .select(diesel::dsl::max(call_list_completions::created_at))
        .first::<Option<i64>>(conn)?)
}
