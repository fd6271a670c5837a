//! `presence`: how fast one presence change reaches every manager stream
//! that follows it, on one node (SQLite).
//!
//! ```text
//! cargo build --release -p deskbind-bench -p deskbind-api
//! cargo run --release -p deskbind-bench --bin presence -- --streams 1000
//! ```
//!
//! It starts one deskbind-api process, creates a team with `--managers`
//! managers and one salesperson, and opens `--streams` event streams with
//! `presence=true`, spread over the managers (the fan-out cost is per
//! stream; one login per manager keeps the setup short). The salesperson
//! then changes their presence `--changes` times, each `PUT
//! /v1/me/presence` with its number in the status text. Latency is from
//! sending the `PUT` to each stream reading that change's `presence` event,
//! both in this process (same clock), over every (change, stream) pair.
//! Target: p99 <= 20 ms.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use deskbind_bench::report::Quantiles;
use deskbind_bench::setup;
use deskbind_core::wire::{CreateUser, PutPresence, Role};
use futures_util::StreamExt as _;
use hdrhistogram::Histogram;
use tokio::sync::mpsc;

const TARGET_P99_MS: f64 = 20.0;
/// How long one change may take to reach every stream.
const CHANGE_LIMIT: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(
    name = "presence",
    about = "deskbind presence benchmark: one change fanned out to many manager streams"
)]
struct Args {
    /// Event streams following presence.
    #[arg(long, default_value_t = 1000)]
    streams: usize,
    /// Managers the streams are spread over.
    #[arg(long, default_value_t = 10)]
    managers: usize,
    /// Presence changes, one after another.
    #[arg(long, default_value_t = 100)]
    changes: usize,
    /// The deskbind-api binary; default: next to this one.
    #[arg(long)]
    api_bin: Option<PathBuf>,
    /// Keep the scratch directory (node log, SQLite file).
    #[arg(long)]
    keep_dir: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.streams > 0 && args.managers > 0 && args.changes > 0);
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the node was stopped"),
    }
}

async fn user(
    admin: &deskbind_mobile::AppClient,
    url: &str,
    email: &str,
    role: Role,
    team: deskbind_core::ids::TeamId,
) -> anyhow::Result<deskbind_mobile::AppClient> {
    admin
        .create_user(&CreateUser {
            email: email.into(),
            display_name: email.into(),
            role,
            password: setup::PASSWORD.into(),
            time_zone: None,
            team_ids: vec![team],
        })
        .await
        .with_context(|| format!("cannot create {email}"))?;
    setup::login(url, email).await
}

/// Reads one stream; sends the number of each change it sees.
async fn follow(
    response: reqwest::Response,
    seen: mpsc::UnboundedSender<(usize, Instant)>,
) -> anyhow::Result<()> {
    let mut body = response.bytes_stream();
    let mut buffer = String::new();
    while let Some(chunk) = body.next().await {
        buffer.push_str(std::str::from_utf8(&chunk?)?);
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            if !event.starts_with("event: presence") {
                continue;
            }
            if let Some(n) = event
                .split("\"status_text\":\"bench-")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .and_then(|n| n.parse().ok())
            {
                let _ = seen.send((n, Instant::now()));
            }
        }
    }
    Ok(())
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let (_cluster, url, admin) =
        setup::one_node(setup::api_bin(args.api_bin.as_deref())?, args.keep_dir).await?;
    let team = admin.create_team("Bench team").await?;
    let seller = user(
        &admin,
        &url,
        "seller@bench.example",
        Role::Salesperson,
        team.id,
    )
    .await?;
    let mut tokens = Vec::with_capacity(args.managers);
    for m in 0..args.managers {
        let email = format!("manager{m}@bench.example");
        let manager = user(&admin, &url, &email, Role::Manager, team.id).await?;
        tokens.push(manager.tokens().await.context("no token")?.0);
    }

    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()?;
    let (seen_tx, mut seen) = mpsc::unbounded_channel();
    for s in 0..args.streams {
        let response = http
            .get(format!(
                "{}/v1/events?presence=true",
                url.trim_end_matches('/')
            ))
            .bearer_auth(&tokens[s % tokens.len()])
            .send()
            .await?
            .error_for_status()?;
        tokio::spawn(follow(response, seen_tx.clone()));
    }
    drop(seen_tx);
    // Let the streams' own announcements (each open is one) drain.
    tokio::time::sleep(Duration::from_secs(2)).await;
    while seen.try_recv().is_ok() {}

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let sent_at = Arc::new(std::sync::Mutex::new(Vec::with_capacity(args.changes)));
    for n in 0..args.changes {
        let state = if n % 2 == 0 { "away" } else { "available" };
        let sent = Instant::now();
        sent_at
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?
            .push(sent);
        seller
            .set_my_presence(&PutPresence {
                state: state.into(),
                status_text: Some(format!("bench-{n}")),
                until: None,
            })
            .await?;
        let mut reached = 0;
        while reached < args.streams {
            let (got, at) = tokio::time::timeout(CHANGE_LIMIT, seen.recv())
                .await
                .with_context(|| format!("change {n} reached {reached} streams only"))?
                .context("the streams ended")?;
            if got == n {
                reached += 1;
                latency.record(u64::try_from((at - sent).as_micros()).unwrap_or(u64::MAX))?;
            }
        }
    }

    let q = Quantiles::from_micros(&latency);
    println!();
    println!("== presence fan-out benchmark ==");
    println!(
        "fan-out         {} changes, each to {} streams of {} managers",
        args.changes, args.streams, args.managers
    );
    deskbind_bench::report::print_latency("PUT -> event", &q, TARGET_P99_MS);
    Ok(())
}
