#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! `users::lock_many`, the lock an ingest batch takes on every user it
//! announces records to. It holds the lock the single-user `users::lock`
//! waits for (so a user's event log stays in commit order whichever
//! takes it), and many batches at once over overlapping users, each naming
//! its users in a different order, all commit: on PostgreSQL none is
//! chosen as a deadlock victim, which locking the users one by one in the
//! order given does. Runs on the backend chosen by DESKBIND_TEST_BACKEND.

use std::sync::Arc;

use deskbind_core::db::schema::app_events;
use deskbind_core::db::{self, Backend, Database};
use deskbind_core::repo::users::{self, UserRow};
use deskbind_core::repo::{RepoError, app_events as events_repo, orgs};
use deskbind_core::testing::TestDb;
use deskbind_core::wire::AppEvent;
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

const USERS: usize = 12;
const BATCHES: usize = 96;

fn migrated(test_db: &TestDb) -> Database {
    let db = Database::connect(&test_db.url, 8).expect("connect");
    let mut conn = db.get().expect("connection");
    db::run_pending(&mut conn).expect("migrate");
    db
}

fn user(org: &str, i: usize) -> UserRow {
    UserRow {
        id: uuid::Uuid::now_v7().to_string(),
        org_id: org.to_owned(),
        email: format!("user{i}@locks.test"),
        display_name: format!("User {i}"),
        role: "salesperson".into(),
        password_hash: "x".into(),
        time_zone: "Europe/Berlin".into(),
        disabled_at: None,
        created_at: 0,
        updated_at: 0,
    }
}

/// Batch `b`'s users: most of them, starting at a different one and
/// going round in either direction.
fn users_of(b: usize, ids: &[String]) -> Vec<String> {
    let n = ids.len();
    let mut mine: Vec<String> = (0..n - 2).map(|k| ids[(b + k) % n].clone()).collect();
    if b % 2 == 1 {
        mine.reverse();
    }
    mine
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_batches_lock_their_users_in_any_order_and_all_commit() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    let (org, ids) = {
        let mut conn = db.get().unwrap();
        let org = orgs::insert(&mut conn, "locks").unwrap().to_string();
        let rows: Vec<UserRow> = (0..USERS).map(|i| user(&org, i)).collect();
        for row in &rows {
            users::insert(&mut conn, row).unwrap();
        }
        (org, rows.into_iter().map(|r| r.id).collect::<Vec<_>>())
    };
    let ids = Arc::new(ids);
    let start = Arc::new(tokio::sync::Barrier::new(BATCHES));
    let tasks: Vec<_> = (0..BATCHES)
        .map(|b| {
            let (db, start, ids, org) = (db.clone(), start.clone(), ids.clone(), org.clone());
            tokio::spawn(async move {
                start.wait().await;
                db.write(move |conn| {
                    let mine = users_of(b, &ids);
                    let named: Vec<&str> = mine.iter().map(String::as_str).collect();
                    users::lock_many(conn, &named)?;
                    let event = AppEvent::Resync;
                    let rows: Vec<(&str, &AppEvent)> = named.iter().map(|u| (*u, &event)).collect();
                    events_repo::insert_for_users(conn, &org, &rows, 1)?;
                    Ok::<_, RepoError>(named.len())
                })
                .await
            })
        })
        .collect();
    let mut written = 0;
    for task in tasks {
        written += task.await.unwrap().expect("every batch commits");
    }
    assert_eq!(written, BATCHES * (USERS - 2));
    let mut conn = db.get().unwrap();
    let stored: i64 = app_events::table.count().get_result(&mut conn).unwrap();
    assert_eq!(usize::try_from(stored).unwrap(), written);
}

#[test]
fn a_held_lock_many_makes_the_single_user_lock_wait() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    let mut holder = db.get().unwrap();
    let org = orgs::insert(&mut holder, "locks").unwrap().to_string();
    let row = user(&org, 0);
    users::insert(&mut holder, &row).unwrap();
    let mut other = db.get().unwrap();

    holder.batch_execute("BEGIN").unwrap();
    users::lock_many(&mut holder, &[row.id.as_str()]).unwrap();
    let refused = match db.backend() {
        Backend::Postgres => {
            other
                .batch_execute("BEGIN; SET LOCAL lock_timeout = '200ms'")
                .unwrap();
            let refused = users::lock(&mut other, &row.id).unwrap_err().to_string();
            other.batch_execute("ROLLBACK").unwrap();
            refused
        }
        Backend::Sqlite => {
            other.batch_execute("PRAGMA busy_timeout = 200").unwrap();
            let refused = other
                .batch_execute("BEGIN IMMEDIATE")
                .unwrap_err()
                .to_string();
            other.batch_execute("PRAGMA busy_timeout = 15000").unwrap();
            refused
        }
    };
    assert!(
        refused.contains("lock timeout") || refused.contains("locked"),
        "the single-user lock waited for the held one: {refused}"
    );
    holder.batch_execute("COMMIT").unwrap();
    users::lock(&mut other, &row.id).expect("free once the holder committed");
}
