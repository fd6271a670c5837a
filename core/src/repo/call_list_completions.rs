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
    pub delivered_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &CompletionRow) -> Result<(), RepoError> {
    diesel::insert_into(call_list_completions::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` reports not delivered yet, oldest first.
pub fn undelivered(conn: &mut DbConn, limit: i64) -> Result<Vec<CompletionRow>, RepoError> {
    Ok(call_list_completions::table
        .filter(call_list_completions::delivered_at.is_null())
        .order(call_list_completions::created_at.asc())
        .limit(limit)
        .select(CompletionRow::as_select())
        .load(conn)?)
}

/// Marks the row delivered with `report` (none: nothing was sent);
/// `false` when another worker took it first.
pub fn mark_delivered(
    conn: &mut DbConn,
    id: &str,
    report: Option<&str>,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_completions::table
            .filter(call_list_completions::id.eq(id))
            .filter(call_list_completions::delivered_at.is_null()),
    )
    .set((
        call_list_completions::delivered_at.eq(now),
        call_list_completions::report.eq(report),
    ))
    .execute(conn)?;
    Ok(n == 1)
}
