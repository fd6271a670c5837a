//! The `call_archives` table: the parts the retention purge wrote to the
//! object store before deleting their call records (docs/retention.md
//! "Archives"). A part is inserted pending, its object stored, and it is
//! completed in the transaction that deletes its records.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::call_archives;
use crate::ids::OrgId;
use crate::time::{Micros, to_datetime};
use crate::wire::CallArchiveMonth;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_archives)]
pub struct CallArchiveRow {
    pub id: String,
    pub org_id: String,
    pub month: String,
    pub storage_key: String,
    pub store_id: Option<String>,
    pub records: i64,
    pub size_bytes: i64,
    pub first_started_at: i64,
    pub last_started_at: i64,
    pub created_at: i64,
    pub completed_at: Option<i64>,
    pub abandoned_at: Option<i64>,
}

pub fn insert_pending(conn: &mut DbConn, row: &CallArchiveRow) -> Result<(), RepoError> {
    diesel::insert_into(call_archives::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Completes a pending part; false when it is no longer pending or was
/// claimed as abandoned, and the caller must roll back.
pub fn complete(conn: &mut DbConn, id: &str, now: Micros) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_archives::table
            .filter(call_archives::id.eq(id))
            .filter(call_archives::completed_at.is_null())
            .filter(call_archives::abandoned_at.is_null()),
    )
    .set(call_archives::completed_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Claims a part that is not complete for deletion, so it can never be
/// completed; false when it was completed (or is gone). Claiming a claimed
/// part again succeeds: whoever finishes the deletion may.
pub fn claim_abandoned(conn: &mut DbConn, id: &str, now: Micros) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_archives::table
            .filter(call_archives::id.eq(id))
            .filter(call_archives::completed_at.is_null()),
    )
    .set(call_archives::abandoned_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

/// Deletes a part that is not complete; false when it was completed.
pub fn delete_pending(conn: &mut DbConn, id: &str) -> Result<bool, RepoError> {
    let n = diesel::delete(
        call_archives::table
            .filter(call_archives::id.eq(id))
            .filter(call_archives::completed_at.is_null()),
    )
    .execute(conn)?;
    Ok(n == 1)
}

/// Parts not complete that were created before `before` (or claimed
/// already) on this node's store (`store`: the local store's id, `None` on
/// S3), at most `limit`.
pub fn abandoned(
    conn: &mut DbConn,
    before: Micros,
    store: Option<&str>,
    limit: i64,
) -> Result<Vec<CallArchiveRow>, RepoError> {
    let mut query = call_archives::table
        .filter(call_archives::completed_at.is_null())
        .filter(
            call_archives::created_at
                .lt(before)
                .or(call_archives::abandoned_at.is_not_null()),
        )
        .select(CallArchiveRow::as_select())
        .order(call_archives::created_at.asc())
        .limit(limit)
        .into_boxed();
    query = match store {
        Some(id) => query.filter(call_archives::store_id.eq(id.to_owned())),
        None => query.filter(call_archives::store_id.is_null()),
    };
    Ok(query.load(conn)?)
}

/// The organisation's archived months, newest first, after the month
/// `before` (the previous page's last), at most `limit`.
pub fn months(
    conn: &mut DbConn,
    org: OrgId,
    before: Option<&str>,
    limit: i64,
) -> Result<Vec<CallArchiveMonth>, RepoError> {
    use diesel::dsl::{count_star, sql};
    use diesel::sql_types::BigInt;
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both.
    let total =
        |column: &str| sql::<BigInt>(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"));
    let mut query = call_archives::table
        .filter(call_archives::org_id.eq(org.to_string()))
        .filter(call_archives::completed_at.is_not_null())
        .group_by(call_archives::month)
        .select((
            call_archives::month,
            count_star(),
            total("records"),
            total("size_bytes"),
            sql::<BigInt>("MIN(first_started_at)"),
            sql::<BigInt>("MAX(last_started_at)"),
            sql::<BigInt>("MAX(completed_at)"),
        ))
        .order(call_archives::month.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(call_archives::month.lt(before.to_owned()));
    }
    let rows: Vec<(String, i64, i64, i64, i64, i64, i64)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(
            |(month, parts, records, size_bytes, first, last, updated)| CallArchiveMonth {
                month,
                parts,
                records,
                size_bytes,
                first_started_at: to_datetime(first),
                last_started_at: to_datetime(last),
                updated_at: to_datetime(updated),
            },
        )
        .collect())
}

/// The completed parts of one month, oldest calls first.
pub fn parts_of_month(
    conn: &mut DbConn,
    org: OrgId,
    month: &str,
) -> Result<Vec<CallArchiveRow>, RepoError> {
    Ok(call_archives::table
        .filter(call_archives::org_id.eq(org.to_string()))
        .filter(call_archives::month.eq(month))
        .filter(call_archives::completed_at.is_not_null())
        .select(CallArchiveRow::as_select())
        .order((
            call_archives::first_started_at.asc(),
            call_archives::id.asc(),
        ))
        .load(conn)?)
}
