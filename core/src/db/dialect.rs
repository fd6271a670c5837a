//! Everything that differs between SQLite and PostgreSQL, in one place.
//! Repositories, use cases, benchmarks and test fixtures call these
//! functions instead of matching on [`DbConn`] themselves; a new difference
//! is added here, with a line saying why the two backends need different
//! SQL.

#[allow(unused_imports)]
use super::DbConn;

use super::pg_job_claim::ClaimDueJobs;
use crate::db::schema::{jobs, push_schedules};
use crate::repo::jobs::JobRow;
use crate::repo::push_schedules::ScheduleRow;
use crate::time::Micros;
use diesel::prelude::*;
use diesel::query_dsl::methods::ExecuteDsl;
use diesel::sql_types::{BigInt, Bool, Integer, Text};

use super::Backend;

/// The backend a connection talks to.
pub fn backend_of(conn: &DbConn) -> Backend {
    match conn {
        DbConn::Postgresql(_) => Backend::Postgres,
        DbConn::Sqlite(_) => Backend::Sqlite,
    }
}

/// Runs a multi-row INSERT (`insert_into(t).values(&rows)`); returns the rows
/// inserted. Why per backend: diesel implements batch inserts for each
/// concrete connection (SQLite has no `DEFAULT` in a VALUES list), not for
/// the multi-backend connection.
pub fn insert_batch<Q>(conn: &mut DbConn, query: Q) -> QueryResult<usize>
where
    Q: ExecuteDsl<diesel::PgConnection> + ExecuteDsl<diesel::SqliteConnection>,
{
    match conn {
        DbConn::Postgresql(pg) => ExecuteDsl::<diesel::PgConnection>::execute(query, pg),
        DbConn::Sqlite(lite) => ExecuteDsl::<diesel::SqliteConnection>::execute(query, lite),
    }
}

/// Runs a statement only PostgreSQL can take from diesel (a multi-row
/// upsert); on SQLite it is refused, and the caller runs rows one by one.
pub fn execute_on_postgres<Q>(conn: &mut DbConn, query: Q) -> QueryResult<usize>
where
    Q: ExecuteDsl<diesel::PgConnection>,
{
    match conn {
        DbConn::Postgresql(pg) => ExecuteDsl::<diesel::PgConnection>::execute(query, pg),
        DbConn::Sqlite(_) => Err(diesel::result::Error::QueryBuilderError(
            "a PostgreSQL-only statement was run on SQLite".into(),
        )),
    }
}

/// A value bound to a hand-written statement.
#[derive(Debug, Clone, Copy)]
pub enum BindValue<'a> {
    Text(&'a str),
    BigInt(i64),
}

/// Runs `sql` (with `?` placeholders) on SQLite with `binds` in order, and
/// answers the rows changed; `None` on PostgreSQL, whose caller runs the
/// diesel statement instead. Why: diesel builds no multi-row upsert for
/// SQLite (it runs one statement per row), which SQLite itself accepts.
pub fn execute_on_sqlite(
    conn: &mut DbConn,
    sql: &str,
    binds: &[BindValue<'_>],
) -> QueryResult<Option<usize>> {
    match conn {
        DbConn::Postgresql(_) => Ok(None),
        DbConn::Sqlite(lite) => {
            let mut query = diesel::sql_query(sql).into_boxed::<diesel::sqlite::Sqlite>();
            for bind in binds {
                query = match *bind {
                    BindValue::Text(text) => query.bind::<Text, _>(text),
                    BindValue::BigInt(n) => query.bind::<BigInt, _>(n),
                };
            }
            query.execute(lite).map(Some)
        }
    }
}

/// The bind placeholder of position `n` (1-based) in a hand-written
/// statement: `$n` on PostgreSQL, `?n` on SQLite. Numbered on both, so a
/// statement may name its binds in any order of the text.
pub fn placeholder(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("${n}"),
        Backend::Sqlite => format!("?{n}"),
    }
}

