//! The dial load: `POST /v1/dials` at a steady rate, each for a random
//! bound phone by the dialer who holds it, sent to the node chosen by the
//! caller (with two nodes, the one the phone is not connected to).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use deskbind_core::ids::{DialId, PhoneId};
use deskbind_mobile::{AppClient, ClientError};
use hdrhistogram::Histogram;
use tokio::task::JoinSet;
use tokio::time::MissedTickBehavior;

use crate::phones::latency_histogram;

/// A phone dials may go to, and who asks, where.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub phone: PhoneId,
    pub holder: usize,
    /// The node the dial is POSTed to.
    pub node: usize,
}

#[derive(Debug)]
pub struct LoadResult {
    pub sent: u64,
    pub accepted: Vec<DialId>,
    /// Refused or failed requests by error code (`network`, `decode` for
    /// those without one).
    pub errors: BTreeMap<String, u64>,
    /// Request sent → response read, in µs.
    pub post_latency_us: Histogram<u64>,
    pub elapsed: Duration,
}

/// Sends `rate` dials a second for `duration`. The ticker bursts to catch
/// up after a stall, so the offered load stays what was asked for even
/// when the bench itself hiccups.
pub async fn run(
    sessions: Arc<Vec<Vec<AppClient>>>,
    targets: Arc<Vec<Target>>,
    rate: u32,
    duration: Duration,
) -> anyhow::Result<LoadResult> {
    anyhow::ensure!(!targets.is_empty(), "no bound phone to dial");
    let total = u64::from(rate) * duration.as_secs();
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / rate.max(1));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Burst);
    let mut result = LoadResult {
        sent: 0,
        accepted: Vec::with_capacity(usize::try_from(total).unwrap_or(0)),
        errors: BTreeMap::new(),
        post_latency_us: latency_histogram()?,
        elapsed: Duration::ZERO,
    };
    let started = Instant::now();
    let mut in_flight = JoinSet::new();
    for _ in 0..total {
        ticker.tick().await;
        let target = targets[fastrand::usize(..targets.len())];
        in_flight.spawn(dial_one(sessions.clone(), target));
        result.sent += 1;
        // Collect what has finished so far, so the set stays small.
        while let Some(done) = in_flight.try_join_next() {
            result.record(done?);
        }
    }
    while let Some(done) = in_flight.join_next().await {
        result.record(done?);
    }
    result.elapsed = started.elapsed();
    Ok(result)
}

type Outcome = (Result<DialId, String>, Duration);

impl LoadResult {
    fn record(&mut self, (outcome, took): Outcome) {
        self.post_latency_us
            .saturating_record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX));
        match outcome {
            Ok(id) => self.accepted.push(id),
            Err(code) => *self.errors.entry(code).or_default() += 1,
        }
    }
}

async fn dial_one(sessions: Arc<Vec<Vec<AppClient>>>, target: Target) -> Outcome {
    let Some(client) = sessions.get(target.holder).and_then(|s| s.get(target.node)) else {
        return (Err("no_session".into()), Duration::ZERO);
    };
    let number = format!("+1650253{:04}", fastrand::u32(..10_000));
    let started = Instant::now();
    let outcome = client
        .dial(&number, Some(target.phone), None)
        .await
        .map(|dial| dial.id)
        .map_err(|e| error_code(&e));
    (outcome, started.elapsed())
}

fn error_code(error: &ClientError) -> String {
    match error {
        ClientError::Api { problem } => problem.code.clone(),
        ClientError::Network(_) => "network".into(),
        ClientError::Decode(_) => "decode".into(),
        ClientError::NotLoggedIn => "not_logged_in".into(),
        ClientError::BaseUrl(_) => "base_url".into(),
        ClientError::Io(_) => "io".into(),
        ClientError::NfcDial(e) => e.code().into(),
    }
}
