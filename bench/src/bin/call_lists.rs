//! `call-lists`: salespeople working one shared call-list pool through
//! simulated desk phones, on one node (SQLite, or PostgreSQL with
//! `--postgres`).
//!
//! ```text
//! cargo build --release -p deskbind-bench -p deskbind-api
//! DESKBIND_DIAL_RATE_PER_MINUTE=1000000 \
//!   ./target/release/call-lists --salespeople 100 --tasks 100000 --secs 60
//! DESKBIND_DIAL_RATE_PER_MINUTE=1000000 \
//!   ./target/release/call-lists --salespeople 100 --tasks 100000 --secs 60 --call-ms 3000
//! ```
//!
//! It starts one deskbind-api process, creates `--salespeople` users each
//! holding one simulated phone, one active list whose pool is all of them
//! and imports `--tasks` tasks (batches of 1,000). Then every salesperson
//! works the pool for `--secs` seconds, as fast as the server answers or
//! with calls of `--call-ms` on average (half to one and a half times it,
//! salespeople starting spread over the first `--call-ms`; `--in-step`
//! makes every call last exactly `--call-ms` and everyone start at once,
//! so that all of them ask for their next task in the same milliseconds):
//! `POST /v1/me/call-list/next` (the lease, timed), `POST
//! /v1/me/call-list/tasks/{id}/dial` (timed), and their phone reports the
//! call answered and ended (`POST /v1/phone/events`), which settles the
//! attempt. Power mode runs the same lease and dial from the worker, so
//! the figures are its per-call cost too. The dial rate limit (60 per user
//! and minute by default) is raised by the environment variable above;
//! without it every salesperson is held to one call a second.
//! Target: lease p99 <= 10 ms.

#![allow(clippy::print_stdout)]

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use chrono::Utc;
use clap::Parser;
use deskbind_bench::report::Quantiles;
use deskbind_bench::setup;
use deskbind_core::wire::{
    CallListPool, CallState, CreateCallList, Frame, ImportCallTask, PhoneEvents, PhoneFrame,
    UpdateCallList,
};
use deskbind_mobile::{AppClient, PhoneClient};
use hdrhistogram::Histogram;

const TARGET_LEASE_P99_MS: f64 = 10.0;
const IMPORT_BATCH: usize = 1000;

#[derive(Parser, Debug)]
#[command(
    name = "call-lists",
    about = "deskbind call-list benchmark: salespeople working one pool through simulated phones"
)]
struct Args {
    /// Salespeople working the pool, each with one phone.
    #[arg(long, default_value_t = 100)]
    salespeople: usize,
    /// Tasks in the pool.
    #[arg(long, default_value_t = 100_000)]
    tasks: usize,
    /// How long they work.
    #[arg(long, default_value_t = 60)]
    secs: u64,
    /// The deskbind-api binary; default: next to this one.
    #[arg(long)]
    api_bin: Option<std::path::PathBuf>,
    /// Keep the scratch directory (node log, SQLite file).
    #[arg(long)]
    keep_dir: bool,
    /// How long a simulated call lasts on average, from answered to
    /// ended; 0: no pause (every salesperson leases again as soon as the
    /// server answers, a throughput test rather than a day's work).
    #[arg(long, default_value_t = 0)]
    call_ms: u64,
    /// With `--call-ms`: every salesperson starts at the same instant and
    /// every call lasts exactly `--call-ms`, so all of them ask for their
    /// next task within the same milliseconds, call after call (the worst
    /// case). Without it, calls last between half and one and a half
    /// times `--call-ms` (uniformly) and salespeople start spread over the
    /// first `--call-ms`, as an office does.
    #[arg(long)]
    in_step: bool,
    /// The list's order (`priority`, the default of a new list, `import`
    /// or `due`).
    #[arg(long, default_value = "priority")]
    order: String,
    /// Run the node on a fresh PostgreSQL database (127.0.0.1:5432, user
    /// postgres) instead of SQLite.
    #[arg(long)]
    postgres: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.salespeople > 0 && args.tasks > 0 && args.secs > 0);
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the node was stopped"),
    }
}

/// What one salesperson measured.
struct Worked {
    lease: Histogram<u64>,
    dial: Histogram<u64>,
    calls: u64,
}

fn micros(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX)
}

/// Leases, dials and (through the phone) ends calls until `until`.
/// The phone posts `events`; any refused is an error.
async fn report(phone: &PhoneClient, events: Vec<Frame<PhoneFrame>>) -> anyhow::Result<()> {
    let results = phone
        .post_events(&PhoneEvents { events })
        .await
        .context("phone events")?;
    if let Some(error) = results.results.iter().find_map(|r| r.error.as_ref()) {
        bail!("the phone's report was refused: {}", error.code);
    }
    Ok(())
}

/// How long the salespeople's calls last, and when each starts.
#[derive(Debug, Clone, Copy)]
struct Pace {
    call: Duration,
    in_step: bool,
}

impl Pace {
    /// How long one call lasts (`rng` seeded per salesperson: runs repeat).
    fn call(&self, rng: &mut fastrand::Rng) -> Duration {
        if self.in_step || self.call.is_zero() {
            return self.call;
        }
        self.call.mul_f64(0.5 + rng.f64())
    }

    /// When a salesperson starts working, after the first one.
    fn start_offset(&self, rng: &mut fastrand::Rng) -> Duration {
        if self.in_step {
            return Duration::ZERO;
        }
        self.call.mul_f64(rng.f64())
    }
}

