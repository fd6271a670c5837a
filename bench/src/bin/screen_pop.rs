//! `screen-pop`: how fast an incoming call's screen pop reaches the app,
//! phone frame → app event, on one node (SQLite).
//!
//! ```text
//! cargo build --release -p deskbind-bench -p deskbind-api
//! cargo run --release -p deskbind-bench --bin screen-pop -- --calls 500
//! ```
//!
//! It starts one deskbind-api process, sets up a user holding a phone, a
//! contact for the caller's number and `--history` calls with it (so each
//! pop runs the full lookup), opens the user's event stream, connects the
//! phone, then sends `incoming` frames one after another. Latency is from
//! sending the frame to reading its `incoming_call` event on the stream,
//! both in this process (same clock). Target: p99 <= 20 ms.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use chrono::Utc;
use clap::Parser;
use deskbind_bench::report::Quantiles;
use deskbind_bench::setup::{self, Plan};
use deskbind_core::wire::{AppEvent, CallDirection, CallRecordUpload, CallResult, CreateContact};
use deskbind_mobile::{LinkOptions, PhoneClient};
use hdrhistogram::Histogram;

/// The p99 the pop must meet.
const TARGET_P99_MS: f64 = 20.0;
const CALLER: &str = "+4930555000";
/// How long one pop may take before the run counts it as lost.
const POP_LIMIT: Duration = Duration::from_secs(10);

#[derive(Parser, Debug)]
#[command(
    name = "screen-pop",
    about = "deskbind screen pop benchmark: phone frame to app event latency"
)]
struct Args {
    /// Incoming calls sent, one after another.
    #[arg(long, default_value_t = 500)]
    calls: u32,
    /// Calls with the caller stored before (the pop lists the latest 10).
    #[arg(long, default_value_t = 20)]
    history: u32,
    /// Pause between calls, in milliseconds.
    #[arg(long, default_value_t = 5)]
    pause_ms: u64,
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
    ensure!(args.calls > 0, "--calls must be at least 1");
    tokio::select! {
        result = run(&args) => result,
        _ = tokio::signal::ctrl_c() => bail!("interrupted; the node was stopped"),
    }
}

async fn run(args: &Args) -> anyhow::Result<()> {
    let (_cluster, url, admin) =
        setup::one_node(setup::api_bin(args.api_bin.as_deref())?, args.keep_dir).await?;
    let urls = [url.clone()];
    let sessions = setup::dialers(&admin, &urls, 1).await?;
    let plan = Plan {
        phones: 1,
        dialing_phones: 1,
        dialers: 1,
        nodes: 1,
        concurrency: 1,
    };
    let phone = setup::phones(&admin, &sessions, &urls, &plan)
        .await?
        .pop()
        .context("no phone was set up")?;
    let user = &sessions[0][0];
    admin
        .create_contact(&CreateContact {
            name: Some("Bench Caller".into()),
            company: Some("Bench Ltd".into()),
            numbers: vec![CALLER.into()],
            ..CreateContact::default()
        })
        .await
        .context("cannot create the contact")?;
    let device = PhoneClient::new(&url, &phone.credential)?;
    let history: Vec<CallRecordUpload> = (0..args.history)
        .map(|i| {
            let started = Utc::now() - chrono::Duration::minutes(i64::from(i) + 1);
            CallRecordUpload {
                call_id: format!("history-{i}"),
                direction: CallDirection::Inbound,
                local_number: None,
                remote_number: CALLER.into(),
                started_at: started,
                answered_at: Some(started + chrono::Duration::seconds(2)),
                ended_at: Some(started + chrono::Duration::seconds(30)),
                duration_secs: None,
                result: Some(CallResult::Answered),
                dial_id: None,
            }
        })
        .collect();
    if !history.is_empty() {
        device.upload_call_records(&history).await?;
    }

    let mut events = user.events(None).await?;
    let mut link = device.connect(LinkOptions::default())?;
    tokio::time::timeout(POP_LIMIT, link.next())
        .await
        .context("the phone did not connect")?;

    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)?;
    let mut recent = 0;
    for i in 0..args.calls {
        let call_id = format!("ring-{i}");
        let sent = Instant::now();
        link.incoming(&call_id, CALLER);
        loop {
            let event = tokio::time::timeout(POP_LIMIT, events.next())
                .await
                .with_context(|| format!("no pop of {call_id} within {POP_LIMIT:?}"))??;
            if let AppEvent::IncomingCall {
                call_id: got,
                recent_calls,
                ..
            } = event.event
                && got == call_id
            {
                latency.record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX))?;
                recent = recent_calls.len();
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(args.pause_ms)).await;
    }
    link.close().await;

    let q = Quantiles::from_micros(&latency);
    println!();
    println!("== screen pop benchmark ==");
    println!(
        "calls           {} sequential, {} ms apart; each pop lists {recent} recent calls (of {} stored)",
        args.calls, args.pause_ms, args.history
    );
    deskbind_bench::report::print_latency("frame -> event", &q, TARGET_P99_MS);
    Ok(())
}
