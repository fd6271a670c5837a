#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! `Database::write` under many concurrent writers (the SQLite write queue,
//! docs/decisions/0013; a plain write transaction on PostgreSQL): every body
//! gets its own result, a body that fails or panics leaves nothing behind
//! while the others commit, and the queue keeps serving afterwards. Runs on
//! the backend chosen by DESKBIND_TEST_BACKEND.

use std::collections::BTreeSet;
use std::sync::Arc;

use deskbind_core::db::schema::organisations;
use deskbind_core::db::{self, Database, DbError, write_tx};
use deskbind_core::repo::{RepoError, orgs};
use deskbind_core::testing::TestDb;
use diesel::prelude::*;

const WRITERS: usize = 240;

/// Which bodies panic (after writing) and which refuse (after writing).
fn panics(i: usize) -> bool {
    i % 37 == 5
}
fn refuses(i: usize) -> bool {
    i % 10 == 3
}

fn migrated(test_db: &TestDb) -> Database {
    let db = Database::connect(&test_db.url, 8).expect("connect");
    let mut conn = db.get().expect("connection");
    db::run_pending(&mut conn).expect("migrate");
    db
}

fn org_names(db: &Database) -> BTreeSet<String> {
    let mut conn = db.get().expect("connection");
    organisations::table
        .select(organisations::name)
        .load::<String>(&mut conn)
        .expect("names")
        .into_iter()
        .collect()
}

