//! `deskbind-vendor-phone`: one emulated Yealink, Snom, Grandstream or
//! Fanvil desk phone on the command line, for trying the relay without
//! hardware (README, "A vendor desk phone through the relay"). It reads the
//! configuration deskbind issued for it, takes its vendor's commands with
//! its login, and plays every call it is told to dial: it reports the
//! outgoing call through its Action URLs, the answer after
//! `--answer-after-ms`, and the hang-up after `--talk-ms`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use deskbind_core::vendor::Vendor;
use deskbind_vendor_emulator::{Command, EmulatedPhone, Handled, PhoneEvent, firmware};

#[derive(Debug, Parser)]
#[command(
    name = "deskbind-vendor-phone",
    about = "An emulated vendor desk phone that plays the calls it is told to dial"
)]
struct Cli {
    /// yealink, snom, grandstream or fanvil.
    #[arg(long, value_parser = parse_vendor)]
    vendor: Vendor,
    /// Where its web interface listens.
    #[arg(long, default_value = "127.0.0.1:8090")]
    listen: SocketAddr,
    #[arg(long, default_value = "admin")]
    username: String,
    #[arg(long)]
    password: String,
    /// Its MAC address, as `$mac` fills it in.
    #[arg(long, default_value = "001565aa0001")]
    mac: String,
    /// The configuration to load, as deskbind's vendor-config issued it.
    #[arg(long)]
    config_file: PathBuf,
    #[arg(long, default_value_t = 1500)]
    answer_after_ms: u64,
    #[arg(long, default_value_t = 4000)]
    talk_ms: u64,
}

fn parse_vendor(text: &str) -> Result<Vendor, String> {
    Vendor::parse(text).ok_or_else(|| "one of yealink, snom, grandstream, fanvil".to_owned())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let snippet = std::fs::read_to_string(&cli.config_file)
        .with_context(|| format!("reading {}", cli.config_file.display()))?;
    let phone = EmulatedPhone::start_at(
        cli.listen,
        cli.vendor,
        &cli.mac,
        &cli.username,
        &cli.password,
    )
    .await
    .with_context(|| format!("listening on {}", cli.listen))?;
    phone.configure(&snippet);
    eprintln!("{} phone listening on {}", cli.vendor, phone.addr);
    let ring = Duration::from_millis(cli.answer_after_ms);
    let talk = Duration::from_millis(cli.talk_ms);
    let mut seen = 0;
    let stop = tokio::signal::ctrl_c();
    tokio::pin!(stop);
    loop {
        let received = tokio::select! {
            received = phone.wait_for_requests(seen + 1) => received,
            _ = &mut stop => return Ok(()),
        };
        for request in &received[seen..] {
            eprintln!(
                "request {} -> {:?}",
                masked(&request.path_and_query),
                request.handled
            );
            if let Handled::Done(Command::Dial(number)) = &request.handled {
                tokio::spawn(play_call(phone.clone(), number.clone(), ring, talk));
            }
        }
        seen = received.len();
    }
}

/// The request as logged: Grandstream's passcode masked.
fn masked(path_and_query: &str) -> String {
    let query = path_and_query.split_once('?').map_or("", |(_, q)| q);
    match firmware::passcode(query) {
        Some(passcode) if !passcode.is_empty() => path_and_query.replace(&passcode, "***"),
        _ => path_and_query.to_owned(),
    }
}

/// Reports one call through the phone's Action URLs: out, answered, over.
async fn play_call(phone: EmulatedPhone, number: String, ring: Duration, talk: Duration) {
    let call = phone.new_call(&number);
    for (event, wait) in [
        (PhoneEvent::Outgoing, ring),
        (PhoneEvent::Established, talk),
        (PhoneEvent::Terminated, Duration::ZERO),
    ] {
        let called = phone.report(event, &call).await;
        eprintln!(
            "call {} to {number}: {event:?} reported to {} URLs",
            call.call_id,
            called.len()
        );
        tokio::time::sleep(wait).await;
    }
    eprintln!("call {} ended", call.call_id);
}
