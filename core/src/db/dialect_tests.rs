#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Each dialect function on both backends (PostgreSQL from
//! DESKBIND_TEST_POSTGRES_URL, whatever DESKBIND_TEST_BACKEND says).

use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

use super::*;
use crate::db::schema::organisations;
use crate::db::{Database, run_pending};
use crate::testing::TestDb;

fn on_both_backends(check: impl Fn(&mut DbConn, Backend)) {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let test_db = TestDb::on(backend);
        let database = Database::connect(&test_db.url, 1).expect("connect");
        let mut conn = database.get().expect("connection");
        run_pending(&mut conn).expect("migrate");
        assert_eq!(backend_of(&conn), backend);
        check(&mut conn, backend);
    }
}

#[test]
fn insert_batch_inserts_every_row() {
    on_both_backends(|conn, backend| {
        let rows: Vec<_> = (0..3)
            .map(|i| {
                (
                    organisations::id.eq(format!("org-{i}")),
                    organisations::name.eq("batch"),
                    organisations::created_at.eq(0_i64),
                )
            })
            .collect();
        let inserted = insert_batch(
            conn,
            diesel::insert_into(organisations::table).values(&rows),
        )
        .expect("batch insert");
        assert_eq!(inserted, 3, "{backend:?}");
        let count: i64 = organisations::table.count().get_result(conn).unwrap();
        assert_eq!(count, 3, "{backend:?}");
    });
}

#[test]
fn query_plan_explains_a_select() {
    on_both_backends(|conn, backend| {
        let plan = query_plan(conn, "SELECT * FROM organisations WHERE id = 'x'").expect("plan");
        assert!(!plan.is_empty(), "{backend:?}: empty plan");
    });
}

#[test]
fn sizes_and_server_processes_exist_on_postgres_only() {
    on_both_backends(|conn, backend| {
        let table = table_size_bytes(conn, "call_records").expect("table size");
        let database = database_size_bytes(conn).expect("database size");
        let processes = server_processes(conn).expect("processes");
        match backend {
            Backend::Sqlite => {
                assert_eq!((table, database), (None, None));
                assert!(processes.is_empty());
            }
            Backend::Postgres => {
                assert!(table.is_some_and(|b| b > 0), "table size {table:?}");
                assert!(
                    database.is_some_and(|b| b > 0),
                    "database size {database:?}"
                );
                assert!(
                    processes.iter().any(|p| p.ours),
                    "this connection's backend is missing: {processes:?}"
                );
            }
        }
    });
}

/// The SQL of the statements `run` sends, without their binds.
fn statements_of(conn: &mut DbConn, run: impl FnOnce(&mut DbConn)) -> Vec<String> {
    use diesel::connection::InstrumentationEvent;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = event {
            let sql = query.to_string();
            let sql = sql.split(" -- binds:").next().unwrap_or_default();
            sink.lock().unwrap().push(sql.to_owned());
        }
    });
    run(conn);
    conn.set_instrumentation(|_: InstrumentationEvent<'_>| {});
    seen.lock().unwrap().clone()
}

/// A claim walks its kind's due jobs in order through `jobs_kind_due_idx`
/// and stops at its limit, even when the planner's statistics were taken
/// before the queue filled (a burst of digests): on `(run_at)` alone
/// PostgreSQL then read and sorted every due job on each claim.
#[test]
fn due_jobs_are_claimed_through_the_kind_index_without_a_sort() {
    on_both_backends(|conn, backend| {
        conn.batch_execute(
            "INSERT INTO organisations (id, name, created_at) VALUES ('org-jobs', 'jobs', 0)",
        )
        .expect("organisation");
        refresh_planner_stats(conn, "jobs").expect("statistics of the empty queue");
        let fill = match backend {
            Backend::Postgres => {
                "INSERT INTO jobs (id, kind, org_id, topic, payload, run_at, attempts, \
                 in_flight, possible_duplicates, created_at) \
                 SELECT 'job-' || g, 'push', 'org-jobs', 'digest', '{}', g, 0, 0, 0, 0 \
                 FROM generate_series(1, 20000) AS g"
            }
            Backend::Sqlite => {
                "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 20000) \
                 INSERT INTO jobs (id, kind, org_id, topic, payload, run_at, attempts, \
                 in_flight, possible_duplicates, created_at) \
                 SELECT 'job-' || n, 'push', 'org-jobs', 'digest', '{}', n, 0, 0, 0, 0 FROM g"
            }
        };
        conn.batch_execute(fill).expect("a queue of due jobs");
        let sent = statements_of(conn, |conn| {
            let claimed = conn
                .transaction(|conn| claim_due_jobs(conn, "push", "claimer", 30_000, 40_000, 64))
                .expect("claim");
            let run_at: Vec<i64> = claimed.iter().map(|(job, _)| job.run_at).collect();
            assert_eq!(
                run_at,
                (1..=64).collect::<Vec<_>>(),
                "the earliest 64, in order"
            );
        });
        // PostgreSQL's claim is one statement (the lock is its CTE);
        // SQLite's walk is the first of three.
        let claim = sent
            .iter()
            .find(|sql| {
                sql.starts_with("WITH due AS MATERIALIZED")
                    || (sql.starts_with("SELECT") && sql.contains("jobs"))
            })
            .expect("the claim's walk of the queue");
        let plan = match backend {
            Backend::Postgres => {
                conn.batch_execute(&format!("PREPARE due_jobs AS {claim}"))
                    .expect("prepare the claim");
                let lines: Vec<PgPlanLine> = diesel::sql_query(
                    "EXPLAIN EXECUTE due_jobs('push', 30000, 30000, 64, 'claimer', 40000)",
                )
                .load(match conn {
                    DbConn::Postgresql(pg) => pg,
                    DbConn::Sqlite(_) => unreachable!(),
                })
                .expect("explain");
                lines.into_iter().map(|l| l.line).collect::<Vec<_>>()
            }
            Backend::Sqlite => query_plan(conn, claim).expect("plan"),
        };
        let plan = plan.join("\n");
        assert!(plan.contains("jobs_kind_due_idx"), "{backend:?}:\n{plan}");
        assert!(
            !plan.contains("Sort") && !plan.contains("TEMP B-TREE"),
            "{backend:?}: the claim sorts the queue:\n{plan}"
        );
    });
}