/// Runs a hand-written statement (placeholders from [`placeholder`]) with
/// `binds` in order on either backend, and answers the rows changed. For
/// statements diesel's DSL cannot build for both, such as an UPDATE that
/// sets each row its own value.
pub fn execute_raw(conn: &mut DbConn, sql: &str, binds: &[BindValue<'_>]) -> QueryResult<usize> {
    match conn {
        DbConn::Postgresql(pg) => {
            let mut query = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for bind in binds {
                query = match *bind {
                    BindValue::Text(text) => query.bind::<Text, _>(text),
                    BindValue::BigInt(n) => query.bind::<BigInt, _>(n),
                };
            }
            query.execute(pg)
        }
        DbConn::Sqlite(_) => execute_on_sqlite(conn, sql, binds).map(Option::unwrap_or_default),
    }
}

#[derive(QueryableByName)]
struct RowidRow {
    #[diesel(sql_type = BigInt)]
    rowid: i64,
}

/// The rowids of call records, of every organisation, whose search column
/// holds `digits` (at least 3), at most `cap` of them in no particular
/// order; `None` on PostgreSQL. Why per backend: SQLite's trigram index is a
/// separate FTS5 table (`call_number_search`) that the caller turns into a
/// rowid list, while PostgreSQL's pg_trgm index serves `remote_digits LIKE`
/// inside the query itself (docs/decisions/0014-number-search.md).
pub fn number_search_rowids(
    conn: &mut DbConn,
    digits: &str,
    cap: i64,
) -> QueryResult<Option<Vec<i64>>> {
    match conn {
        DbConn::Postgresql(_) => Ok(None),
        DbConn::Sqlite(lite) => {
            // A quoted phrase: the trigrams in sequence, i.e. the substring.
            let rows: Vec<RowidRow> = diesel::sql_query(
                "SELECT rowid FROM call_number_search WHERE call_number_search MATCH ? LIMIT ?",
            )
            .bind::<Text, _>(format!("\"{digits}\""))
            .bind::<BigInt, _>(cap)
            .load(lite)?;
            Ok(Some(rows.into_iter().map(|r| r.rowid).collect()))
        }
    }
}

#[derive(QueryableByName)]
struct PgPlanLine {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(QueryableByName)]
struct SqlitePlanLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

/// The plan of `sql` (a SELECT with its values inlined), one line per step.
/// Why per backend: PostgreSQL's `EXPLAIN (ANALYZE, BUFFERS)` runs the query
/// and returns a `QUERY PLAN` column; SQLite only has `EXPLAIN QUERY PLAN`,
/// whose steps are in a `detail` column.
pub fn query_plan(conn: &mut DbConn, sql: &str) -> QueryResult<Vec<String>> {
    match conn {
        DbConn::Postgresql(pg) => {
            let lines: Vec<PgPlanLine> =
                diesel::sql_query(format!("EXPLAIN (ANALYZE, BUFFERS) {sql}")).load(pg)?;
            Ok(lines.into_iter().map(|l| l.line).collect())
        }
        DbConn::Sqlite(lite) => {
            let lines: Vec<SqlitePlanLine> =
                diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}")).load(lite)?;
            Ok(lines.into_iter().map(|l| l.detail).collect())
        }
    }
}

#[derive(QueryableByName)]
struct Bytes {
    #[diesel(sql_type = BigInt)]
    bytes: i64,
}

/// Bytes PostgreSQL uses for `table` with its indexes and TOAST; `None` on
/// SQLite. Why: SQLite keeps every table in one file and has no per-table
/// size function (its size is the file's, read from the file system).
pub fn table_size_bytes(conn: &mut DbConn, table: &str) -> QueryResult<Option<i64>> {
    match conn {
        DbConn::Postgresql(pg) => {
            let size: Bytes =
                diesel::sql_query("SELECT pg_total_relation_size($1::regclass) AS bytes")
                    .bind::<Text, _>(table)
                    .get_result(pg)?;
            Ok(Some(size.bytes))
        }
        DbConn::Sqlite(_) => Ok(None),
    }
}

