#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Each dialect function on both backends (PostgreSQL from
//! DESKBIND_TEST_POSTGRES_URL, whatever DESKBIND_TEST_BACKEND says).

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
