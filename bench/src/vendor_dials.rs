//! The dial load through the relay: `POST /v1/dials` at a steady rate, the
//! phones taken in turn (each salesperson dials their own phone), every
//! dial to a number of its own. Each dial's clock starts just before its
//! request is sent; it stops at the `Received.at` the emulated phone
//! stamped on the vendor HTTP request carrying that number. Both are
//! `Instant`s of this process.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use deskbind_core::ids::PhoneId;
use deskbind_mobile::{AppClient, ClientError};
use deskbind_vendor_emulator::{Command, EmulatedPhone, Handled};
use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::phones::latency_histogram;

/// One dial as the app sent it.
#[derive(Debug, Clone)]
pub struct SentDial {
    /// Index of the phone (and its salesperson).
    pub phone: usize,
    pub number: String,
    /// Just before the request was sent.
    pub sent_at: Instant,
    pub sent_wall: DateTime<Utc>,
    /// The server's stamp as it stored the dial, when accepted.
    pub created_at: Option<DateTime<Utc>>,
    /// Request sent → answer read.
    pub post: Duration,
}

#[derive(Debug)]
pub struct DialLoad {
    pub dials: Vec<SentDial>,
    /// Refused or failed requests by error code.
    pub errors: BTreeMap<String, u64>,
    pub elapsed: Duration,
}

/// Sends `count` dials at `rate` a second over `users` (`(session, phone)`,
/// in phone order), phone `k % n` for the k-th. The ticker bursts to catch
/// up after a stall, so the offered rate stays what was asked for.
pub async fn run(
    users: Arc<Vec<(AppClient, PhoneId)>>,
    count: usize,
    rate: u32,
) -> anyhow::Result<DialLoad> {
    anyhow::ensure!(!users.is_empty(), "no phone to dial");
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    let mut load = DialLoad {
        dials: Vec::with_capacity(count),
        errors: BTreeMap::new(),
        elapsed: Duration::ZERO,
    };
    for k in 0..count {
        ticker.tick().await;
        in_flight.spawn(dial_one(users.clone(), k % users.len(), number_for(k)));
        while let Some(done) = in_flight.try_join_next() {
            load.record(done?);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        load.record(done?);
    }
    load.elapsed = started.elapsed();
    Ok(load)
}

/// A Berlin number of the dial's own, in E.164 as the server stores it.
fn number_for(k: usize) -> String {
    format!("+49302{:07}", k % 10_000_000)
}

impl DialLoad {
    fn record(&mut self, (dial, error): (SentDial, Option<String>)) {
        if let Some(code) = error {
            *self.errors.entry(code).or_default() += 1;
        }
        self.dials.push(dial);
    }

    /// The dials the server accepted.
    pub fn accepted(&self) -> impl Iterator<Item = &SentDial> {
        self.dials.iter().filter(|d| d.created_at.is_some())
    }
}

async fn dial_one(
    users: Arc<Vec<(AppClient, PhoneId)>>,
    phone: usize,
    number: String,
) -> (SentDial, Option<String>) {
    let (client, phone_id) = &users[phone];
    let sent_wall = Utc::now();
    let sent_at = Instant::now();
    let outcome = client.dial(&number, Some(*phone_id), None).await;
    let post = sent_at.elapsed();
    let (created_at, number, error) = match outcome {
        Ok(dial) => (Some(dial.created_at), dial.number, None),
        Err(e) => (None, number, Some(error_code(&e))),
    };
    let dial = SentDial {
        phone,
        number,
        sent_at,
        sent_wall,
        created_at,
        post,
    };
    (dial, error)
}

fn error_code(error: &ClientError) -> String {
    match error {
        ClientError::Api { problem } => problem.code.clone(),
        ClientError::Network(_) => "network".into(),
        ClientError::Decode(_) => "decode".into(),
        other => format!("{other}"),
    }
}

/// Where the time went, per accepted dial that reached its phone (µs).
#[derive(Debug)]
pub struct Measured {
    /// POST sent → vendor HTTP request at the phone: the figure.
    pub dial_to_phone: Histogram<u64>,
    /// POST sent → answer read.
    pub post: Histogram<u64>,
    /// POST sent → the server's `created_at` (wall clocks of one machine).
    pub to_stored: Histogram<u64>,
    /// The server's `created_at` → request at the phone.
    pub stored_to_phone: Histogram<u64>,
    pub reached: usize,
    /// Accepted dials whose request never reached the phone in time.
    pub lost: usize,
    /// Requests the phones answered otherwise than by dialling (a refused
    /// login, a prompt, an address not allowed), by kind.
    pub refused: BTreeMap<String, u64>,
}

/// Waits (at most `limit` in all) for every accepted dial's request at its
/// phone, then times each dial against its request.
pub async fn measure(
    handsets: &[EmulatedPhone],
    load: &DialLoad,
    limit: Duration,
) -> anyhow::Result<Measured> {
    let mut expected = vec![0usize; handsets.len()];
    for dial in load.accepted() {
        expected[dial.phone] += 1;
    }
    let deadline = tokio::time::Instant::now() + limit;
    let mut arrivals: Vec<HashMap<String, Instant>> = Vec::with_capacity(handsets.len());
    let mut refused = BTreeMap::new();
    for (handset, want) in handsets.iter().zip(&expected) {
        let received =
            match tokio::time::timeout_at(deadline, handset.wait_for_requests(*want)).await {
                Ok(received) => received,
                Err(_) => handset.received(),
            };
        let mut by_number = HashMap::new();
        for request in received {
            match request.handled {
                Handled::Done(Command::Dial(number)) => {
                    by_number.entry(number).or_insert(request.at);
                }
                Handled::Done(_) => {}
                other => *refused.entry(format!("{other:?}")).or_default() += 1,
            }
        }
        arrivals.push(by_number);
    }
    let mut measured = Measured {
        dial_to_phone: latency_histogram()?,
        post: latency_histogram()?,
        to_stored: latency_histogram()?,
        stored_to_phone: latency_histogram()?,
        reached: 0,
        lost: 0,
        refused,
    };
    for dial in load.accepted() {
        let Some(at) = arrivals[dial.phone].get(&dial.number) else {
            measured.lost += 1;
            continue;
        };
        measured.reached += 1;
        let took = at.saturating_duration_since(dial.sent_at);
        record(&mut measured.dial_to_phone, took);
        record(&mut measured.post, dial.post);
        if let Some(created) = dial.created_at {
            let phone_wall = dial.sent_wall + chrono::TimeDelta::from_std(took).unwrap_or_default();
            record_delta(&mut measured.to_stored, created - dial.sent_wall);
            record_delta(&mut measured.stored_to_phone, phone_wall - created);
        }
    }
    Ok(measured)
}

fn record(h: &mut Histogram<u64>, took: Duration) {
    h.saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
}

/// A difference of wall-clock stamps; a negative one (clock steps) as 0.
fn record_delta(h: &mut Histogram<u64>, delta: chrono::TimeDelta) {
    let us = delta.num_microseconds().unwrap_or(0).max(0);
    h.saturating_record(u64::try_from(us).unwrap_or(0));
}