#[derive(Debug)]
enum Outcome {
    Committed,
    Refused,
    Panicked,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_writers_with_a_panicking_and_failing_body_commit_the_rest() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    let start = Arc::new(tokio::sync::Barrier::new(WRITERS));
    let tasks: Vec<_> = (0..WRITERS)
        .map(|i| {
            let (db, start) = (db.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                db.write(move |conn| {
                    orgs::insert(conn, &format!("org-{i}"))?;
                    if panics(i) {
                        panic!("body {i} panics on purpose after writing");
                    }
                    if refuses(i) {
                        return Err(RepoError::Conflict);
                    }
                    Ok(i)
                })
                .await
            })
        })
        .collect();

    let mut expected = BTreeSet::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let answer = task.await.expect("task");
        let outcome = match answer {
            Ok(n) => {
                assert_eq!(n, i, "a body got another body's result");
                Outcome::Committed
            }
            Err(RepoError::Conflict) => Outcome::Refused,
            Err(RepoError::Db(DbError::Join)) => Outcome::Panicked,
            Err(other) => panic!("body {i}: unexpected error {other:?}"),
        };
        match outcome {
            Outcome::Committed => {
                assert!(
                    !panics(i) && !refuses(i),
                    "body {i} should not have committed"
                );
                expected.insert(format!("org-{i}"));
            }
            Outcome::Refused => assert!(refuses(i) && !panics(i), "body {i} refused wrongly"),
            Outcome::Panicked => assert!(panics(i), "body {i} reported a panic it did not have"),
        }
    }
    assert_eq!(
        org_names(&db),
        expected,
        "exactly the bodies that succeeded are stored; failed and panicked ones left nothing"
    );

    // The queue survived the panics: later writes still commit.
    let after = db
        .write(|conn| orgs::insert(conn, "after the panics"))
        .await
        .expect("a write after the panics");
    assert!(org_names(&db).contains("after the panics"), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nested_write_tx_inside_a_body_is_a_savepoint() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    db.write(|conn| {
        orgs::insert(conn, "outer")?;
        // The inner transaction fails and rolls back alone.
        let inner: Result<(), RepoError> = write_tx(conn, |conn| {
            orgs::insert(conn, "inner, rolled back")?;
            Err(RepoError::NotFound)
        });
        assert!(matches!(inner, Err(RepoError::NotFound)));
        write_tx(conn, |conn| orgs::insert(conn, "inner, kept"))?;
        Ok::<_, RepoError>(())
    })
    .await
    .expect("write");
    let names = org_names(&db);
    assert!(names.contains("outer") && names.contains("inner, kept"));
    assert!(!names.contains("inner, rolled back"), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_see_what_earlier_bodies_wrote_and_lose_no_update() {
    // Read-modify-write under the queue (SQLite) or under a row lock
    // (PostgreSQL): 100 concurrent renames that each append one character
    // end with all 100 characters, whatever grouping the queue chose.
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    let id = db
        .write(|conn| orgs::insert(conn, ""))
        .await
        .expect("org")
        .to_string();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (db, id) = (db.clone(), id.clone());
            tokio::spawn(async move {
                db.write(move |conn| {
                    orgs::lock(conn, &id)?;
                    let name: String = organisations::table
                        .filter(organisations::id.eq(&id))
                        .select(organisations::name)
                        .first(conn)?;
                    diesel::update(organisations::table.filter(organisations::id.eq(&id)))
                        .set(organisations::name.eq(format!("{name}x")))
                        .execute(conn)?;
                    Ok::<_, RepoError>(())
                })
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("task").expect("write");
    }
    assert!(org_names(&db).contains(&"x".repeat(100)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writes_queued_behind_a_running_one_commit_as_one_group() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    let Some(before) = db.write_queue_stats() else {
        assert_eq!(
            db.backend(),
            db::Backend::Postgres,
            "only PostgreSQL has no queue"
        );
        return;
    };
    // The first body holds the writer (its group already formed) until ten
    // more bodies are queued behind it.
    let (started, running) = tokio::sync::oneshot::channel::<()>();
    let (release, held) = std::sync::mpsc::channel::<()>();
    let first = tokio::spawn({
        let db = db.clone();
        async move {
            db.write(move |conn| {
                started.send(()).expect("the test waits");
                held.recv().expect("released");
                orgs::insert(conn, "first")
            })
            .await
        }
    });
    running.await.expect("the first body runs");
    let queued_behind: Vec<_> = (0..10)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |conn| orgs::insert(conn, &format!("queued-{i}")))
                    .await
            })
        })
        .collect();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while db.write_queue_stats().expect("stats").queued < 10 {
        assert!(
            std::time::Instant::now() < deadline,
            "the ten bodies never queued"
        );
        tokio::task::yield_now().await;
    }
    release.send(()).expect("release");
    first.await.expect("task").expect("first write");
    for task in queued_behind {
        task.await.expect("task").expect("queued write");
    }
    let after = db.write_queue_stats().expect("stats");
    assert_eq!(after.bodies - before.bodies, 11);
    assert_eq!(
        after.groups - before.groups,
        2,
        "the ten queued bodies shared one commit"
    );
    assert!(after.largest_group >= 10, "{after:?}");
    assert_eq!(org_names(&db).len(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn checkpoints_run_beside_the_writer_not_in_its_commits() {
    let test_db = TestDb::new();
    let db = migrated(&test_db);
    if db.write_queue_stats().is_none() {
        assert_eq!(db.backend(), db::Backend::Postgres);
        return;
    }
    let auto = db
        .write(|conn| -> Result<Option<i32>, DbError> {
            Ok(db::dialect::sqlite_auto_checkpoint(conn)?)
        })
        .await
        .expect("pragma");
    assert_eq!(auto, Some(0), "the writer's commits never checkpoint");
    for i in 0..50 {
        db.write(move |conn| orgs::insert(conn, &format!("org-{i}")))
            .await
            .expect("write");
    }
    // Hold the writer thread until a checkpoint has run: it can only run
    // on another thread. The body gives up after 30 s (the test fails).
    let seen = db.clone();
    let ran_while_held = db
        .write(move |_conn| -> Result<bool, DbError> {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while seen.write_queue_stats().expect("stats").checkpoints == 0 {
                if std::time::Instant::now() > deadline {
                    return Ok(false);
                }
                std::thread::yield_now();
            }
            Ok(true)
        })
        .await
        .expect("held");
    assert!(
        ran_while_held,
        "no checkpoint ran while the writer was busy"
    );
    let stats = db.write_queue_stats().expect("stats");
    assert_eq!(stats.checkpoint_failures, 0, "{stats:?}");
    assert!(stats.wal_frames > 0, "{stats:?}");
    assert_eq!(
        stats.wal_frames_checkpointed, stats.wal_frames,
        "no reader held the WAL: all of it was copied"
    );
    assert_eq!(org_names(&db).len(), 50);
}