/// Brings PostgreSQL's planner statistics on `table` up to date (ANALYZE
/// samples 300 rows per unit of the statistics target, 30,000 at the
/// default; it blocks no reads or writes). `SKIP_LOCKED`: when another
/// ANALYZE or a vacuum of the table holds its lock, this one is skipped
/// (PostgreSQL logs a warning) instead of making its caller wait, since
/// the other is refreshing the same statistics. Nothing on SQLite. Why:
/// SQLite keeps no statistics unless asked, and deskbind's SQLite queries
/// are written for the plan they need instead.
pub fn refresh_planner_stats(conn: &mut DbConn, table: &'static str) -> QueryResult<()> {
    match conn {
        DbConn::Postgresql(pg) => {
            diesel::sql_query(format!("ANALYZE (SKIP_LOCKED) \"{table}\"")).execute(pg)?;
            Ok(())
        }
        DbConn::Sqlite(_) => Ok(()),
    }
}

#[derive(QueryableByName)]
struct AutoCheckpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    wal_autocheckpoint: i32,
}

/// The connection's automatic checkpoint threshold in WAL pages (0: off);
/// `None` on PostgreSQL, which has no such setting per connection. Why:
/// the writer turns them off (decision 0035) and its tests read it back.
pub fn sqlite_auto_checkpoint(conn: &mut DbConn) -> QueryResult<Option<i32>> {
    match conn {
        DbConn::Sqlite(lite) => {
            let pages: AutoCheckpoint =
                diesel::sql_query("PRAGMA wal_autocheckpoint").get_result(lite)?;
            Ok(Some(pages.wal_autocheckpoint))
        }
        DbConn::Postgresql(_) => Ok(None),
    }
}

/// Bytes PostgreSQL uses for the current database; `None` on SQLite (the
/// database is a file: read its size from the file system).
pub fn database_size_bytes(conn: &mut DbConn) -> QueryResult<Option<i64>> {
    match conn {
        DbConn::Postgresql(pg) => {
            let size: Bytes =
                diesel::sql_query("SELECT pg_database_size(current_database()) AS bytes")
                    .get_result(pg)?;
            Ok(Some(size.bytes))
        }
        DbConn::Sqlite(_) => Ok(None),
    }
}

/// A PostgreSQL server process, for benchmarks that measure the server's CPU.
#[derive(Debug, Clone, Copy, QueryableByName)]
pub struct ServerProcess {
    #[diesel(sql_type = Integer)]
    pub pid: i32,
    /// Serves a connection to the current database (else it is the WAL
    /// writer, checkpointer or background writer).
    #[diesel(sql_type = Bool)]
    pub ours: bool,
}

/// The server processes a workload on this database keeps busy: the backends
/// connected to it and the WAL writer, checkpointer and background writer.
/// Empty on SQLite, which runs inside the calling process.
pub fn server_processes(conn: &mut DbConn) -> QueryResult<Vec<ServerProcess>> {
    match conn {
        DbConn::Postgresql(pg) => diesel::sql_query(
            "SELECT pid, datname IS NOT DISTINCT FROM current_database() AS ours \
             FROM pg_stat_activity \
             WHERE datname = current_database() \
                OR backend_type IN ('walwriter', 'checkpointer', 'background writer')",
        )
        .load(pg),
        DbConn::Sqlite(_) => Ok(Vec::new()),
    }
}

#[cfg(test)]
#[path = "dialect_tests.rs"]
mod tests;

