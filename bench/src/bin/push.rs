//! `push`: digest fan-out. Every user's scheduled digest is due at once;
//! how long until the FCM stand-in has accepted all of them?
//!
//! ```text
//! CARGO_TARGET_DIR=/work/bench-target cargo run --release -p deskbind-bench --bin push -- --db sqlite
//! CARGO_TARGET_DIR=/work/bench-target cargo run --release -p deskbind-bench --bin push -- --db postgres
//! ```
//!
//! No server runs. The benchmark creates a fresh database (as `records`
//! does), migrates it and writes `PushFixture`: one organisation, `--users`
//! admins with one Android device each and a daily schedule already due,
//! and `--records` call records every digest covers. It starts the FCM
//! stand-in in this process and writes its service-account file, then at t0
//! starts `--workers` simulated workers on one pool, as separate worker
//! processes would share the database. Each worker is what
//! `deskbind-worker` runs: its own `PushSender` (own access-token cache and
//! HTTP client) built from settings as in production, its own `run_sender`
//! (distinct lease owner, `--concurrency` sends in flight), and its own
//! scheduler loop calling `run_scheduler_once` until it finds nothing due.
//!
//! The headline is t0 → the last delivery the stand-in accepted. Also
//! printed: when the scheduler loops ran out of due schedules (all digests
//! queued), the send rate, each delivery's latency from t0, access tokens
//! fetched, peak RSS and the database size. `--mode phased` runs the
//! schedulers alone first and starts the senders only when every digest is
//! queued, which times the two halves separately.
//!
//! Every delivery is checked: one per device token, and every job's outcome
//! `sent`; anything else fails the run (after printing the figures).

#![allow(clippy::print_stdout)]

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use deskbind_bench::records_fixture::{self, BenchDb, DEFAULT_POSTGRES_ADMIN_URL, DbKind};
use deskbind_bench::report::Quantiles;
use deskbind_bench::sys::{CpuSample, rss_kib};
use deskbind_core::config::Settings;
use deskbind_core::db::dialect::{self, ServerProcess};
use deskbind_core::db::{self, Database};
use deskbind_core::push::PushSender;
use deskbind_core::testing::push_fixture::{PushFixture, job_outcomes};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::digests::DueReport;
use deskbind_fcm_standin::FcmStandIn;
use deskbind_worker::push::{SenderOptions, run_scheduler_once, run_sender};
use diesel::QueryableByName;
use diesel::RunQueryDsl as _;
use hdrhistogram::Histogram;
use serde_json::json;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::Layer as _;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

/// Slices of the run the delivery timeline is printed in.
const TIMELINE_SLICES: u32 = 10;

/// The issue's target: t0 to the last delivery of 100,000 digests.
const FANOUT_TARGET_SECS: f64 = 15.0;

