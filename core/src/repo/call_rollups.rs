//! The `call_rollups` table: what calls contribute to the statistics,
//! summed per organisation, UTC quarter hour, user, phone, direction,
//! result, disposition and privacy (docs/retention.md "Rollups"). Changed
//! only by adding deltas in the transaction that stores or changes a call;
//! never purged.

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Text};
use diesel::upsert::excluded;

use super::{DbConn, RepoError};
use crate::db::dialect::BindValue;
use crate::db::schema::call_rollups;
use crate::db::{Backend, dialect};
use crate::domain::call_rollup::{RollupCounts, RollupKey};
use crate::ids::OrgId;
use crate::time::Micros;

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = call_rollups)]
struct NewRollup<'a> {
    org_id: &'a str,
    bucket_start: i64,
    user_id: &'a str,
    phone_id: &'a str,
    direction: &'a str,
    result: &'a str,
    disposition_id: &'a str,
    private: i64,
    calls: i64,
    answered: i64,
    talk_secs: i64,
}

/// Rows per multi-row upsert (11 binds each: 5,500, under SQLite's 32,766).
const UPSERT_CHUNK: usize = 500;

/// Adds `changes` (from `RollupDeltas::into_changes`, in key order) to the
/// stored sums, creating rows as needed.
pub fn add(conn: &mut DbConn, changes: &[(RollupKey, RollupCounts)]) -> Result<(), RepoError> {
    let rows: Vec<NewRollup<'_>> = changes
        .iter()
        .map(|(k, c)| NewRollup {
            org_id: &k.org_id,
            bucket_start: k.bucket_start,
            user_id: &k.user_id,
            phone_id: &k.phone_id,
            direction: &k.direction,
            result: &k.result,
            disposition_id: &k.disposition_id,
            private: k.private,
            calls: c.calls,
            answered: c.answered,
            talk_secs: c.talk_secs,
        })
        .collect();
    // PostgreSQL: diesel's multi-row upsert. SQLite: the same statement
    // written by hand (diesel would run one statement per row there).
    match dialect::backend_of(conn) {
        Backend::Sqlite => {
            for chunk in rows.chunks(UPSERT_CHUNK) {
                let (sql, binds) = sqlite_upsert(chunk);
                dialect::execute_on_sqlite(conn, &sql, &binds)?;
            }
        }
        Backend::Postgres => {
            for chunk in rows.chunks(UPSERT_CHUNK) {
                dialect::execute_on_postgres(
                    conn,
                    diesel::insert_into(call_rollups::table)
                        .values(chunk.to_vec())
                        .on_conflict((
                            call_rollups::org_id,
                            call_rollups::bucket_start,
                            call_rollups::user_id,
                            call_rollups::phone_id,
                            call_rollups::direction,
                            call_rollups::result,
                            call_rollups::disposition_id,
                            call_rollups::private,
                        ))
                        .do_update()
                        .set((
                            call_rollups::calls
                                .eq(call_rollups::calls + excluded(call_rollups::calls)),
                            call_rollups::answered
                                .eq(call_rollups::answered + excluded(call_rollups::answered)),
                            call_rollups::talk_secs
                                .eq(call_rollups::talk_secs + excluded(call_rollups::talk_secs)),
                        )),
                )?;
            }
        }
    }
    Ok(())
}

