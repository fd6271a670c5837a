//! A `deskbind-worker` process killed with SIGKILL while the retention
//! purge deletes recordings: at the moment of the kill no object has lost
//! its row and every row not marked `purging_at` still has its object; the
//! next run finishes the marked ones, leaving neither rows nor files. Runs
//! the real binary against the test database (DESKBIND_TEST_BACKEND) and a
//! local recordings directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use deskbind_core::db::schema::{phones, recordings, retention_policies};
use deskbind_core::db::{self, Database, DbError};
use deskbind_core::ids::RecordingId;
use deskbind_core::repo::recordings::RecordingRow;
use deskbind_core::storage::{LocalStore, Storage};
use deskbind_core::testing::TestDb;
use deskbind_core::testing::push_fixture::PushFixture;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::retention_purge;
use deskbind_core::wire::RetentionDays;
use diesel::prelude::*;
use tokio::process::{Child, Command};

const RECORDINGS: usize = 3_000;

fn db_error(e: impl std::fmt::Display) -> DbError {
    DbError::Query(diesel::result::Error::QueryBuilderError(
        e.to_string().into(),
    ))
}

fn spawn_worker(test_db: &TestDb) -> Child {
    Command::new(env!("CARGO_BIN_EXE_deskbind-worker"))
        .env_clear()
        .env("DATABASE_URL", test_db.url.expose_url())
        .env("DESKBIND_DATA_DIR", test_db.dir().join("data"))
        .env("DESKBIND_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start deskbind-worker")
}

/// The object files under the store (not its marker or spool).
fn files(root: &Path) -> HashSet<String> {
    std::fs::read_dir(root.join("purge-test"))
        .map(|dir| {
            dir.flatten()
                .map(|e| format!("purge-test/{}", e.file_name().to_string_lossy()))
                .collect()
        })
        .unwrap_or_default()
}

/// `(storage key, marked)` of every recording row.
async fn rows(database: &Database) -> Vec<(String, bool)> {
    database
        .run(|conn| {
            recordings::table
                .select((
                    recordings::storage_key,
                    recordings::purging_at.is_not_null(),
                ))
                .load::<(String, bool)>(conn)
                .map_err(DbError::from)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_purge_leaves_no_orphan_and_the_next_run_finishes_it() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 4).unwrap();
    database
        .run(|conn| db::run_pending(conn).map(drop).map_err(db_error))
        .await
        .unwrap();
    let root = test_db.dir().join("data").join("recordings");
    let store = LocalStore::open(root.clone()).unwrap();
    std::fs::create_dir_all(root.join("purge-test")).unwrap();
    let now = now_micros();
    let uploaded = now - seconds(10 * 24 * 3600);
    let store_id = store.id().to_owned();
    let keys: Vec<String> = (0..RECORDINGS)
        .map(|i| format!("purge-test/{i:05}.wav"))
        .collect();
    for key in &keys {
        std::fs::write(root.join(key), b"RIFF not really audio").unwrap();
    }
    let rows_keys = keys.clone();
    database
        .write(move |conn| {
            let fixture = PushFixture::create(conn, 1, 0, "UTC", now).map_err(db_error)?;
            let org = fixture.org.to_string();
            let phone: String = phones::table
                .filter(phones::org_id.eq(&org))
                .select(phones::id)
                .first(conn)?;
            let rows: Vec<RecordingRow> = rows_keys
                .iter()
                .enumerate()
                .map(|(i, key)| RecordingRow {
                    id: RecordingId::new().to_string(),
                    org_id: org.clone(),
                    phone_id: phone.clone(),
                    call_id: format!("call-{i}"),
                    storage_key: key.clone(),
                    size_bytes: 21,
                    sha256: "0".repeat(64),
                    format: "wav".into(),
                    duration_ms: None,
                    uploaded_at: uploaded,
                    uploaded_by: None,
                    store_id: Some(store_id.clone()),
                })
                .collect();
            for row in &rows {
                diesel::insert_into(recordings::table)
                    .values(row)
                    .execute(conn)?;
            }
            diesel::insert_into(retention_policies::table)
                .values((
                    retention_policies::org_id.eq(&org),
                    retention_policies::recording_days.eq(Some(1_i64)),
                    retention_policies::updated_at.eq(now),
                    retention_policies::updated_by.eq(&fixture.user_ids[0]),
                ))
                .execute(conn)?;
            Ok::<_, DbError>(())
        })
        .await
        .unwrap();

    // The worker purges at once on start; kill it as soon as objects go.
    let mut doomed = spawn_worker(&test_db);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while files(&root).len() == RECORDINGS {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the worker deleted nothing"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    doomed.kill().await.expect("SIGKILL");

    let on_disk = files(&root);
    let stored = rows(&database).await;
    assert!(!stored.is_empty(), "killed before the purge ended");
    let row_keys: HashSet<&String> = stored.iter().map(|(k, _)| k).collect();
    let orphans = on_disk.iter().filter(|f| !row_keys.contains(f)).count();
    assert_eq!(orphans, 0, "objects whose row is gone");
    let unmarked_missing = stored
        .iter()
        .filter(|(k, marked)| !marked && !on_disk.contains(k))
        .count();
    assert_eq!(unmarked_missing, 0, "unmarked rows whose object is gone");
    let in_window = stored
        .iter()
        .filter(|(k, marked)| *marked && !on_disk.contains(k))
        .count();
    eprintln!(
        "killed with {} rows ({} marked), {} objects; {in_window} rows between object and row delete",
        stored.len(),
        stored.iter().filter(|(_, m)| *m).count(),
        on_disk.len()
    );

    // The next run (here in-process, on the same store) finishes the job.
    let storage = Storage::Local(LocalStore::open(root.clone()).unwrap());
    let none = RetentionDays::UNCHOSEN;
    retention_purge::run(
        &database,
        &storage,
        retention_purge::PurgeOptions {
            defaults: none,
            archive: true,
        },
        now_micros(),
    )
    .await
    .unwrap();
    assert!(rows(&database).await.is_empty());
    assert!(files(&root).is_empty());
}