#[derive(Parser, Debug)]
#[command(
    name = "push",
    about = "deskbind push fan-out benchmark: every user's digest due at once, time until FCM has them all"
)]
struct Args {
    /// The database to run against (a fresh one is created).
    #[arg(long, value_enum)]
    db: DbKind,
    /// Users, each with one device and a digest due at t0.
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    /// Simulated worker processes (a scheduler loop and a sender each).
    #[arg(long, default_value_t = 2)]
    workers: usize,
    /// Call records every digest covers.
    #[arg(long, default_value_t = 20)]
    records: usize,
    /// Sends in flight per worker (`SenderOptions::concurrency`).
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Database connections shared by all workers; default 4 + 2 per worker.
    #[arg(long)]
    pool: Option<u32>,
    /// concurrent: schedulers and senders start together at t0 (production).
    /// phased: senders start only when every digest is queued.
    #[arg(long, value_enum, default_value = "concurrent")]
    mode: Mode,
    /// Give up waiting for the deliveries after this long.
    #[arg(long, default_value_t = 1800)]
    timeout_secs: u64,
    /// Skip ANALYZE after the fixture is written.
    #[arg(long)]
    no_analyze: bool,
    /// An experiment on PostgreSQL: `NAME=VALUE` set on the fresh database
    /// (`ALTER DATABASE ... SET`) before any connection is made, e.g.
    /// `synchronous_commit=off`. Repeatable.
    #[arg(long, value_name = "NAME=VALUE")]
    pg_set: Vec<String>,
    /// Server and admin database for the fresh PostgreSQL database.
    #[arg(long, default_value = DEFAULT_POSTGRES_ADMIN_URL)]
    postgres_url: String,
    /// Keep the database (SQLite file or PostgreSQL database) afterwards.
    #[arg(long)]
    keep: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Concurrent,
    Phased,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.users > 0 && args.workers > 0 && args.concurrency > 0,
        "--users, --workers and --concurrency must be positive"
    );
    ensure!(
        args.records > 0,
        "--records must be positive (a scheduled digest with nothing new is not sent)"
    );
    let logged = init_logging();
    let started = Instant::now();
    let pool = match args.pool {
        Some(n) => n,
        None => u32::try_from(4 + 2 * args.workers)?,
    };
    println!(
        "push fan-out benchmark: {:?}, {} users (one device and one due digest each, {} records per digest), {} worker(s) x {} sends in flight, pool {pool}, {:?} mode",
        args.db, args.users, args.records, args.workers, args.concurrency, args.mode
    );
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load_before = deskbind_bench::sys::loadavg();
    println!("machine: {cpus} CPUs, load average {load_before}");

    let bench_db = BenchDb::create(args.db, &args.postgres_url, args.keep)?;
    println!("database: {}", bench_db.describe());
    set_on_database(&bench_db, &args.pg_set)?;
    let db = Database::connect(&bench_db.url, pool)?;
    let outcome = run(&args, &db, &bench_db, pool, cpus, &load_before, &logged).await;
    // Close the pool before the drop of `bench_db` removes the database.
    drop(db);
    let (summary, failures) = outcome?;
    println!(
        "total time {:.1} s; load average at the end {}",
        started.elapsed().as_secs_f64(),
        deskbind_bench::sys::loadavg()
    );
    println!("{}", serde_json::to_string(&summary)?);
    if !failures.is_empty() {
        bail!("the fan-out was not clean: {}", failures.join("; "));
    }
    Ok(())
}

/// What one simulated worker's scheduler loop did.
#[derive(Debug)]
struct SchedulerRun {
    report: DueReport,
    /// `run_scheduler_once` calls, the last one finding nothing due.
    calls: usize,
    finished: Instant,
}

