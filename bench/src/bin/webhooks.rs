//! `webhooks`: webhook fan-out. `--events` call events are in the outbox
//! for `--endpoints` endpoints of one organisation; how fast do
//! `--workers` webhook senders (the worker's own loop, `run_sender`)
//! deliver all of them to a receiver on loopback?
//!
//! ```text
//! cargo run --release -p deskbind-bench --bin webhooks -- --db sqlite
//! cargo run --release -p deskbind-bench --bin webhooks -- --db postgres
//! ```
//!
//! No server runs. A fresh database is migrated, one organisation gets the
//! endpoints (URLs `/hooks/{i}` of the receiver, loopback allowed as an
//! operator would allow an internal network), and the events are written
//! through `webhook_outbox::enqueue_in` in transactions of `--batch`
//! events, as ingest writes them (timed: the outbox's write rate). At t0
//! the senders start. The headline is t0 → the receiver holding every
//! (endpoint, `webhook-id`) pair, as deliveries per second against the
//! issue's target (2,000/s). Every delivery must end `delivered` and the
//! receiver must have seen each pair; anything else fails the run.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use clap::Parser;
use deskbind_bench::records_fixture::{BenchDb, DEFAULT_POSTGRES_ADMIN_URL, DbKind};
use deskbind_bench::sys::loadavg;
use deskbind_bench::webhook_receiver::Receiver;
use deskbind_core::db::{self, Database, DbError};
use deskbind_core::domain::webhook_signature;
use deskbind_core::domain::webhook_targets::TargetPolicy;
use deskbind_core::ids::WebhookEndpointId;
use deskbind_core::repo::webhook_endpoints::{self, EndpointRow};
use deskbind_core::testing::push_fixture::PushFixture;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::webhook_outbox::{self, Event};
use deskbind_core::wire::WebhookEventType;
use deskbind_worker::webhooks::{WebhookOptions, run_sender};
use diesel::QueryableByName;
use diesel::RunQueryDsl as _;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// The issue's target: deliveries per second to a local receiver.
const TARGET_PER_SEC: f64 = 2_000.0;

#[derive(Parser, Debug)]
#[command(name = "webhooks", about = "deskbind webhook fan-out benchmark")]
struct Args {
    #[arg(long, value_enum)]
    db: DbKind,
    /// Events in the outbox at t0.
    #[arg(long, default_value_t = 10_000)]
    events: usize,
    /// Endpoints subscribed to every event.
    #[arg(long, default_value_t = 10)]
    endpoints: usize,
    /// Simulated worker processes (a webhook sender each).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Events per outbox transaction while setting up.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[arg(long, default_value_t = 600)]
    timeout_secs: u64,
    #[arg(long, default_value = DEFAULT_POSTGRES_ADMIN_URL)]
    postgres_url: String,
    #[arg(long)]
    keep: bool,
    /// PostgreSQL: leave the bulk-written outbox without planner
    /// statistics (a database whose autovacuum has not analysed it yet).
    #[arg(long)]
    no_analyze: bool,
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

async fn count(db: &Database, sql: &'static str) -> anyhow::Result<i64> {
    Ok(db
        .run(move |conn| {
            diesel::sql_query(sql)
                .get_result::<Count>(conn)
                .map(|c| c.n)
                .map_err(db_error)
        })
        .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.events > 0 && args.endpoints > 0 && args.workers > 0 && args.batch > 0,
        "--events, --endpoints, --workers and --batch must be positive"
    );
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "webhook fan-out benchmark: {:?}, {} events x {} endpoints = {} deliveries, {} worker(s)",
        args.db,
        args.events,
        args.endpoints,
        args.events * args.endpoints,
        args.workers
    );
    println!("machine: {cpus} CPUs, load average {}", loadavg());
    let bench_db = BenchDb::create(args.db, &args.postgres_url, args.keep)?;
    println!("database: {}", bench_db.describe());
    let db = Database::connect(&bench_db.url, u32::try_from(4 + 2 * args.workers)?)?;
    let outcome = run(&args, &db).await;
    drop(db);
    outcome
}

