//! `ws-flood`: what a node's memory does when phones announce huge
//! WebSocket frames and start sending them (issue 15, item 1).
//!
//! ```text
//! cargo build -p deskbind-api -p deskbind-bench
//! target/debug/ws-flood --api-bin $BEFORE   # before: deskbind-api built at e92625d
//! target/debug/ws-flood --api-bin target/debug/deskbind-api     # after
//! ```
//!
//! It starts one deskbind-api node (SQLite) from `--api-bin`, provisions
//! `--phones` phones, connects each over a raw WebSocket and sends a frame
//! header announcing `--announced` bytes followed by up to `--mib-per-phone`
//! MiB of payload. Each phone stops when the server closes or stops reading
//! (no write progress for 5 s). The node's RSS (`VmRSS` from /proc) is read
//! before, every 100 ms during (peak) and after the flood, while every
//! connection is still open.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use clap::Parser;
use deskbind_bench::cluster::{Cluster, ClusterOptions};
use deskbind_bench::setup::{self, Plan};
use deskbind_bench::sys;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

const CHUNK: usize = 64 * 1024;
const STALL: Duration = Duration::from_secs(5);

#[derive(Parser, Debug)]
#[command(
    name = "ws-flood",
    about = "RSS of a node under oversized phone frames"
)]
struct Args {
    /// The deskbind-api binary to measure.
    #[arg(long)]
    api_bin: PathBuf,
    /// Phones that flood at once.
    #[arg(long, default_value_t = 10)]
    phones: usize,
    /// Payload length each frame header announces.
    #[arg(long, default_value_t = 100_000_000)]
    announced: u64,
    /// Payload each phone sends at most.
    #[arg(long, default_value_t = 40)]
    mib_per_phone: usize,
}

/// What one phone managed to send and what it was told.
#[derive(Debug)]
struct Outcome {
    sent: u64,
    close_code: Option<u16>,
    /// The server ended the TCP connection (EOF or reset) within a second.
    ended: bool,
    /// The connection, held open until the node's memory is read.
    _connection: (OwnedReadHalf, OwnedWriteHalf),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.phones > 0, "--phones must be at least 1");
    let cluster = Cluster::start(&ClusterOptions {
        nodes: 1,
        api_bin: args.api_bin.clone(),
        database_url: None,
        redis_url: String::new(),
        db_pool_size: 8,
        keep_dir: false,
        postgres: false,
    })
    .await?;
    let node = &cluster.nodes()[0];
    let url = node.base_url();
    cluster
        .init_admin(setup::ORG, setup::ADMIN_EMAIL, setup::PASSWORD)
        .await?;
    let admin = setup::login(&url, setup::ADMIN_EMAIL).await?;
    let plan = Plan {
        phones: args.phones,
        dialing_phones: 0,
        dialers: 1,
        nodes: 1,
        concurrency: 8,
    };
    let phones = setup::phones(&admin, &[], std::slice::from_ref(&url), &plan).await?;
    let port: u16 = url
        .trim_end_matches('/')
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .context("no port in the node's URL")?;

    let pid = node.pid();
    let before = sys::rss_kib(pid)?;
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = tokio::spawn(sample_peak(pid, peak.clone(), done.clone()));
    let started = Instant::now();
    let floods = phones.iter().map(|phone| {
        let credential = phone.credential.clone();
        let (announced, limit) = (args.announced, (args.mib_per_phone * 1024 * 1024) as u64);
        tokio::spawn(async move { flood(port, &credential, announced, limit).await })
    });
    let mut outcomes = Vec::new();
    for flood in futures_util::future::join_all(floods).await {
        outcomes.push(flood??);
    }
    let elapsed = started.elapsed();
    let after = sys::rss_kib(pid)?;
    done.store(true, Ordering::Relaxed);
    sampler.await?;
    drop(cluster);

    let sent: u64 = outcomes.iter().map(|o| o.sent).sum();
    let closed_1009 = outcomes
        .iter()
        .filter(|o| o.close_code == Some(1009))
        .count();
    println!("api binary:        {}", args.api_bin.display());
    println!(
        "phones:            {} (each announces {} bytes, sends up to {} MiB)",
        args.phones, args.announced, args.mib_per_phone
    );
    println!(
        "payload written:   {:.1} MiB in total ({:.1} s)",
        sent as f64 / 1048576.0,
        elapsed.as_secs_f64()
    );
    let ended = outcomes.iter().filter(|o| o.ended).count();
    println!("closed with 1009:  {closed_1009} of {}", args.phones);
    println!("connection ended:  {ended} of {}", args.phones);
    println!("RSS before:        {} MiB", before / 1024);
    println!(
        "RSS peak:          {} MiB",
        peak.load(Ordering::Relaxed) / 1024
    );
    println!("RSS after:         {} MiB", after / 1024);
    Ok(())
}