async fn run(
    args: &Args,
    db: &Database,
    bench_db: &BenchDb,
    pool: u32,
    cpus: usize,
    load_before: &str,
    logged: &LogCounts,
) -> anyhow::Result<(serde_json::Value, Vec<String>)> {
    // Setup, not timed in the headline.
    db.run(|conn| db::run_pending(conn).map_err(anyhow::Error::from))
        .await?;
    let due_at = now_micros();
    let (users, records) = (args.users, args.records);
    let t = Instant::now();
    let fixture = db
        .run(move |conn| {
            PushFixture::create(conn, users, records, "UTC", due_at).map_err(anyhow::Error::from)
        })
        .await?;
    let fixture_secs = t.elapsed().as_secs_f64();
    println!(
        "setup: fixture of {users} users, devices and due schedules plus {records} records in {fixture_secs:.1} s ({:.0} users/s)",
        users as f64 / fixture_secs.max(1e-9)
    );
    let mut analyze_secs = None;
    if !args.no_analyze {
        let t = Instant::now();
        db.run(|conn| records_fixture::execute(conn, "ANALYZE").map_err(anyhow::Error::from))
            .await?;
        analyze_secs = Some(t.elapsed().as_secs_f64());
        println!(
            "setup: ANALYZE in {:.2} s (the planner knows the tables' sizes, as in production)",
            t.elapsed().as_secs_f64()
        );
    }
    let size_before = db_size(db, bench_db).await?;

    let standin = FcmStandIn::start().await;
    let credentials_dir = tempfile::Builder::new()
        .prefix("deskbind-bench-push")
        .tempdir()
        .context("cannot create a temp dir")?;
    let credentials = standin.write_service_account(credentials_dir.path());
    let settings = Settings {
        google_application_credentials: Some(credentials),
        fcm_endpoint: standin.endpoint(),
        ..Settings::default()
    };
    let senders = (0..args.workers)
        .map(|_| PushSender::from_settings(&settings))
        .collect::<Result<Vec<_>, _>>()?;

    // t0: every schedule is due; the workers start. CPU is sampled for this
    // process and, on PostgreSQL, the server processes doing its work.
    let (pg_backends, pg_background) = postgres_pids(db).await?;
    let mut watched = vec![std::process::id()];
    watched.extend(&pg_backends);
    watched.extend(&pg_background);
    let rss_t0 = rss_kib(std::process::id())?;
    let cpu_t0 = CpuSample::take(&watched)?;
    let cancel = CancellationToken::new();
    let t0 = Instant::now();
    let sender_options = |i: usize| SenderOptions {
        owner: format!("bench-worker-{i}"),
        concurrency: args.concurrency,
        ..SenderOptions::default()
    };
    let start_senders = |senders: Vec<PushSender>| -> Vec<JoinHandle<()>> {
        senders
            .into_iter()
            .enumerate()
            .map(|(i, sender)| {
                tokio::spawn(run_sender(
                    db.clone(),
                    sender,
                    sender_options(i),
                    cancel.clone(),
                ))
            })
            .collect()
    };
    let (mut sender_tasks, mut pending_senders) = match args.mode {
        Mode::Concurrent => (start_senders(senders), Vec::new()),
        Mode::Phased => (Vec::new(), senders),
    };
    let schedulers: Vec<JoinHandle<anyhow::Result<SchedulerRun>>> = (0..args.workers)
        .map(|_| {
            let db = db.clone();
            tokio::spawn(async move {
                let mut report = DueReport::default();
                let mut calls = 0;
                loop {
                    let once = run_scheduler_once(&db, now_micros()).await?;
                    calls += 1;
                    report += once;
                    if once.schedules == 0 {
                        return Ok(SchedulerRun {
                            report,
                            calls,
                            finished: Instant::now(),
                        });
                    }
                }
            })
        })
        .collect();
    let mut scheduled = DueReport::default();
    let mut scheduler_calls = Vec::new();
    let mut scheduler_end = t0;
    let mut scheduler_error = None;
    for task in schedulers {
        match task.await.context("a scheduler loop panicked")? {
            Ok(run) => {
                scheduled += run.report;
                scheduler_calls.push(run.calls);
                scheduler_end = scheduler_end.max(run.finished);
            }
            Err(e) => scheduler_error = Some(e),
        }
    }
    if let Some(e) = scheduler_error {
        cancel.cancel();
        for task in sender_tasks {
            let _stopped = task.await;
        }
        return Err(e.context("a scheduler loop failed"));
    }
    let cpu_sched = CpuSample::take(&watched)?;
    let scheduler_secs = (scheduler_end - t0).as_secs_f64();
    println!(
        "scheduler: {} schedules, {} digests, {} jobs queued in {scheduler_secs:.2} s (run_scheduler_once calls per worker: {scheduler_calls:?})",
        scheduled.schedules, scheduled.digests, scheduled.jobs
    );
    let send_start = match args.mode {
        Mode::Concurrent => t0,
        Mode::Phased => Instant::now(),
    };
    sender_tasks.extend(start_senders(std::mem::take(&mut pending_senders)));

    // Wait on the attempts (small records) rather than the deliveries, whose
    // copy holds every message: the peak RSS is read before that copy.
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let mut wanted = args.users;
    let mut timed_out = false;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match standin.wait_for_attempts(wanted, left).await {
            Ok(attempts) => {
                let ok = attempts.iter().filter(|a| a.status == 200).count();
                if ok >= args.users {
                    break;
                }
                // Some sends were refused or retried: wait for as many more.
                wanted = attempts.len() + (args.users - ok);
            }
            Err(_) => {
                timed_out = true;
                break;
            }
        }
    }
    let waited = t0.elapsed().as_secs_f64();
    let peak_rss = deskbind_bench::sys::peak_rss_kib()?;
    let cpu_end = CpuSample::take(&watched)?;
    let cpu_all = CpuShare::between(&cpu_t0, &cpu_end, cpus, pg_backends.len());
    let cpu_scheduling = CpuShare::between(&cpu_t0, &cpu_sched, cpus, pg_backends.len());
    let cpu_sending = CpuShare::between(&cpu_sched, &cpu_end, cpus, pg_backends.len());
    // Graceful stop: sends in flight record their outcome.
    cancel.cancel();
    for task in sender_tasks {
        task.await.context("a sender panicked")?;
    }

    // The stand-in's log of deliveries dominates this process's memory; one
    // copy of it grows the RSS by about its size.
    let rss_before_copy = rss_kib(std::process::id())?;
    let deliveries = standin.deliveries();
    let delivery_log_kib = rss_kib(std::process::id())?.saturating_sub(rss_before_copy);
    let attempts = standin.attempts();
    let refused = attempts.iter().filter(|a| a.status != 200).count();
    let tokens_fetched = standin.tokens_issued();
    let unique: HashSet<&str> = deliveries.iter().map(|d| d.device_token.as_str()).collect();
    let expected: HashSet<&str> = fixture.tokens.iter().map(String::as_str).collect();
    let missing = expected.difference(&unique).count();
    let org = fixture.org;
    let outcomes = db
        .run(move |conn| job_outcomes(conn, org).map_err(anyhow::Error::from))
        .await?;
    let size_after = db_size(db, bench_db).await?;

    let mut latency = Histogram::<u64>::new(3)?;
    let mut last = t0;
    let mut first = None::<Instant>;
    for d in &deliveries {
        latency.record(micros(d.at.saturating_duration_since(t0)))?;
        last = last.max(d.at);
        first = Some(first.map_or(d.at, |f| f.min(d.at)));
    }
    let total_secs = (last - t0).as_secs_f64();
    let first_secs = first.map_or(0.0, |f| (f - t0).as_secs_f64());
    let during_scheduler = deliveries.iter().filter(|d| d.at <= scheduler_end).count();
    let after_scheduler = deliveries.len() - during_scheduler;
    let tail_secs = last.saturating_duration_since(scheduler_end).as_secs_f64();
    // The send phase: from the senders' start (t0, or the scheduler's end
    // when phased) to the last delivery.
    let send_secs = last.saturating_duration_since(send_start).as_secs_f64();
    let send_per_sec = deliveries.len() as f64 / send_secs.max(1e-9);
    let q = Quantiles::from_micros(&latency);
    let p90_ms = latency.value_at_quantile(0.90) as f64 / 1000.0;
    let timeline = timeline(&deliveries, t0, total_secs);

    let mut failures = Vec::new();
    if timed_out {
        failures.push(format!(
            "only {} of {} deliveries within {} s",
            deliveries.len(),
            args.users,
            args.timeout_secs
        ));
    }
    if deliveries.len() != args.users {
        failures.push(format!(
            "{} deliveries for {} users",
            deliveries.len(),
            args.users
        ));
    }
    if unique.len() != deliveries.len() || missing > 0 {
        failures.push(format!(
            "{} distinct device tokens delivered ({} deliveries), {missing} devices never reached",
            unique.len(),
            deliveries.len()
        ));
    }
    if scheduled.digests != args.users || scheduled.jobs != args.users {
        failures.push(format!(
            "the schedulers queued {} digests / {} jobs for {} users",
            scheduled.digests, scheduled.jobs, args.users
        ));
    }
    let all_sent = i64::try_from(args.users)?;
    if outcomes != [(Some("sent".to_owned()), all_sent)] {
        failures.push(format!("job outcomes {outcomes:?}"));
    }
    let (warnings, errors) = logged.get();
    if errors > 0 {
        failures.push(format!("{errors} errors logged"));
    }

    println!();
    println!("== push fan-out ({:?}, {:?} mode) ==", args.db, args.mode);
    println!(
        "setup           fixture {fixture_secs:.1} s ({:.0} users/s){}",
        users as f64 / fixture_secs.max(1e-9),
        analyze_secs.map_or(String::new(), |s| format!(", ANALYZE {s:.2} s"))
    );
    println!(
        "fan-out         {} digests to the stand-in in {total_secs:.2} s: {:.0} digests/s (t0 → last delivery accepted)",
        deliveries.len(),
        deliveries.len() as f64 / total_secs.max(1e-9)
    );
    println!(
        "scheduler       all digests queued at {scheduler_secs:.2} s ({:.0} digests/s; {} workers, transactions of up to 200 schedules)",
        scheduled.digests as f64 / scheduler_secs.max(1e-9),
        args.workers
    );
    match args.mode {
        Mode::Concurrent => println!(
            "sends           first at {first_secs:.2} s; {during_scheduler} delivered while scheduling ({:.0}/s), {after_scheduler} after ({:.0}/s over the last {tail_secs:.2} s); overall {send_per_sec:.0}/s",
            during_scheduler as f64 / scheduler_secs.max(1e-9),
            after_scheduler as f64 / tail_secs.max(1e-9)
        ),
        Mode::Phased => println!(
            "sends           started at {:.2} s, alone: {} in {send_secs:.2} s ({send_per_sec:.0}/s)",
            (send_start - t0).as_secs_f64(),
            deliveries.len()
        ),
    }
    println!(
        "latency from t0 p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2} s (n={})",
        q.p50 / 1000.0,
        p90_ms / 1000.0,
        q.p99 / 1000.0,
        q.max / 1000.0,
        q.count
    );
    println!(
        "timeline        deliveries/s per tenth of the run: {}",
        timeline
            .iter()
            .map(|r| format!("{r:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    println!(
        "checks          {} deliveries, {} distinct tokens, {missing} devices missed; {refused} sends refused or retried; job outcomes {outcomes:?}; {warnings} warnings, {errors} errors logged",
        deliveries.len(),
        unique.len()
    );
    println!(
        "FCM             {tokens_fetched} access tokens fetched ({} senders)",
        args.workers
    );
    println!(
        "CPU             in % of one CPU ({cpus} CPUs): this process (workers + stand-in), {}everything else; machine busy",
        match args.db {
            DbKind::Sqlite => String::new(),
            DbKind::Postgres => format!(
                "PostgreSQL's {} backends + WAL writer, checkpointer and bgwriter, ",
                pg_backends.len()
            ),
        }
    );
    for (label, share) in [
        ("t0 → last", &cpu_all),
        ("scheduling", &cpu_scheduling),
        ("after it", &cpu_sending),
    ] {
        println!("  {label:<13} {}", share.show(args.db));
    }
    println!(
        "memory          RSS at t0 {} MiB, peak {} MiB (VmHWM); the stand-in's log of {} delivered messages is about {} MiB of that (RSS growth of one copy)",
        rss_t0 / 1024,
        peak_rss / 1024,
        deliveries.len(),
        delivery_log_kib / 1024
    );
    let mib = |b: u64| b as f64 / 1_048_576.0;
    match args.db {
        DbKind::Sqlite => println!(
            "database        SQLite file {:.0} MiB + WAL {:.0} MiB (before t0: {:.0} + {:.0} MiB)",
            mib(size_after.0),
            mib(size_after.1),
            mib(size_before.0),
            mib(size_before.1)
        ),
        DbKind::Postgres => println!(
            "database        pg_database_size {:.0} MiB (before t0: {:.0} MiB)",
            mib(size_after.0),
            mib(size_before.0)
        ),
    }
    println!(
        "target          {} digests due at once, all delivered <= {FANOUT_TARGET_SECS} s: {} ({total_secs:.2} s)",
        args.users,
        if total_secs <= FANOUT_TARGET_SECS && deliveries.len() == args.users {
            "MET"
        } else {
            "MISSED"
        }
    );
    if !failures.is_empty() {
        println!("FAILED          {}", failures.join("; "));
    }

    let summary = json!({
        "benchmark": "push",
        "database": format!("{:?}", args.db).to_lowercase(),
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "cpus": cpus,
        "load_before": load_before,
        "users": args.users,
        "workers": args.workers,
        "records": args.records,
        "concurrency": args.concurrency,
        "pool": pool,
        "pg_set": args.pg_set,
        "setup": {
            "fixture_secs": fixture_secs,
            "users_per_sec": users as f64 / fixture_secs.max(1e-9),
            "analyze_secs": analyze_secs,
        },
        "total_secs": total_secs,
        "digests_per_sec": deliveries.len() as f64 / total_secs.max(1e-9),
        "scheduler": {
            "secs": scheduler_secs,
            "schedules": scheduled.schedules,
            "digests": scheduled.digests,
            "jobs": scheduled.jobs,
            "calls_per_worker": scheduler_calls,
        },
        "sends": {
            "start_secs": (send_start - t0).as_secs_f64(),
            "first_secs": first_secs,
            "secs": send_secs,
            "per_sec": send_per_sec,
            "during_scheduler": during_scheduler,
            "after_scheduler": after_scheduler,
            "after_scheduler_secs": tail_secs,
        },
        "latency_ms": q,
        "latency_p90_ms": p90_ms,
        "timeline_per_sec": timeline,
        "deliveries": deliveries.len(),
        "distinct_tokens": unique.len(),
        "refused_or_retried": refused,
        "job_outcomes": outcomes
            .iter()
            .map(|(o, n)| (o.clone().unwrap_or_else(|| "pending".into()), *n))
            .collect::<BTreeMap<_, _>>(),
        "tokens_fetched": tokens_fetched,
        "warnings": warnings,
        "errors": errors,
        "waited_secs": waited,
        "cpu": cpu_all,
        "cpu_scheduling": cpu_scheduling,
        "cpu_after_scheduling": cpu_sending,
        "rss_t0_kib": rss_t0,
        "peak_rss_kib": peak_rss,
        "delivery_log_kib": delivery_log_kib,
        "db_bytes": size_after.0,
        "wal_bytes": size_after.1,
        "db_bytes_before": size_before.0,
        "wal_bytes_before": size_before.1,
        "ok": failures.is_empty(),
    });
    Ok((summary, failures))
}

/// CPU use over a window, in % of one CPU, except `machine_busy_pct` (0–100 %
/// of the whole machine).
#[derive(Debug, Clone, Copy, serde::Serialize)]
struct CpuShare {
    machine_busy_pct: f64,
    bench_pct: f64,
    postgres_backends_pct: f64,
    postgres_background_pct: f64,
    /// Everything else on the machine.
    others_pct: f64,
}

impl CpuShare {
    /// Between two samples of `[this process, pg backends..., pg background...]`.
    fn between(from: &CpuSample, to: &CpuSample, cpus: usize, backends: usize) -> Self {
        let (machine_busy_pct, processes) = to.since(from, cpus);
        let bench_pct = processes.first().copied().unwrap_or(0.0);
        let postgres_backends_pct: f64 = processes.iter().skip(1).take(backends).sum();
        let postgres_background_pct: f64 = processes.iter().skip(1 + backends).sum();
        let others_pct = (machine_busy_pct * cpus as f64
            - bench_pct
            - postgres_backends_pct
            - postgres_background_pct)
            .max(0.0);
        Self {
            machine_busy_pct,
            bench_pct,
            postgres_backends_pct,
            postgres_background_pct,
            others_pct,
        }
    }

    fn show(&self, db: DbKind) -> String {
        let pg = match db {
            DbKind::Sqlite => String::new(),
            DbKind::Postgres => format!(
                "{:>4.0} % + {:>2.0} %, ",
                self.postgres_backends_pct, self.postgres_background_pct
            ),
        };
        format!(
            "{:>4.0} %, {pg}{:>3.0} %; {:>3.0} % busy",
            self.bench_pct, self.others_pct, self.machine_busy_pct
        )
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Deliveries per second in each tenth of `[t0, t0 + total_secs]`.
fn timeline(
    deliveries: &[deskbind_fcm_standin::Delivery],
    t0: Instant,
    total_secs: f64,
) -> Vec<f64> {
    let slice = total_secs / f64::from(TIMELINE_SLICES);
    let mut counts = vec![0_u64; TIMELINE_SLICES as usize];
    if slice <= 0.0 {
        return vec![0.0; counts.len()];
    }
    for d in deliveries {
        let at = d.at.saturating_duration_since(t0).as_secs_f64();
        let k = ((at / slice) as usize).min(counts.len() - 1);
        counts[k] += 1;
    }
    counts.iter().map(|&n| n as f64 / slice).collect()
}

/// The database's size on disk, bytes: the SQLite file and its WAL, or
/// `pg_database_size` (and no WAL).
async fn db_size(db: &Database, bench: &BenchDb) -> anyhow::Result<(u64, u64)> {
    if bench.kind == DbKind::Sqlite {
        return records_fixture::data_size_bytes(db, bench);
    }
    let size = db
        .run(|conn| {
            dialect::database_size_bytes(conn)?.ok_or_else(|| anyhow::anyhow!("not PostgreSQL"))
        })
        .await?;
    Ok((u64::try_from(size).unwrap_or(0), 0))
}

/// `ALTER DATABASE <the fresh one> SET name = value` for each `name=value`.
fn set_on_database(bench: &BenchDb, settings: &[String]) -> anyhow::Result<()> {
    use diesel::Connection as _;
    use diesel::connection::SimpleConnection as _;
    if settings.is_empty() {
        return Ok(());
    }
    ensure!(
        bench.kind == DbKind::Postgres,
        "--pg-set needs --db postgres"
    );
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let mut conn = diesel::PgConnection::establish(&bench.url.expose_url())?;
    let db: Name = diesel::sql_query("SELECT current_database() AS name").get_result(&mut conn)?;
    for setting in settings {
        let (name, value) = setting
            .split_once('=')
            .with_context(|| format!("--pg-set {setting:?} is not NAME=VALUE"))?;
        let sql = format!("ALTER DATABASE \"{}\" SET {name} = {value}", db.name);
        conn.batch_execute(&sql)
            .with_context(|| format!("--pg-set {setting:?}"))?;
        println!("experiment: {sql}");
    }
    Ok(())
}

/// On PostgreSQL, the server processes the run keeps busy: the backends of
/// the pool's connections (all opened when the pool was built) and the WAL
/// writer, checkpointer and background writer. Empty on SQLite.
async fn postgres_pids(db: &Database) -> anyhow::Result<(Vec<u32>, Vec<u32>)> {
    let rows = db
        .run(|conn| anyhow::Ok(dialect::server_processes(conn)?))
        .await?;
    let pid = |b: &ServerProcess| u32::try_from(b.pid).ok();
    Ok((
        rows.iter().filter(|b| b.ours).filter_map(pid).collect(),
        rows.iter().filter(|b| !b.ours).filter_map(pid).collect(),
    ))
}

/// Warnings and errors the code under measurement logged (they are also
/// printed to stderr).
#[derive(Debug, Clone, Default)]
struct LogCounts(Arc<[AtomicU64; 2]>);

impl LogCounts {
    fn get(&self) -> (u64, u64) {
        (
            self.0[0].load(Ordering::Relaxed),
            self.0[1].load(Ordering::Relaxed),
        )
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogCounts {
    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let slot = match *event.metadata().level() {
            tracing::Level::WARN => 0,
            tracing::Level::ERROR => 1,
            _ => return,
        };
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }
}

/// Prints warnings and errors to stderr and counts them.
fn init_logging() -> LogCounts {
    use tracing_subscriber::filter::LevelFilter;
    let counts = LogCounts::default();
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_filter(LevelFilter::WARN),
        )
        .with(counts.clone().with_filter(LevelFilter::WARN))
        .init();
    counts
}