async fn work(
    seller: AppClient,
    phone: PhoneClient,
    who: usize,
    until: Instant,
    pace: Pace,
) -> anyhow::Result<Worked> {
    let mut worked = Worked {
        lease: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        dial: Histogram::new_with_bounds(1, 60_000_000, 3)?,
        calls: 0,
    };
    let mut rng = fastrand::Rng::with_seed(who as u64);
    tokio::time::sleep(pace.start_offset(&mut rng)).await;
    while Instant::now() < until {
        let started = Instant::now();
        let next = seller.next_call_task(None).await.context("next")?;
        worked.lease.record(micros(started))?;
        let Some(task) = next.task else {
            break;
        };
        let started = Instant::now();
        let dialled = seller.dial_call_task(task.id, None).await.context("dial")?;
        worked.dial.record(micros(started))?;
        let event = |state| {
            Frame::new(PhoneFrame::CallEvent {
                call_id: format!("bench-{who}-{}", worked.calls),
                command_id: Some(dialled.dial.id),
                state,
                result: None,
                at: Utc::now(),
            })
        };
        let answered = vec![
            Frame::new(PhoneFrame::Ack {
                command_id: dialled.dial.id,
            }),
            event(CallState::Dialing),
            event(CallState::Answered),
        ];
        report(&phone, answered).await?;
        let call = pace.call(&mut rng);
        if !call.is_zero() {
            // The simulated conversation.
            tokio::time::sleep(call).await;
        }
        report(&phone, vec![event(CallState::Ended)]).await?;
        worked.calls += 1;
    }
    Ok(worked)
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let (_cluster, url, admin) = setup::one_node_on(
        setup::api_bin(args.api_bin.as_deref())?,
        args.keep_dir,
        args.postgres,
    )
    .await?;
    let urls = vec![url.clone()];
    let sessions = setup::dialers(&admin, &urls, args.salespeople).await?;
    let plan = setup::Plan {
        phones: args.salespeople,
        dialing_phones: args.salespeople,
        dialers: args.salespeople,
        nodes: 1,
        concurrency: 8,
    };
    let phones = setup::phones(&admin, &sessions, &urls, &plan).await?;
    let mut pool = Vec::with_capacity(args.salespeople);
    for per_node in &sessions {
        pool.push(per_node[0].me().await?.id);
    }
    let list = admin
        .create_call_list(&CreateCallList {
            order: Some(args.order.clone()),
            min_recall_gap_secs: Some(0),
            pool: CallListPool {
                team_id: None,
                user_ids: pool,
            },
            ..CreateCallList::named("Bench pool")
        })
        .await?;
    let started = Instant::now();
    for first in (0..args.tasks).step_by(IMPORT_BATCH) {
        let rows = (first..(first + IMPORT_BATCH).min(args.tasks))
            .map(|i| ImportCallTask::number(format!("+1650{:07}", 2_000_000 + i)))
            .collect();
        let imported = admin.import_call_tasks(list.id, rows).await?;
        ensure!(
            imported.rejected == 0 && imported.dropped == 0,
            "import refused rows"
        );
    }
    let import_secs = started.elapsed().as_secs_f64();
    println!(
        "  imported {} tasks in {import_secs:.1} s ({:.0} tasks/s)",
        args.tasks,
        args.tasks as f64 / import_secs
    );
    admin
        .update_call_list(
            list.id,
            &UpdateCallList {
                version: list.version,
                name: None,
                state: Some("active".into()),
            },
        )
        .await?;

    let until = Instant::now() + Duration::from_secs(args.secs);
    let started = Instant::now();
    let mut running = Vec::with_capacity(args.salespeople);
    for (who, (per_node, phone)) in sessions.into_iter().zip(&phones).enumerate() {
        let seller = per_node.into_iter().next().context("no session")?;
        let phone = PhoneClient::new(&url, &phone.credential)?;
        let pace = Pace {
            call: Duration::from_millis(args.call_ms),
            in_step: args.in_step,
        };
        running.push(tokio::spawn(work(seller, phone, who, until, pace)));
    }
    let mut lease = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut dial = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut calls = 0;
    for r in running {
        let worked = r.await??;
        lease.add(&worked.lease)?;
        dial.add(&worked.dial)?;
        calls += worked.calls;
    }
    let secs = started.elapsed().as_secs_f64();

    println!();
    println!("== call-list benchmark ==");
    println!(
        "pool            {} tasks in {} order, {} salespeople with one simulated phone each, {:.0} s, calls of {} ms{}",
        args.tasks,
        args.order,
        args.salespeople,
        secs,
        args.call_ms,
        match (args.call_ms, args.in_step) {
            (0, _) => "",
            (_, true) => " (in step: all at once)",
            (_, false) => " on average (0.5x to 1.5x, staggered starts)",
        }
    );
    println!(
        "worked          {calls} tasks (lease, dial, answered and ended): {:.0} tasks/s",
        calls as f64 / secs
    );
    let d = Quantiles::from_micros(&dial);
    println!(
        "dial            p50 {:.3}  p99 {:.3}  p99.9 {:.3}  max {:.3} ms (n={}; no target)",
        d.p50, d.p99, d.p999, d.max, d.count
    );
    deskbind_bench::report::print_latency(
        "lease (next)",
        &Quantiles::from_micros(&lease),
        TARGET_LEASE_P99_MS,
    );
    Ok(())
}
