//! `vendor-relay`: how fast an app's dial reaches a vendor desk phone
//! through the office relay, with 200 emulated phones on one relay
//! (issue 22; docs/performance.md, "Vendor phones through the relay").
//!
//! ```text
//! cargo build --release -p deskbind-bench -p deskbind-api
//! cargo run --release -p deskbind-bench --bin vendor-relay -- --phones 200 --dials 2000 --rate 50
//! ```
//!
//! It starts one deskbind-api process (SQLite, or a fresh PostgreSQL
//! database with `--db postgres`), creates `--phones` desk phones with
//! their driver (`--vendor`, by default the four vendors in turn), one
//! salesperson granted and bound to each, an emulated handset per phone
//! and one in-process relay driving them all, each handset configured
//! with the server's relay-mode snippet. Once every relay link is up, the
//! salespeople dial their own phones in turn, `--rate` dials a second,
//! `--dials` in all. Latency is from just before `POST /v1/dials` is sent
//! to the handset's arrival stamp of the vendor HTTP request with that
//! dial's number: one process, one monotonic clock. Target: p99 ≤ 20 ms.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use clap::Parser;
use deskbind_bench::setup;
use deskbind_bench::sys::{self, CpuSample};
use deskbind_bench::vendor_report::{Figures, VendorSummary};
use deskbind_bench::{vendor_calls, vendor_dials, vendor_office, vendor_rig};
use deskbind_core::vendor::Vendor;

/// How long every relay link may take to come up.
const LINKS_LIMIT: Duration = Duration::from_secs(120);
/// How long to wait for requests still in flight after the last dial.
const DRAIN: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Db {
    Sqlite,
    Postgres,
}

#[derive(Parser, Debug)]
#[command(
    name = "vendor-relay",
    about = "deskbind vendor relay benchmark: app dial to the desk phone's HTTP request"
)]
struct Args {
    /// Emulated desk phones on the relay, one salesperson each.
    #[arg(long, default_value_t = 200)]
    phones: usize,
    /// The phones' driver: all (the four in turn), yealink, snom,
    /// grandstream or fanvil.
    #[arg(long, default_value = "all")]
    vendor: String,
    /// Dials sent in all.
    #[arg(long, default_value_t = 2000)]
    dials: usize,
    /// Dials per second.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Handsets report each call (outgoing, then given up 0.5 s later)
    /// through the relay, which sends its frames and call record.
    #[arg(long)]
    call_events: bool,
    /// The server's database.
    #[arg(long, value_enum, default_value_t = Db::Sqlite)]
    db: Db,
    /// Phones and salespeople set up at once.
    #[arg(long, default_value_t = 8)]
    setup_concurrency: usize,
    /// The deskbind-api binary; default: next to this one.
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// Keep the scratch directory (server log, SQLite file).
    #[arg(long)]
    keep_dir: bool,
}

