#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
//! `Database::write` under many concurrent writers (the SQLite write queue,
//! docs/decisions/0013; a plain write transaction on PostgreSQL): every body
//! gets its own result, a body that fails or panics leaves nothing behind
//! while the others commit, and the queue keeps serving afterwards. Runs on
//! the backend chosen by DESKBIND_TEST_BACKEND.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use deskbind_core::db::schema::organisations;
use deskbind_core::db::write_queue::WriteQueueStats;
use deskbind_core::db::{self, Database, DatabaseUrl, DbError, write_tx};
use deskbind_core::repo::{RepoError, orgs};
use deskbind_core::testing::TestDb;
use diesel::connection::SimpleConnection as _;
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
    // Insert until a checkpoint has run (the count taken after an insert
    // rose): the next one then waits out the spacing between two (200 ms),
    // so the one the last insert below nudges cannot have run by the time
    // that insert returns and the count is taken.
    let start = db.write_queue_stats().expect("stats").checkpoints;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut inserted = 0;
    while db.write_queue_stats().expect("stats").checkpoints == start {
        assert!(
            Instant::now() < deadline,
            "no checkpoint during the inserts"
        );
        db.write(move |conn| orgs::insert(conn, &format!("org-{inserted}")))
            .await
            .expect("write");
        inserted += 1;
    }
    db.write(|conn| orgs::insert(conn, "last"))
        .await
        .expect("write");
    let before = db.write_queue_stats().expect("stats").checkpoints;
    // Hold the writer thread until a checkpoint more has run: it can only
    // run on another thread. The body gives up after 10 s (the test fails).
    let seen = db.clone();
    let ran_while_held = db
        .write(move |_conn| -> Result<bool, DbError> {
            let deadline = Instant::now() + Duration::from_secs(10);
            while seen.write_queue_stats().expect("stats").checkpoints == before {
                if Instant::now() > deadline {
                    return Ok(false);
                }
                std::thread::sleep(Duration::from_millis(1));
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
    assert_eq!(org_names(&db).len(), inserted + 1);
}

/// Polls the writer's stats until `done` (at most 10 s; the test fails).
async fn wait_for(db: &Database, what: &str, done: impl Fn(&WriteQueueStats) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stats = db.write_queue_stats().expect("stats");
        if done(&stats) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "waited 10 s for {what}: {stats:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Appends `rows` blobs of `bytes` each, one commit per row.
async fn fill(db: &Database, rows: usize, bytes: usize) -> usize {
    for _ in 0..rows {
        db.write(move |conn| -> Result<(), DbError> {
            Ok(conn.batch_execute(&format!(
                "INSERT INTO filler (data) VALUES (randomblob({bytes}))"
            ))?)
        })
        .await
        .expect("a write beside the checkpoints");
    }
    rows
}

/// Past half its limit the writer waits before its next group until the
/// checkpoint thread has emptied the WAL, so with no reader holding it,
/// writers going back to back never see the file past its limit. (Without
/// the writer's wait, the checkpoint thread alone let it reach 6.5 times
/// the limit.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn back_to_back_writers_never_take_the_wal_past_its_limit() {
    const LIMIT: u64 = 1024 * 1024;
    const WRITERS: usize = 8;
    let test_db = TestDb::new();
    let DatabaseUrl::Sqlite(path) = &test_db.url else {
        return; // PostgreSQL: no SQLite WAL to bound.
    };
    let wal_file = PathBuf::from(format!("{}-wal", path.display()));
    let db = Database::connect_with_wal_limit(&test_db.url, 4, LIMIT).expect("connect");
    db.write(|conn| -> Result<(), DbError> {
        Ok(conn.batch_execute("CREATE TABLE filler (data BLOB NOT NULL)")?)
    })
    .await
    .expect("table");

    // Eight times the limit in all, 1 KiB per commit.
    let rows_each = (8 * LIMIT / 1024) as usize / WRITERS;
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let writers: Vec<_> = (0..WRITERS)
        .map(|_| {
            let (db, peak, wal_file) = (db.clone(), peak.clone(), wal_file.clone());
            tokio::spawn(async move {
                for _ in 0..rows_each {
                    fill(&db, 1, 1024).await;
                    let size = std::fs::metadata(&wal_file).map_or(0, |m| m.len());
                    peak.fetch_max(size, Ordering::Relaxed);
                }
            })
        })
        .collect();
    for writer in writers {
        writer.await.expect("writer");
    }

    let stats = db.write_queue_stats().expect("stats");
    assert!(stats.wal_truncations >= 4, "{stats:?}");
    assert_eq!(stats.failed_groups, 0, "{stats:?}");
    let peak = peak.load(Ordering::Relaxed);
    assert!(peak <= LIMIT, "the WAL reached {peak} bytes: {stats:?}");
    let mut conn = db.get().expect("connection");
    let stored: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM filler)",
    ))
    .get_result(&mut conn)
    .expect("count");
    assert_eq!(stored, (rows_each * WRITERS) as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_wal_file_is_truncated_back_under_its_limit_while_writes_go_on() {
    const LIMIT: u64 = 1024 * 1024;
    let test_db = TestDb::new();
    let DatabaseUrl::Sqlite(path) = &test_db.url else {
        return; // PostgreSQL: no SQLite WAL to bound.
    };
    let wal_file = PathBuf::from(format!("{}-wal", path.display()));
    let wal_size = move || std::fs::metadata(&wal_file).map_or(0, |m| m.len());
    let db = Database::connect_with_wal_limit(&test_db.url, 4, LIMIT).expect("connect");
    db.write(|conn| -> Result<(), DbError> {
        Ok(conn.batch_execute("CREATE TABLE filler (data BLOB NOT NULL)")?)
    })
    .await
    .expect("table");

    // A reader keeps its snapshot: no checkpoint can copy the frames
    // written after it or empty the file, so the WAL grows past the limit.
    let (began, reading) = std::sync::mpsc::channel::<()>();
    let (release, released) = std::sync::mpsc::channel::<()>();
    let reader = std::thread::spawn({
        let db = db.clone();
        move || {
            let mut conn = db.get().expect("connection");
            conn.batch_execute("BEGIN; SELECT count(*) FROM filler;")
                .expect("read");
            began.send(()).expect("the test waits");
            released.recv().expect("released");
            conn.batch_execute("COMMIT").expect("end of the read");
        }
    });
    reading.recv().expect("the reader began");
    let mut rows = fill(&db, 32, 64 * 1024).await;
    // Every checkpoint from here on finds the file past the limit, so two
    // more include a TRUNCATE tried while the reader held on (either the
    // first, or the retry after a PASSIVE one); it left the file as it was.
    let filled = db.write_queue_stats().expect("stats").checkpoints;
    wait_for(&db, "a TRUNCATE beside the reader", |s| {
        s.checkpoints >= filled + 2
    })
    .await;
    assert!(wal_size() > 2 * LIMIT, "{} bytes", wal_size());
    let stats = db.write_queue_stats().expect("stats");
    assert_eq!(stats.wal_truncations, 0, "{stats:?}");

    // Once the reader ends, the checkpoint thread tries again and empties
    // the file, while writers keep the writer busy with back-to-back groups.
    release.send(()).expect("release");
    reader.join().expect("reader");
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|_| {
            let (db, stop) = (db.clone(), stop.clone());
            tokio::spawn(async move {
                let mut rows = 0;
                while !stop.load(Ordering::Relaxed) {
                    rows += fill(&db, 1, 1024).await;
                }
                rows
            })
        })
        .collect();
    wait_for(&db, "a truncation", |s| s.wal_truncations > 0).await;
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        let written = writer.await.expect("writer");
        assert!(written > 0, "a writer got no write through");
        rows += written;
    }
    // The last commits' checkpoint leaves the file within the limit.
    let deadline = Instant::now() + Duration::from_secs(5);
    while wal_size() > LIMIT {
        assert!(
            Instant::now() < deadline,
            "the WAL stayed at {} bytes: {:?}",
            wal_size(),
            db.write_queue_stats()
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stats = db.write_queue_stats().expect("stats");
    assert_eq!(stats.failed_groups, 0, "{stats:?}");
    assert_eq!(stats.checkpoint_failures, 0, "{stats:?}");
    let mut conn = db.get().expect("connection");
    let stored: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "(SELECT count(*) FROM filler)",
    ))
    .get_result(&mut conn)
    .expect("count");
    assert_eq!(usize::try_from(stored).expect("count"), rows);
}