async fn run(args: &Args, db: &Database) -> anyhow::Result<()> {
    db.run(|conn| db::run_pending(conn).map(drop).map_err(db_error))
        .await?;
    let receiver = Receiver::start().await?;
    let now = now_micros();
    let (endpoints, port) = (args.endpoints, receiver.port);
    let org = db
        .write(move |conn| {
            let fixture = PushFixture::create(conn, 1, 0, "UTC", now).map_err(db_error)?;
            for i in 0..endpoints {
                let row = EndpointRow {
                    id: WebhookEndpointId::new().to_string(),
                    org_id: fixture.org.to_string(),
                    url: format!("http://127.0.0.1:{port}/hooks/{i}"),
                    description: None,
                    event_types: "call.created".into(),
                    secret: webhook_signature::new_secret(&[i as u8; 32]),
                    previous_secret: None,
                    previous_secret_until: None,
                    disabled_at: None,
                    disabled_reason: None,
                    created_by: fixture.user_ids[0].clone(),
                    created_at: now,
                    updated_at: now,
                };
                webhook_endpoints::insert(conn, &row).map_err(db_error)?;
            }
            Ok::<_, DbError>(fixture.org.to_string())
        })
        .await?;

    // The outbox, written as ingest writes it: one transaction per batch.
    let t = Instant::now();
    let mut written = 0;
    while written < args.events {
        let n = args.batch.min(args.events - written);
        let events: Vec<Event> = (written..written + n)
            .map(|i| Event {
                kind: WebhookEventType::CallCreated,
                ordering_key: format!("call-{i}"),
                data: json!({ "id": format!("call-{i}"), "remote_number": "+4930123456", "duration_secs": 42 }),
            })
            .collect();
        let org = org.clone();
        db.write(move |conn| {
            webhook_outbox::enqueue_in(conn, &org, &events, now_micros()).map_err(db_error)
        })
        .await?;
        written += n;
    }
    let outbox_secs = t.elapsed().as_secs_f64();
    // What autovacuum's analyse gives a live database (off on this box).
    if args.db == DbKind::Postgres && !args.no_analyze {
        db.run(|conn| {
            diesel::sql_query("ANALYZE webhook_deliveries")
                .execute(conn)
                .map_err(db_error)
        })
        .await?;
    }
    let total = args.events * args.endpoints;
    println!(
        "outbox: {} events ({total} deliveries) written in {outbox_secs:.2} s: {:.0} events/s, {:.0} deliveries/s",
        args.events,
        args.events as f64 / outbox_secs,
        total as f64 / outbox_secs
    );

    let cancel = CancellationToken::new();
    let policy = TargetPolicy::parse("127.0.0.0/8").map_err(anyhow::Error::msg)?;
    let t0 = Instant::now();
    let senders: Vec<_> = (0..args.workers)
        .map(|i| {
            let options = WebhookOptions {
                owner: format!("bench-webhooks-{i}"),
                policy: policy.clone(),
                poll_interval: Duration::from_millis(50),
                ..WebhookOptions::default()
            };
            tokio::spawn(run_sender(db.clone(), options, cancel.clone()))
        })
        .collect();
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let mut marks = Vec::new();
    while receiver.distinct() < total {
        if Instant::now() > deadline {
            break;
        }
        let notified = receiver.changed.notified();
        let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
        let got = receiver.distinct();
        if marks.len() < 10 && got >= (marks.len() + 1) * total / 10 {
            marks.push((got, t0.elapsed().as_secs_f64()));
        }
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // Let the last outcomes be recorded before counting them.
    let settle = Instant::now() + Duration::from_secs(30);
    while count(
        db,
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state <> 'delivered'",
    )
    .await?
        > 0
        && Instant::now() < settle
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    cancel.cancel();
    for sender in senders {
        sender.await?;
    }
    let (requests, distinct) = {
        let r = receiver
            .received
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        (r.requests, r.distinct.len())
    };
    let not_delivered = count(
        db,
        "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE state <> 'delivered'",
    )
    .await?;
    let rate = distinct as f64 / elapsed;
    println!("timeline (deliveries received, seconds from t0): {marks:?}");
    println!(
        "delivered: {distinct} of {total} in {elapsed:.2} s: {rate:.0} deliveries/s; {requests} requests ({} repeated)",
        requests.saturating_sub(distinct as u64)
    );
    println!(
        "target          webhook fan-out >= {TARGET_PER_SEC:.0} deliveries/s: {rate:.0}/s -> {}",
        if rate >= TARGET_PER_SEC && distinct == total {
            "MET"
        } else {
            "MISSED"
        }
    );
    println!("load average at the end {}", loadavg());
    println!(
        "{}",
        json!({
            "bench": "webhooks", "db": format!("{:?}", args.db), "events": args.events,
            "endpoints": args.endpoints, "workers": args.workers, "outbox_secs": outbox_secs,
            "deliver_secs": elapsed, "deliveries_per_sec": rate, "requests": requests,
            "not_delivered": not_delivered,
        })
    );
    if distinct != total || not_delivered != 0 {
        bail!(
            "{} of {total} deliveries received, {not_delivered} not marked delivered",
            distinct
        );
    }
    Ok(())
}
