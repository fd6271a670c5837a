//! A `deskbind-worker` process killed with SIGKILL in the middle of
//! delivering webhooks: another worker takes its deliveries over when their
//! leases expire, every event reaches the receiver, every delivery ends
//! `delivered`, and a receiver that de-duplicates by `webhook-id` sees each
//! event once. Runs the real binary against the test database
//! (DESKBIND_TEST_BACKEND) and a receiver on loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use deskbind_core::db::{self, Database, DbError};
use deskbind_core::domain::webhook_signature;
use deskbind_core::ids::WebhookEndpointId;
use deskbind_core::repo::webhook_endpoints::{self, EndpointRow};
use deskbind_core::testing::TestDb;
use deskbind_core::testing::push_fixture::PushFixture;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::webhook_outbox::{self, Event};
use deskbind_core::wire::WebhookEventType;
use diesel::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};

const EVENTS: usize = 200;
/// The first requests never get an answer: the worker is mid-send on them
/// when it dies.
const HUNG: usize = 8;

/// Every `webhook-id` the receiver answered 204, and how many requests
/// came in all.
#[derive(Default)]
struct Inbox {
    answered: Vec<String>,
    requests: usize,
}

/// A minimal HTTP/1.1 receiver: reads one request per connection, records
/// its `webhook-id`, answers 204 (or never, for the first `HUNG`).
async fn start_receiver(inbox: Arc<Mutex<Inbox>>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let inbox = inbox.clone();
            tokio::spawn(async move {
                let Some(id) = read_webhook_id(&mut socket).await else {
                    return;
                };
                let hang = {
                    let mut inbox = inbox.lock().unwrap();
                    inbox.requests += 1;
                    inbox.requests <= HUNG
                };
                if hang {
                    // Hold the connection open without answering.
                    tokio::time::sleep(Duration::from_secs(120)).await;
                    return;
                }
                let answer = b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n";
                if socket.write_all(answer).await.is_ok() {
                    inbox.lock().unwrap().answered.push(id);
                }
            });
        }
    });
    port
}

/// The request's `webhook-id`, once its headers and body are read.
async fn read_webhook_id(socket: &mut tokio::net::TcpStream) -> Option<String> {
    let mut data = Vec::new();
    let mut buf = [0u8; 4096];
    let header_end = loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).to_lowercase();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            l.strip_prefix(&format!("{name}:"))
                .map(|v| v.trim().to_owned())
        })
    };
    let length: usize = header("content-length")?.parse().ok()?;
    while data.len() < header_end + length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    header("webhook-id")
}

fn spawn_worker(test_db: &TestDb) -> Child {
    Command::new(env!("CARGO_BIN_EXE_deskbind-worker"))
        .env_clear()
        .env("DATABASE_URL", test_db.url.expose_url())
        .env("DESKBIND_DATA_DIR", test_db.dir().join("data"))
        .env("DESKBIND_WEBHOOK_ALLOWED_NETWORKS", "127.0.0.0/8")
        // A short timeout, so the lease (twice it, plus 2 s) ends soon.
        .env("DESKBIND_WEBHOOK_TIMEOUT_SECS", "1")
        .env("DESKBIND_LOG", "warn")
        .kill_on_drop(true)
        .spawn()
        .expect("start deskbind-worker")
}

fn db_error(e: impl std::fmt::Display) -> DbError {
    DbError::Query(diesel::result::Error::QueryBuilderError(
        e.to_string().into(),
    ))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(database: &Database, sql: &'static str) -> i64 {
    database
        .run(move |conn| {
            diesel::sql_query(sql)
                .get_result::<Count>(conn)
                .map(|c| c.n)
                .map_err(db_error)
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_no_webhook_and_a_receiver_sees_each_event_once() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 4).unwrap();
    database
        .run(|conn| db::run_pending(conn).map(drop).map_err(db_error))
        .await
        .unwrap();
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let port = start_receiver(inbox.clone()).await;
    let now = now_micros();
    database
        .write(move |conn| {
            let fixture = PushFixture::create(conn, 1, 0, "UTC", now).map_err(db_error)?;
            let endpoint = EndpointRow {
                id: WebhookEndpointId::new().to_string(),
                org_id: fixture.org.to_string(),
                url: format!("http://127.0.0.1:{port}/hooks"),
                description: None,
                event_types: "call.created".into(),
                secret: webhook_signature::new_secret(&[7; 32]),
                previous_secret: None,
                previous_secret_until: None,
                disabled_at: None,
                disabled_reason: None,
                created_by: fixture.user_ids[0].clone(),
                created_at: now,
                updated_at: now,
            };
            webhook_endpoints::insert(conn, &endpoint).map_err(db_error)?;
            let events: Vec<Event> = (0..EVENTS)
                .map(|i| Event {
                    kind: WebhookEventType::CallCreated,
                    ordering_key: format!("call-{i}"),
                    data: serde_json::json!({ "n": i }),
                })
                .collect();
            webhook_outbox::enqueue_in(conn, &endpoint.org_id, &events, now).map_err(db_error)
        })
        .await
        .unwrap();

    let mut doomed = spawn_worker(&test_db);
    // Wait until the doomed worker has its hung sends out and some answered.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while inbox.lock().unwrap().requests < HUNG + 10 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the first worker sends nothing"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    doomed.kill().await.expect("SIGKILL");
    let answered_before = inbox.lock().unwrap().answered.len();
    assert!(answered_before < EVENTS, "killed mid-run");

    let _successor = spawn_worker(&test_db);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let pending = count(
            &database,
            "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state <> 'delivered'",
        )
        .await;
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} deliveries never delivered"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answered = inbox.lock().unwrap().answered.clone();
    let distinct: HashSet<&String> = answered.iter().collect();
    assert_eq!(distinct.len(), EVENTS, "every event reached the receiver");
    let ids = count(
        &database,
        "SELECT COUNT(DISTINCT id) AS n FROM webhook_messages",
    )
    .await;
    assert_eq!(ids, EVENTS as i64);
    eprintln!(
        "killed after {answered_before} answered; {} answered in all, {} duplicates by webhook-id",
        answered.len(),
        answered.len() - distinct.len()
    );
}
