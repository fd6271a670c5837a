//! `relay`: how fast a dial reaches its phone, and what an idle phone
//! connection costs, with thousands of phones connected.
//!
//! ```text
//! ulimit -n 20000   # must exceed --phones + 100
//! cargo build --release -p deskbind-bench -p deskbind-api
//! cargo run --release -p deskbind-bench --bin relay -- --phones 10000 --nodes 1
//! ```
//!
//! It starts `--nodes` deskbind-api processes (one: SQLite; two: a fresh
//! PostgreSQL database on 127.0.0.1 and Redis), sets up an organisation
//! through the API, connects every phone over WebSocket, then dials at
//! `--rate` for `--duration` seconds. Latency is the server's `created_at`
//! of the command (stamped as it is stored) to the moment the phone reads
//! the frame: same machine, same clock. With two nodes each dial is sent to
//! the node its phone is not connected to, so every dial crosses Redis.
//! Memory is read before, between and after two equal waves of phones;
//! the target is judged on the private memory the second wave added
//! (docs/decisions/0044-connection-memory-measure.md).

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use deskbind_bench::cluster::{Cluster, ClusterOptions};
use deskbind_bench::dials::{self, LoadResult, Target};
use deskbind_bench::phones::{Fleet, PhoneEndpoint};
use deskbind_bench::report::{CpuUse, NodeMemory, Quantiles, Summary};
use deskbind_bench::setup::{self, BenchPhone, PHONES_PER_DIALER, Plan};
use deskbind_bench::sys::{self, CpuSample, ProcessMemory};
use deskbind_mobile::AppClient;

/// How long phones sit idle before their memory is read.
const SETTLE: Duration = Duration::from_secs(2);
/// How long to wait for dials still in flight after the last one is sent.
const DRAIN: Duration = Duration::from_secs(5);
const CONNECT_LIMIT: Duration = Duration::from_secs(600);

#[derive(Parser, Debug)]
#[command(
    name = "relay",
    about = "deskbind relay benchmark: dial latency and memory per phone connection"
)]
struct Args {
    /// Phones that connect, in two equal waves (all count for memory).
    #[arg(long, default_value_t = 10_000)]
    phones: usize,
    /// API nodes: 1 (SQLite) or 2 (PostgreSQL + Redis, dials cross nodes).
    #[arg(long, default_value_t = 1)]
    nodes: usize,
    /// Users who hold phones and dial (each holds at most 100).
    #[arg(long, default_value_t = 20)]
    dialers: usize,
    /// Phones that are bound and receive dials; the rest stay idle.
    #[arg(long, default_value_t = 1000)]
    dialing_phones: usize,
    /// Dials per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// Seconds of dialing.
    #[arg(long, default_value_t = 20)]
    duration: u64,
    /// Phones set up (created, provisioned, bound) at once.
    #[arg(long, default_value_t = 32)]
    setup_concurrency: usize,
    /// WebSocket handshakes in flight at once.
    #[arg(long, default_value_t = 64)]
    handshakes: usize,
    /// The deskbind-api binary; default: next to this one.
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// The database all nodes share; default: SQLite for one node, a fresh
    /// PostgreSQL database on 127.0.0.1 (dropped afterwards) for two.
    #[arg(long)]
    database_url: Option<String>,
    /// Database connections per node.
    #[arg(long, default_value_t = 16)]
    db_pool_size: u32,
    /// Redis for two nodes.
    #[arg(long, default_value = "redis://127.0.0.1:6379")]
    redis_url: String,
    /// Keep the scratch directory (node logs, SQLite file).
    #[arg(long)]
    keep_dir: bool,
}

impl Args {
    fn check(&self) -> anyhow::Result<()> {
        ensure!((1..=2).contains(&self.nodes), "--nodes must be 1 or 2");
        ensure!(self.phones > 0, "--phones must be at least 1");
        ensure!(self.dialers > 0, "--dialers must be at least 1");
        ensure!(
            (1..=self.phones).contains(&self.dialing_phones),
            "--dialing-phones must be between 1 and --phones"
        );
        ensure!(
            self.dialing_phones <= self.dialers * PHONES_PER_DIALER,
            "--dialing-phones {} needs at least {} dialers (each holds at most {PHONES_PER_DIALER})",
            self.dialing_phones,
            self.dialing_phones.div_ceil(PHONES_PER_DIALER)
        );
        ensure!(
            self.rate > 0 && self.duration > 0,
            "--rate and --duration must be positive"
        );
        Ok(())
    }