/// The SQLite statement adding `rows` and its binds, in column order.
fn sqlite_upsert<'a>(rows: &'a [NewRollup<'a>]) -> (String, Vec<BindValue<'a>>) {
    let values = vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"; rows.len()].join(", ");
    let sql = format!(
        "INSERT INTO call_rollups (org_id, bucket_start, user_id, phone_id, direction, result, \
         disposition_id, private, calls, answered, talk_secs) VALUES {values} \
         ON CONFLICT (org_id, bucket_start, user_id, phone_id, direction, result, disposition_id, private) \
         DO UPDATE SET calls = call_rollups.calls + excluded.calls, \
         answered = call_rollups.answered + excluded.answered, \
         talk_secs = call_rollups.talk_secs + excluded.talk_secs"
    );
    let binds = rows
        .iter()
        .flat_map(|r| {
            [
                BindValue::Text(r.org_id),
                BindValue::BigInt(r.bucket_start),
                BindValue::Text(r.user_id),
                BindValue::Text(r.phone_id),
                BindValue::Text(r.direction),
                BindValue::Text(r.result),
                BindValue::Text(r.disposition_id),
                BindValue::BigInt(r.private),
                BindValue::BigInt(r.calls),
                BindValue::BigInt(r.answered),
                BindValue::BigInt(r.talk_secs),
            ]
        })
        .collect();
    (sql, binds)
}

/// Which sums a statistics read takes: the same filters as the call list
/// where the rollup key carries them.
#[derive(Debug, Clone, Default)]
pub struct RollupFilter {
    /// The reader's scope: `None` for the whole organisation.
    pub scope: Option<Vec<String>>,
    /// A user or team filter, within the scope.
    pub users: Option<Vec<String>>,
    pub phone_id: Option<String>,
    pub direction: Option<String>,
    pub result: Option<String>,
    /// With the reader's user id: another user's private call hides its
    /// disposition, so it never matches a disposition filter.
    pub disposition: Option<(String, String)>,
    /// Quarter-hour aligned: buckets starting in `from..until`.
    pub from: Micros,
    pub until: Micros,
}

/// One user's calls of one quarter hour and direction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollupSum {
    pub user_id: String,
    pub bucket_start: Micros,
    pub direction: String,
    pub calls: i64,
    pub answered: i64,
    pub talk_secs: i64,
}

/// The sums of `filter`, per user, quarter hour and direction (rows with
/// nothing left in them skipped).
pub fn sums(
    conn: &mut DbConn,
    org: OrgId,
    filter: &RollupFilter,
) -> Result<Vec<RollupSum>, RepoError> {
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both.
    let total =
        |column: &str| sql::<BigInt>(&format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"));
    let mut query = call_rollups::table
        .filter(call_rollups::org_id.eq(org.to_string()))
        .filter(call_rollups::bucket_start.ge(filter.from))
        .filter(call_rollups::bucket_start.lt(filter.until))
        .group_by((
            call_rollups::user_id,
            call_rollups::bucket_start,
            call_rollups::direction,
        ))
        .select((
            call_rollups::user_id,
            call_rollups::bucket_start,
            call_rollups::direction,
            total("calls"),
            total("answered"),
            total("talk_secs"),
        ))
        .into_boxed();
    if let Some(users) = &filter.scope {
        query = query.filter(call_rollups::user_id.eq_any(users.clone()));
    }
    if let Some(users) = &filter.users {
        query = query.filter(call_rollups::user_id.eq_any(users.clone()));
    }
    if let Some(phone) = &filter.phone_id {
        query = query.filter(call_rollups::phone_id.eq(phone.clone()));
    }
    if let Some(direction) = &filter.direction {
        query = query.filter(call_rollups::direction.eq(direction.clone()));
    }
    if let Some(result) = &filter.result {
        query = query.filter(call_rollups::result.eq(result.clone()));
    }
    if let Some((disposition, reader)) = &filter.disposition {
        query = query
            .filter(call_rollups::disposition_id.eq(disposition.clone()))
            .filter(
                sql::<Bool>("(call_rollups.private = 0 OR call_rollups.user_id = ")
                    .bind::<Text, _>(reader.clone())
                    .sql(")"),
            );
    }
    let rows: Vec<(String, i64, String, i64, i64, i64)> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(_, _, _, calls, _, _)| *calls != 0)
        .map(
            |(user_id, bucket_start, direction, calls, answered, talk_secs)| RollupSum {
                user_id,
                bucket_start,
                direction,
                calls,
                answered,
                talk_secs,
            },
        )
        .collect())
}
