//! Everything that differs between SQLite and PostgreSQL, in one place.
//! Repositories, use cases, benchmarks and test fixtures call these
//! functions instead of matching on [`DbConn`] themselves; a new difference
//! is added here, with a line saying why the two backends need different
//! SQL.

#[allow(unused_imports)]
use super::DbConn;

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