    fn plan(&self) -> Plan {
        Plan {
            phones: self.phones,
            dialing_phones: self.dialing_phones,
            dialers: self.dialers,
            nodes: self.nodes,
            concurrency: self.setup_concurrency.max(1),
        }
    }

    /// deskbind-api from the same target directory as this binary.
    fn api_bin(&self) -> anyhow::Result<PathBuf> {
        if let Some(path) = &self.api_bin {
            return Ok(path.clone());
        }
        let me = std::env::current_exe().context("cannot find this executable")?;
        let dir = me.parent().context("this executable has no directory")?;
        Ok(dir.join("deskbind-api"))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    args.check()?;
    sys::check_fd_limit(args.phones as u64 + 100)?;
    // Dropping `run` on Ctrl-C drops its cluster, which stops the nodes.
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the nodes were stopped"),
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let cluster = Cluster::start(&ClusterOptions {
        nodes: args.nodes,
        api_bin: args.api_bin()?,
        database_url: args.database_url.clone(),
        redis_url: args.redis_url.clone(),
        db_pool_size: args.db_pool_size,
        keep_dir: args.keep_dir,
        postgres: false,
    })
    .await?;
    let urls: Vec<String> = cluster.nodes().iter().map(|n| n.base_url()).collect();
    println!(
        "started {} node(s) on {} ({}), scratch dir {}",
        urls.len(),
        urls.join(" "),
        cluster.database_kind(),
        cluster.dir().display()
    );
    let outcome = measure(args, &cluster, &urls).await;
    // The nodes' own view, next to the figures or the error.
    print_logs(&cluster);
    outcome?.print()
}

async fn measure(args: &Args, cluster: &Cluster, urls: &[String]) -> anyhow::Result<Summary> {
    cluster
        .init_admin(setup::ORG, setup::ADMIN_EMAIL, setup::PASSWORD)
        .await?;
    let admin = setup::login(&urls[0], setup::ADMIN_EMAIL).await?;
    let sessions = setup::dialers(&admin, urls, args.dialers).await?;
    println!(
        "{} dialers ready; setting up {} phones",
        sessions.len(),
        args.phones
    );
    let phones = setup::phones(&admin, &sessions, urls, &args.plan()).await?;

    let (fleet, connect_time, memory) = connect(args, cluster, &phones).await?;
    let (load, cpu) = dial(args, cluster, sessions, &phones).await?;
    fleet.wait_delivered(&load.accepted, DRAIN).await;

    let status = fleet.status();
    let lost = fleet.missing(&load.accepted);
    let (latency, received, duplicates) = fleet.with_deliveries(|d| {
        (
            Quantiles::from_micros(&d.latency_us),
            d.ids.len(),
            d.duplicates,
        )
    });
    Ok(Summary {
        phones: args.phones,
        nodes: args.nodes,
        database: cluster.database_kind().into(),
        db_pool_size: args.db_pool_size,
        dialing_phones: args.dialing_phones,
        dialers: args.dialers,
        connect_secs: (connect_time.as_secs_f64() * 100.0).round() / 100.0,
        connect_failures: status.failed,
        disconnects: status.dropped,
        refusals: status.refusals,
        rate_per_sec: args.rate,
        duration_secs: args.duration,
        dials_sent: load.sent,
        dials_accepted: load.accepted.len(),
        dials_received: received,
        dials_lost: lost,
        duplicate_frames: duplicates,
        latency_ms: latency,
        post_latency_ms: Quantiles::from_micros(&load.post_latency_us),
        errors: load.errors,
        memory,
        bench_rss_kib: sys::rss_kib(std::process::id())?,
        cpu,
    })
}

/// Connects every phone in two waves, reading each node's memory before,
/// between and after them. The second wave's growth is what one more
/// connection costs a node that holds phones already; the first also pays
/// for what any load brings once (blocking threads, allocator caches).
async fn connect(
    args: &Args,
    cluster: &Cluster,
    phones: &[BenchPhone],
) -> anyhow::Result<(Fleet, Duration, Vec<NodeMemory>)> {
    let before = node_memory(cluster)?;
    let mut endpoints: Vec<PhoneEndpoint> = phones
        .iter()
        .map(|p| PhoneEndpoint {
            url: cluster.nodes()[p.node].ws_url(),
            credential: p.credential.clone(),
        })
        .collect();
    let first_wave = phones.len() / 2;
    let second = endpoints.split_off(first_wave);
    let mut fleet = Fleet::connect(endpoints, args.handshakes)?;
    let mut connect_time = fleet.wait_connected(CONNECT_LIMIT).await?;
    tokio::time::sleep(SETTLE).await;
    let between_waves = node_memory(cluster)?;
    fleet.connect_more(second);
    connect_time += fleet.wait_connected(CONNECT_LIMIT).await?;
    let status = fleet.status();
    println!(
        "connected {} phones in {:.2} s ({} failed{})",
        status.connected,
        connect_time.as_secs_f64(),
        status.failed,
        status
            .first_failure
            .as_deref()
            .map(|e| format!("; first: {e}"))
            .unwrap_or_default()
    );
    tokio::time::sleep(SETTLE).await;
    let after = node_memory(cluster)?;
    let memory = (0..args.nodes)
        .map(|n| {
            let on_node = phones.iter().filter(|p| p.node == n).count();
            let second_wave = phones[first_wave..].iter().filter(|p| p.node == n).count();
            NodeMemory::new(
                n + 1,
                (on_node, second_wave),
                before[n],
                between_waves[n],
                after[n],
            )
        })
        .collect();
    Ok((fleet, connect_time, memory))
}

/// The dial load over the bound phones, and the CPU it took.
async fn dial(
    args: &Args,
    cluster: &Cluster,
    sessions: Vec<Vec<AppClient>>,
    phones: &[BenchPhone],
) -> anyhow::Result<(LoadResult, CpuUse)> {
    // With two nodes every dial goes to the node its phone is not on.
    let targets: Vec<Target> = phones
        .iter()
        .filter_map(|p| {
            p.holder.map(|holder| Target {
                phone: p.id,
                holder,
                node: (p.node + 1) % args.nodes,
            })
        })
        .collect();
    println!(
        "dialing {}/s for {} s over {} phones",
        args.rate,
        args.duration,
        targets.len()
    );
    let mut pids: Vec<u32> = cluster.nodes().iter().map(|n| n.pid()).collect();
    pids.push(std::process::id());
    let cpu_before = CpuSample::take(&pids)?;
    let load = dials::run(
        Arc::new(sessions),
        Arc::new(targets),
        args.rate,
        Duration::from_secs(args.duration),
    )
    .await?;
    let cpu = cpu_use(&CpuSample::take(&pids)?, &cpu_before);
    println!(
        "sent {} dials in {:.2} s; waiting for the last deliveries",
        load.sent,
        load.elapsed.as_secs_f64()
    );
    Ok((load, cpu))
}

/// CPU use between two samples of the nodes' and then the bench's pids.
fn cpu_use(now: &CpuSample, before: &CpuSample) -> CpuUse {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let (busy, mut per_process) = now.since(before, cpus);
    let round = |p: f64| (p * 10.0).round() / 10.0;
    let bench = per_process.pop().unwrap_or(0.0);
    CpuUse {
        cpus,
        machine_busy_pct: round(busy),
        nodes_pct: per_process.into_iter().map(round).collect(),
        bench_pct: round(bench),
    }
}

fn node_memory(cluster: &Cluster) -> anyhow::Result<Vec<ProcessMemory>> {
    cluster
        .nodes()
        .iter()
        .map(|n| sys::process_memory(n.pid()))
        .collect()
}

/// What the nodes logged (warnings and errors only), so a misbehaving
/// server shows up next to its figures.
fn print_logs(cluster: &Cluster) {
    for digest in cluster.log_digest(10) {
        println!(
            "node {} log: {} lines ({} errors)",
            digest.node + 1,
            digest.lines,
            digest.errors
        );
        for line in digest.first {
            println!("  | {line}");
        }
    }
}
