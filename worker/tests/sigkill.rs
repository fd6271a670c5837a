//! A `deskbind-worker` process killed with SIGKILL in the middle of sending
//! digests: another worker takes its jobs over when their leases expire, no
//! digest is lost, and every duplicate FCM receives was a send the dead
//! worker had in flight, counted on its job. Runs the real binary against
//! the test database (DESKBIND_TEST_BACKEND) and the FCM stand-in.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use deskbind_core::db::{self, Database};
use deskbind_core::testing::TestDb;
use deskbind_core::testing::push_fixture::PushFixture;
use deskbind_core::time::now_micros;
use deskbind_fcm_standin::{FcmStandIn, Reply};
use diesel::prelude::*;
use tokio::process::{Child, Command};

const USERS: usize = 300;

fn spawn_worker(test_db: &TestDb, credentials: &Path, standin: &FcmStandIn) -> Child {
    Command::new(env!("CARGO_BIN_EXE_deskbind-worker"))
        .env_clear()
        .env("DATABASE_URL", test_db.url.expose_url())
        .env("DESKBIND_DATA_DIR", test_db.dir().join("data"))
        .env("GOOGLE_APPLICATION_CREDENTIALS", credentials)
        .env("DESKBIND_FCM_ENDPOINT", standin.endpoint())
        // Short leases so the takeover comes quickly.
        .env("DESKBIND_PUSH_LEASE_SECS", "2")
        .env("DESKBIND_PUSH_CONCURRENCY", "16")
        .env("DESKBIND_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start deskbind-worker")
}

/// Waits (on the stand-in's notifications) until every device got its
/// digest at least once.
async fn until_every_device_served(standin: &FcmStandIn) {
    loop {
        let seen = standin.deliveries();
        let distinct: std::collections::HashSet<_> =
            seen.iter().map(|d| d.device_token.clone()).collect();
        if distinct.len() == USERS {
            return;
        }
        standin
            .wait_for_deliveries(seen.len() + 1, Duration::from_secs(60))
            .await
            .unwrap_or_else(|got| {
                panic!(
                    "stalled at {} deliveries, {} devices",
                    got.len(),
                    distinct.len()
                )
            });
    }
}

#[derive(QueryableByName, Debug)]
struct JobSummary {
    #[diesel(sql_type = diesel::sql_types::Text)]
    token: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    outcome: Option<String>,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    possible_duplicates: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_no_digest_and_its_duplicates_are_counted() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 4).unwrap();
    database
        .run(|conn| {
            db::run_pending(conn)
                .map(drop)
                .map_err(|e| anyhow_free(e.to_string()))
        })
        .await
        .unwrap();
    let fixture = database
        .run(|conn| PushFixture::create(conn, USERS, 4, "UTC", now_micros()))
        .await
        .unwrap();
    let standin = FcmStandIn::start().await;
    let credentials = standin.write_service_account(test_db.dir());
    // The first sends hang: the worker is mid-send on them when it dies.
    standin.script_any(vec![Reply::Hang; 8]);

    let mut doomed = spawn_worker(&test_db, &credentials, &standin);
    standin
        .wait_for_attempts(60, Duration::from_secs(60))
        .await
        .expect("the first worker sends");
    doomed.kill().await.expect("SIGKILL");
    let delivered_before_kill = standin.deliveries().len();
    assert!(delivered_before_kill < USERS, "killed mid-run");

    let mut successor = spawn_worker(&test_db, &credentials, &standin);
    until_every_device_served(&standin).await;
    // A device can be served by the dead worker, which died before writing
    // the answer: its job is sent again once its lease ends.
    until_every_job_answered(&database, fixture.org.to_string()).await;
    // SIGTERM: a graceful stop records the outcomes of sends in flight.
    let pid = successor.id().expect("running").to_string();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(30), successor.wait())
        .await
        .expect("graceful stop")
        .unwrap();
    assert!(exit.success(), "{exit:?}");

    let org = fixture.org.to_string();
    let jobs: Vec<JobSummary> = database
        .run(move |conn| {
            diesel::sql_query(format!(
                "SELECT d.token AS token, j.outcome AS outcome, j.possible_duplicates AS possible_duplicates \
                 FROM jobs j JOIN push_devices d ON d.id = j.device_id WHERE j.org_id = '{org}'"
            ))
            .load(conn)
            .map_err(|e| anyhow_free(e.to_string()))
        })
        .await
        .unwrap();
    assert_eq!(jobs.len(), USERS, "one digest per user was queued, no more");
    assert!(
        jobs.iter().all(|j| j.outcome.as_deref() == Some("sent")),
        "every digest sent: {:?}",
        jobs.iter()
            .filter(|j| j.outcome.as_deref() != Some("sent"))
            .collect::<Vec<_>>()
    );
    let mut received: HashMap<String, usize> = HashMap::new();
    for d in standin.deliveries() {
        *received.entry(d.device_token).or_default() += 1;
    }
    let counted: HashMap<&str, i64> = jobs
        .iter()
        .map(|j| (j.token.as_str(), j.possible_duplicates))
        .collect();
    let duplicates: Vec<(&String, &usize)> = received.iter().filter(|(_, n)| **n > 1).collect();
    for (token, n) in &duplicates {
        assert!(
            counted[token.as_str()] >= (**n as i64) - 1,
            "{token} arrived {n} times but its job counts {}",
            counted[token.as_str()]
        );
    }
    let extra: usize = received.values().map(|n| n - 1).sum();
    let reported: i64 = counted.values().sum();
    assert!(reported >= 8, "the hung sends are counted: {reported}");
    assert!(reported as usize >= extra);
    eprintln!(
        "killed after {delivered_before_kill} deliveries; {} deliveries in all, {extra} duplicates at FCM, {reported} possible duplicates counted",
        standin.deliveries().len()
    );
}

/// Waits until no job of `org` lacks an outcome. The answers are rows
/// nothing signals, so this polls the database (every 50 ms, at most 60 s).
async fn until_every_job_answered(database: &Database, org: String) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let org = org.clone();
        let open: i64 = database
            .run(move |conn| {
                diesel::sql_query(format!(
                    "SELECT COUNT(*) AS n FROM jobs WHERE org_id = '{org}' AND outcome IS NULL"
                ))
                .get_result::<Count>(conn)
                .map(|c| c.n)
                .map_err(|e| anyhow_free(e.to_string()))
            })
            .await
            .unwrap();
        if open == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} jobs still unanswered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// A plain error for `Database::run` without pulling in anyhow.
fn anyhow_free(message: String) -> deskbind_core::db::DbError {
    deskbind_core::db::DbError::Query(diesel::result::Error::QueryBuilderError(message.into()))
}