/// Claims up to `limit` unfinished `kind` jobs due at `now` whose lease is
/// free: leases them to `owner` until `lease_until`, counts another
/// attempt, and marks them in flight (one still in flight, whose last
/// holder died mid-send, counts a possible duplicate). Returns each job as
/// leased with its in-flight flag from before the claim, earliest first.
///
/// PostgreSQL locks the rows `FOR UPDATE SKIP LOCKED`, so concurrent
/// claimers split the queue, and does it all in one prepared statement
/// ([`super::pg_job_claim`]). SQLite has no row locks and needs none (its
/// single writer serialises claims); its statements run in process, so
/// three of them cost no round trips, and its RETURNING cannot read a
/// joined table's old values.
pub fn claim_due_jobs(
    conn: &mut DbConn,
    kind: &str,
    owner: &str,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> QueryResult<Vec<(JobRow, i64)>> {
    let claim = ClaimDueJobs {
        kind,
        now,
        limit,
        owner,
        lease_until,
    };
    let mut claimed: Vec<(JobRow, i64)> = match conn {
        DbConn::Postgresql(pg) => claim.load(pg)?,
        DbConn::Sqlite(lite) => claim_due_jobs_on_sqlite(lite, &claim)?,
    };
    claimed.sort_by_key(|(job, _)| job.run_at);
    Ok(claimed)
}

fn claim_due_jobs_on_sqlite(
    conn: &mut diesel::SqliteConnection,
    &ClaimDueJobs {
        kind,
        now,
        limit,
        owner,
        lease_until,
    }: &ClaimDueJobs<'_>,
) -> QueryResult<Vec<(JobRow, i64)>> {
    // The same filter and order as PostgreSQL's claim, through
    // `jobs_kind_due_idx (kind, run_at) WHERE outcome IS NULL`.
    let found: Vec<(String, i64)> = jobs::table
        .filter(jobs::outcome.is_null())
        .filter(jobs::kind.eq(kind))
        .filter(jobs::run_at.le(now))
        .filter(jobs::lease_until.is_null().or(jobs::lease_until.lt(now)))
        .order(jobs::run_at.asc())
        .limit(limit)
        .select((jobs::id, jobs::in_flight))
        .load(conn)?;
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    diesel::update(jobs::table.filter(jobs::id.eq_any(&ids)))
        .set((
            jobs::lease_owner.eq(owner),
            jobs::lease_until.eq(lease_until),
            jobs::attempts.eq(jobs::attempts + 1),
            jobs::possible_duplicates.eq(jobs::possible_duplicates + jobs::in_flight),
            jobs::in_flight.eq(1),
        ))
        .execute(conn)?;
    let was_in_flight: std::collections::HashMap<&str, i64> = found
        .iter()
        .map(|(id, flag)| (id.as_str(), *flag))
        .collect();
    let rows: Vec<JobRow> = jobs::table
        .filter(jobs::id.eq_any(&ids))
        .select(JobRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|job| {
            let flag = was_in_flight.get(job.id.as_str()).copied().unwrap_or(0);
            (job, flag)
        })
        .collect())
}

/// Up to `limit` webhook deliveries due at `now` whose lease is free, whose
/// endpoint is enabled and that no earlier pending delivery of the same
/// ordering key to the same endpoint holds back, oldest message first. PostgreSQL locks them `FOR
/// UPDATE SKIP LOCKED`, so concurrent senders split the queue.
pub fn lock_due_webhook_deliveries(
    conn: &mut DbConn,
    now: Micros,
    limit: i64,
) -> QueryResult<Vec<String>> {
    use super::schema::webhook_deliveries as d;
    let due = || {
        d::table
            // A literal, not a bound value: PostgreSQL matches the partial
            // index `WHERE state = 'pending'` only against the literal (a
            // generic plan with `state = $1` walked the whole backlog:
            // 648 deliveries/s with 100,000 pending).
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "webhook_deliveries.state = 'pending'",
            ))
            .filter(d::next_attempt_at.le(now))
            .filter(d::lease_until.is_null().or(d::lease_until.lt(now)))
            // `LIMIT 1 OFFSET 0` keeps both subqueries correlated checks
            // of the rows the walk reaches: without it PostgreSQL turns
            // them into joins over every pending delivery and sorts the
            // whole backlog on every claim (55 ms for 20,000 pending, 0.7
            // ms with it; docs/performance.md, "Webhooks"). SQLite runs
            // correlated subqueries as such either way.
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "NOT EXISTS (SELECT 1 FROM webhook_deliveries e \
                 WHERE e.endpoint_id = webhook_deliveries.endpoint_id \
                 AND e.ordering_key = webhook_deliveries.ordering_key \
                 AND e.state = 'pending' AND e.message_seq < webhook_deliveries.message_seq \
                 LIMIT 1 OFFSET 0) \
                 AND EXISTS (SELECT 1 FROM webhook_endpoints w \
                 WHERE w.id = webhook_deliveries.endpoint_id AND w.disabled_at IS NULL \
                 LIMIT 1 OFFSET 0)",
            ))
            .order(d::message_seq.asc())
            .limit(limit)
            .select(d::id)
    };
    match conn {
        DbConn::Postgresql(pg) => due().for_update().skip_locked().load(pg),
        DbConn::Sqlite(lite) => due().load(lite),
    }
}

