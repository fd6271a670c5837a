//! The phone fleet: one lean WebSocket client task per phone, speaking just
//! enough of the protocol (docs/phone-protocol.md) to stay connected and to
//! acknowledge dials. The SDK's `PhoneLink` would add its own task and
//! channels per phone; at ten thousand phones the bench would then weigh
//! more than the server it measures.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use chrono::Utc;
use deskbind_core::ids::DialId;
use deskbind_core::wire::{Frame, PhoneFrame, ServerFrame};
use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::AUTHORIZATION;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

const CONNECT_ATTEMPTS: u32 = 3;
const RETRY_PAUSE: Duration = Duration::from_millis(500);
/// Frames are small JSON; the 128 KiB default buffers would make the bench,
/// not the server, the memory hog.
const READ_BUFFER_BYTES: usize = 4096;

/// Where one phone connects, with which credential.
#[derive(Debug, Clone)]
pub struct PhoneEndpoint {
    pub url: String,
    pub credential: String,
}

/// Dial frames as the phones saw them.
#[derive(Debug)]
pub struct Deliveries {
    /// Stored (the server's `created_at`) → received by the phone, in µs.
    pub latency_us: Histogram<u64>,
    pub ids: HashSet<DialId>,
    /// A command seen again (resent after a reconnect or by the sweep).
    pub duplicates: u64,
}

/// What every phone task reports into. Counters are atomics; the
/// deliveries sit behind one mutex, taken a few hundred times a second.
#[derive(Debug)]
struct Shared {
    connected: AtomicUsize,
    failed: AtomicUsize,
    /// Connections that ended after being established.
    dropped: AtomicUsize,
    /// `error` frames from the server (an ack it refused, say).
    refusals: AtomicUsize,
    first_failure: Mutex<Option<String>>,
    deliveries: Mutex<Deliveries>,
}

impl Shared {
    fn delivered(&self, id: DialId, latency_us: u64) {
        let mut d = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if d.ids.insert(id) {
            d.latency_us.saturating_record(latency_us);
        } else {
            d.duplicates += 1;
        }
    }

    fn failed(&self, error: &anyhow::Error) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        let mut first = self
            .first_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        first.get_or_insert_with(|| format!("{error:#}"));
    }
}

/// The connected phones; their tasks end when this is dropped.
#[derive(Debug)]
pub struct Fleet {
    shared: Arc<Shared>,
    gate: Arc<Semaphore>,
    tasks: Vec<JoinHandle<()>>,
}

/// Where the fleet stands.
#[derive(Debug, Clone)]
pub struct FleetStatus {
    pub connected: usize,
    pub failed: usize,
    pub dropped: usize,
    pub refusals: usize,
    pub first_failure: Option<String>,
}

impl Fleet {
    /// Starts a task per phone; at most `handshakes` connect at once, so the
    /// server's accept queue is not what the run measures.
    pub fn connect(phones: Vec<PhoneEndpoint>, handshakes: usize) -> anyhow::Result<Self> {
        let shared = Arc::new(Shared {
            connected: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            dropped: AtomicUsize::new(0),
            refusals: AtomicUsize::new(0),
            first_failure: Mutex::new(None),
            deliveries: Mutex::new(Deliveries {
                latency_us: latency_histogram()?,
                ids: HashSet::new(),
                duplicates: 0,
            }),
        });
        let mut fleet = Self {
            shared,
            gate: Arc::new(Semaphore::new(handshakes.max(1))),
            tasks: Vec::new(),
        };
        fleet.connect_more(phones);
        Ok(fleet)
    }

    /// Starts more phones, with the same limit on handshakes at once.
    pub fn connect_more(&mut self, phones: Vec<PhoneEndpoint>) {
        for phone in phones {
            let task = run_phone(phone, self.shared.clone(), self.gate.clone());
            self.tasks.push(tokio::spawn(task));
        }
    }