impl Args {
    fn vendors(&self) -> anyhow::Result<Vec<Vendor>> {
        let cycle: Vec<Vendor> = match self.vendor.as_str() {
            "all" => Vendor::ALL.to_vec(),
            name => vec![Vendor::parse(name).ok_or_else(|| {
                anyhow::anyhow!("--vendor must be all, yealink, snom, grandstream or fanvil")
            })?],
        };
        Ok((0..self.phones).map(|i| cycle[i % cycle.len()]).collect())
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // The relay's own warnings (a refused login, a dial it could not send).
    let filter = tracing_subscriber::EnvFilter::try_from_env("DESKBIND_BENCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    ensure!(args.phones > 0, "--phones must be at least 1");
    ensure!(
        args.dials > 0 && args.rate > 0,
        "--dials and --rate must be positive"
    );
    // Per phone: a listener and its accepted connection, the relay's
    // connection to it and its link, the salesperson's session.
    sys::check_fd_limit(args.phones as u64 * 6 + 100)?;
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the server was stopped"),
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let vendors = args.vendors()?;
    let setup_started = Instant::now();
    let (cluster, url, admin) = setup::one_node_on(
        setup::api_bin(args.api_bin.as_deref())?,
        args.keep_dir,
        args.db == Db::Postgres,
    )
    .await?;
    let server_pid = cluster.nodes()[0].pid();
    let phones = vendor_office::set_up(&admin, &url, &vendors, args.setup_concurrency).await?;
    // Without call events the tracker would report every dial failed 15 s
    // on (its call never started), a server write per dial in the middle
    // of the run; it waits past the run instead.
    let match_window = if args.call_events {
        deskbind_core::vendor::TrackerConfig::default()
            .match_window
            .to_std()?
    } else {
        Duration::from_secs(3600)
    };
    let rig = vendor_rig::start(&admin, &url, &phones, match_window).await?;
    let links_up = vendor_rig::wait_connected(&rig.relay, LINKS_LIMIT).await?;
    println!(
        "all {} relay links up after {:.2} s",
        phones.len(),
        links_up.as_secs_f64()
    );
    let setup_secs = setup_started.elapsed().as_secs_f64();
    let calling = args
        .call_events
        .then(|| vendor_calls::follow(&rig.handsets));

    let office = phones.len();
    let users = Arc::new(
        phones
            .into_iter()
            .map(|p| (p.user, p.id))
            .collect::<Vec<_>>(),
    );
    println!(
        "dialing {}/s, {} dials over {office} phones",
        args.rate, args.dials
    );
    let loadavg_before = sys::loadavg();
    let pids = [server_pid, std::process::id()];
    let cpu_before = CpuSample::take(&pids)?;
    let load = vendor_dials::run(users, args.dials, args.rate).await?;
    let cpu_after = CpuSample::take(&pids)?;
    let measured = vendor_dials::measure(&rig.handsets, &load, DRAIN).await?;
    let loadavg_after = sys::loadavg();

    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let (busy, per_process) = cpu_after.since(&cpu_before, cpus);
    let round = |p: f64| (p * 10.0).round() / 10.0;
    let status = rig.relay.status();
    let summary = VendorSummary {
        phones: office,
        vendors: args.vendor.clone(),
        database: cluster.database_kind().into(),
        call_events: args.call_events,
        setup_secs: round(setup_secs),
        links_up_secs: (links_up.as_secs_f64() * 100.0).round() / 100.0,
        rate_per_sec: args.rate,
        dials_sent: load.dials.len(),
        dials_accepted: load.accepted().count(),
        send_secs: round(load.elapsed.as_secs_f64()),
        errors: load.errors.clone(),
        reached: measured.reached,
        lost: measured.lost,
        refused_by_phones: measured.refused.clone(),
        dial_to_phone_ms: Figures::from_micros(&measured.dial_to_phone),
        post_ms: Figures::from_micros(&measured.post),
        sent_to_stored_ms: Figures::from_micros(&measured.to_stored),
        stored_to_phone_ms: Figures::from_micros(&measured.stored_to_phone),
        loadavg_before,
        loadavg_after,
        cpus,
        machine_busy_pct: round(busy),
        server_cpu_pct: round(per_process.first().copied().unwrap_or(0.0)),
        bench_cpu_pct: round(per_process.get(1).copied().unwrap_or(0.0)),
        server_rss_kib: sys::rss_kib(server_pid)?,
        bench_rss_kib: sys::rss_kib(std::process::id())?,
        relay_commands_sent: status.iter().map(|s| s.commands_sent).sum(),
        relay_phones_with_errors: status.iter().filter(|s| s.last_error.is_some()).count(),
    };
    drop(calling);
    rig.relay.stop().await;
    for digest in cluster.log_digest(10) {
        println!(
            "server log: {} lines ({} errors)",
            digest.lines, digest.errors
        );
        for line in digest.first {
            println!("  | {line}");
        }
    }
    summary.print()
}