/// Locks the rows of `users` (at most a few hundred ids), in byte order of
/// their ids, until the transaction ends. Why per backend: PostgreSQL
/// takes row locks with `SELECT .. ORDER BY id COLLATE "C" FOR NO KEY
/// UPDATE` (the lock an UPDATE of non-key columns takes, without writing a
/// row version; the sort runs before the rows are locked, and "C" makes it
/// the byte order every other locker sorts by), which diesel builds for
/// PostgreSQL only; on SQLite the write transaction already holds the
/// database's one write lock, and a no-op UPDATE keeps the statement a
/// write there too.
pub fn lock_user_rows(conn: &mut DbConn, ids: &[&str]) -> QueryResult<()> {
    use crate::db::schema::users;
    match conn {
        DbConn::Postgresql(pg) => {
            users::table
                .filter(users::id.eq_any(ids))
                .order(diesel::dsl::sql::<Text>(r#""users"."id" COLLATE "C""#))
                .select(users::id)
                .for_no_key_update()
                .load::<String>(pg)?;
        }
        DbConn::Sqlite(lite) => {
            diesel::update(users::table.filter(users::id.eq_any(ids)))
                .set(users::updated_at.eq(users::updated_at))
                .execute(lite)?;
        }
    }
    Ok(())
}

/// Up to `limit` push schedules due at `now`, earliest first; on
/// PostgreSQL locked `FOR UPDATE SKIP LOCKED` so schedulers never take one
/// occurrence twice (SQLite's single writer serialises them).
pub fn lock_due_schedules(
    conn: &mut DbConn,
    now: Micros,
    limit: i64,
) -> QueryResult<Vec<ScheduleRow>> {
    let query = || {
        push_schedules::table
            .filter(push_schedules::next_due_at.le(now))
            .order(push_schedules::next_due_at.asc())
            .limit(limit)
            // Column order equals the struct's; `as_select` would fix one backend.
            .select(push_schedules::all_columns)
    };
    match conn {
        DbConn::Postgresql(pg) => query().for_update().skip_locked().load(pg),
        DbConn::Sqlite(lite) => query().load(lite),
    }
}

/// Locks the schedule rows of the organisation's users who follow its
/// default, in user id order (PostgreSQL; SQLite's writer serialises and
/// has no `FOR UPDATE`).
pub fn lock_schedule_followers(conn: &mut DbConn, org_id: &str) -> QueryResult<()> {
    if let DbConn::Postgresql(pg) = conn {
        push_schedules::table
            .filter(push_schedules::org_id.eq(org_id))
            .filter(push_schedules::custom.eq(0))
            .order(push_schedules::user_id.asc())
            .select(push_schedules::user_id)
            .for_update()
            .load::<String>(pg)?;
    }
    Ok(())
}

/// The users among `users` whose digest a new record makes due now (they
/// asked for it on new records, or on missed calls and are in `missed`),
/// not already due; on PostgreSQL their rows are locked in user id order.
pub fn lock_schedules_due_on_records(
    conn: &mut DbConn,
    users: &[String],
    missed: &[String],
    now: Micros,
) -> QueryResult<Vec<String>> {
    let wanted = || {
        push_schedules::table
            .filter(push_schedules::user_id.eq_any(users))
            .filter(
                push_schedules::on_new_records
                    .eq(1)
                    .or(push_schedules::on_missed_call
                        .eq(1)
                        .and(push_schedules::user_id.eq_any(missed))),
            )
            .filter(
                push_schedules::next_due_at
                    .is_null()
                    .or(push_schedules::next_due_at.gt(now)),
            )
            .order(push_schedules::user_id.asc())
            .select(push_schedules::user_id)
    };
    match conn {
        DbConn::Postgresql(pg) => wanted().for_update().load(pg),
        DbConn::Sqlite(lite) => wanted().load(lite),
    }
}