    pub fn status(&self) -> FleetStatus {
        FleetStatus {
            connected: self.shared.connected.load(Ordering::Relaxed),
            failed: self.shared.failed.load(Ordering::Relaxed),
            dropped: self.shared.dropped.load(Ordering::Relaxed),
            refusals: self.shared.refusals.load(Ordering::Relaxed),
            first_failure: self
                .shared
                .first_failure
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// Waits until every phone has connected or given up; the time it took.
    pub async fn wait_connected(&self, limit: Duration) -> anyhow::Result<Duration> {
        let started = Instant::now();
        let total = self.tasks.len();
        let mut reported = 0;
        loop {
            let status = self.status();
            let settled = status.connected + status.failed;
            if settled >= total {
                return Ok(started.elapsed());
            }
            if started.elapsed() > limit {
                anyhow::bail!("only {settled} of {total} phones settled after {limit:?}");
            }
            if status.connected / 1000 > reported {
                reported = status.connected / 1000;
                println!(
                    "  phones connected: {}/{total} ({:.1} s)",
                    status.connected,
                    started.elapsed().as_secs_f64()
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits (at most `limit`) until every id in `expected` was delivered.
    pub async fn wait_delivered(&self, expected: &[DialId], limit: Duration) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit && self.missing(expected) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        started.elapsed()
    }

    /// How many of `expected` no phone has received.
    pub fn missing(&self, expected: &[DialId]) -> usize {
        let d = self
            .shared
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        expected.iter().filter(|id| !d.ids.contains(id)).count()
    }

    /// Runs `f` on the deliveries so far.
    pub fn with_deliveries<T>(&self, f: impl FnOnce(&Deliveries) -> T) -> T {
        f(&self
            .shared
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// 1 µs to 10 min at 3 significant digits.
pub fn latency_histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 600_000_000, 3).map_err(|e| anyhow::anyhow!("histogram: {e:?}"))
}

async fn run_phone(phone: PhoneEndpoint, shared: Arc<Shared>, gate: Arc<Semaphore>) {
    let socket = {
        let Ok(_permit) = gate.acquire().await else {
            return;
        };
        match connect(&phone).await {
            Ok(socket) => socket,
            Err(e) => {
                shared.failed(&e);
                return;
            }
        }
    };
    shared.connected.fetch_add(1, Ordering::Relaxed);
    // A connection ends only when the server closes it or the bench is
    // done; the first is worth counting either way.
    let _ = serve(socket, &shared).await;
    shared.dropped.fetch_add(1, Ordering::Relaxed);
}

async fn connect(phone: &PhoneEndpoint) -> anyhow::Result<Socket> {
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES);
    let mut attempt = 1;
    loop {
        let mut request = phone.url.as_str().into_client_request()?;
        request.headers_mut().insert(
            AUTHORIZATION,
            HeaderValue::from_str(&format!("Bearer {}", phone.credential))?,
        );
        match tokio_tungstenite::connect_async_with_config(request, Some(config), false).await {
            Ok((socket, _)) => return Ok(socket),
            Err(e) if attempt >= CONNECT_ATTEMPTS => {
                return Err(e).with_context(|| format!("connect failed {attempt} times"));
            }
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// Answers pings and acknowledges dials, timing each dial on arrival.
async fn serve(mut socket: Socket, shared: &Shared) -> anyhow::Result<()> {
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let received_at = Utc::now();
        let frame: Frame<ServerFrame> = serde_json::from_str(text.as_str())?;
        let reply = match frame.body {
            ServerFrame::Ping { .. } => PhoneFrame::Pong,
            ServerFrame::Dial {
                command_id,
                created_at,
                ..
            } => {
                let latency = (received_at - created_at).num_microseconds().unwrap_or(0);
                shared.delivered(command_id, u64::try_from(latency).unwrap_or(0));
                PhoneFrame::Ack { command_id }
            }
            ServerFrame::Error { .. } => {
                shared.refusals.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            // Holder changes, hangups, receipts: nothing to answer.
            _ => continue,
        };
        let text = serde_json::to_string(&Frame::new(reply))?;
        socket.send(Message::text(text)).await?;
    }
    Ok(())
}