async fn sample_peak(pid: u32, peak: Arc<AtomicU64>, done: Arc<AtomicBool>) {
    while !done.load(Ordering::Relaxed) {
        if let Ok(rss) = sys::rss_kib(pid) {
            peak.fetch_max(rss, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Upgrades, announces `announced` bytes and sends up to `limit` of them.
/// Keeps the connection open until the caller has read the node's memory.
async fn flood(port: u16, credential: &str, announced: u64, limit: u64) -> anyhow::Result<Outcome> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await?;
    let request = format!(
        "GET /v1/phone/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {credential}\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    while !received.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            bail!("closed during the handshake");
        }
        received.extend_from_slice(&buf[..n]);
    }
    if !received.starts_with(b"HTTP/1.1 101") {
        bail!("no upgrade: {}", String::from_utf8_lossy(&received));
    }
    // Text frame, FIN, masked, 64-bit length, then the mask key.
    let mut header = vec![0x81, 0x80 | 127];
    header.extend_from_slice(&announced.to_be_bytes());
    header.extend_from_slice(&[1, 2, 3, 4]);
    stream.write_all(&header).await?;

    let (mut reader, mut writer) = stream.into_split();
    let chunk = vec![b'x'; CHUNK];
    let mut sent = 0u64;
    while sent < limit {
        match tokio::time::timeout(STALL, writer.write_all(&chunk)).await {
            Ok(Ok(())) => sent += CHUNK as u64,
            // Closed by the server, or it stopped reading.
            Ok(Err(_)) | Err(_) => break,
        }
    }
    let (close_code, ended) = read_close(&mut reader).await;
    Ok(Outcome {
        sent,
        close_code,
        ended,
        _connection: (reader, writer),
    })
}

/// The code of the first close frame the server sent, and whether it
/// ended the connection, both within a second.
async fn read_close(reader: &mut OwnedReadHalf) -> (Option<u16>, bool) {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    loop {
        match tokio::time::timeout_at(deadline, reader.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            Ok(_) => return (close_code_in(&seen), true),
            Err(_) => return (close_code_in(&seen), false),
        }
    }
}

/// Walks unmasked server frames (after the handshake head) to a close frame.
fn close_code_in(bytes: &[u8]) -> Option<u16> {
    let start = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(0, |i| i + 4);
    let mut rest = &bytes[start..];
    while rest.len() >= 2 {
        let (opcode, short) = (rest[0] & 0x0F, rest[1] & 0x7F);
        let (len, offset) = match short {
            126 => (
                usize::from(u16::from_be_bytes([*rest.get(2)?, *rest.get(3)?])),
                4,
            ),
            127 => return None,
            n => (usize::from(n), 2),
        };
        let payload = rest.get(offset..offset + len)?;
        if opcode == 0x8 {
            return Some(u16::from_be_bytes([*payload.first()?, *payload.get(1)?]));
        }
        rest = &rest[offset + len..];
    }
    None
}
