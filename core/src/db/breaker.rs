//! A circuit breaker around getting a database connection. While the
//! database is unreachable every checkout would otherwise wait out the pool
//! timeout (10 s) and fail anyway; after [`TRIP_AFTER`] consecutive failed
//! connects the breaker opens and checkouts fail at
//! once with [`Unavailable`] (503 `unavailable` with `Retry-After`). After
//! [`COOL_DOWN`] one caller probes with a fresh connection (half-open); its
//! success closes the breaker, its failure opens it again. Any connection the
//! pool makes or validates successfully also closes it.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Consecutive failed connects that open the breaker.
/// Two, so one dropped connection does not refuse traffic.
pub const TRIP_AFTER: u32 = 2;

/// How long the breaker stays open before one probe is let through; also
/// the `Retry-After` clients are given.
pub const COOL_DOWN: Duration = Duration::from_secs(1);

/// The database cannot be reached right now; ask again after `retry_after`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("database unavailable: {reason}")]
pub struct Unavailable {
    pub retry_after: Duration,
    pub reason: String,
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
        reason: String,
    },
    /// One probe is in flight; everyone else is refused until it reports.
    HalfOpen,
}

/// What a caller may do.
#[derive(Debug)]
pub enum Admission {
    /// Check out as usual.
    Go,
    /// The breaker was open and its cool-down is over: this caller probes.
    Probe,
    Refused(Unavailable),
}

#[derive(Debug)]
pub struct Breaker {
    state: Mutex<State>,
}

impl Default for Breaker {
    fn default() -> Self {
        Self {
            state: Mutex::new(State::Closed { failures: 0 }),
        }
    }
}

impl Breaker {
    pub fn admit(&self) -> Admission {
        let mut state = self.lock();
        match &*state {
            State::Closed { .. } => Admission::Go,
            State::Open { until, reason } => {
                let now = Instant::now();
                if now >= *until {
                    *state = State::HalfOpen;
                    Admission::Probe
                } else {
                    Admission::Refused(Unavailable {
                        retry_after: until.saturating_duration_since(now).max(COOL_DOWN),
                        reason: reason.clone(),
                    })
                }
            }
            State::HalfOpen => Admission::Refused(Unavailable {
                retry_after: COOL_DOWN,
                reason: "reconnecting to the database".into(),
            }),
        }
    }

    pub fn succeeded(&self) {
        let mut state = self.lock();
        if !matches!(*state, State::Closed { failures: 0 }) {
            if !matches!(*state, State::Closed { .. }) {
                tracing::info!("database reachable again; circuit closed");
            }
            *state = State::Closed { failures: 0 };
        }
    }

    pub fn failed(&self, reason: &str) {
        let mut state = self.lock();
        let trip = match &*state {
            State::Closed { failures } => failures + 1 >= TRIP_AFTER,
            State::HalfOpen => true,
            // Already open: keep the running cool-down.
            State::Open { .. } => false,
        };
        if trip {
            tracing::warn!(reason, "database unreachable; circuit open");
            *state = State::Open {
                until: Instant::now() + COOL_DOWN,
                reason: reason.to_owned(),
            };
        } else if let State::Closed { failures } = &mut *state {
            *failures += 1;
        }
    }

    /// True while requests are being refused.
    pub fn is_open(&self) -> bool {
        self.refusing().is_some()
    }

    /// Why requests are refused right now, without starting a probe (for
    /// callers already waiting on a checkout).
    pub fn refusing(&self) -> Option<Unavailable> {
        match &*self.lock() {
            State::Closed { .. } => None,
            State::Open { until, reason } => Some(Unavailable {
                retry_after: until
                    .saturating_duration_since(Instant::now())
                    .max(COOL_DOWN),
                reason: reason.clone(),
            }),
            State::HalfOpen => Some(Unavailable {
                retry_after: COOL_DOWN,
                reason: "reconnecting to the database".into(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is valid after any panic (each update is one assignment).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_consecutive_failures_and_one_probe_closes_it() {
        let breaker = Breaker::default();
        breaker.failed("refused");
        assert!(matches!(breaker.admit(), Admission::Go), "one failure");
        breaker.succeeded();
        breaker.failed("refused");
        assert!(matches!(breaker.admit(), Admission::Go), "reset by success");
        breaker.failed("refused");
        assert!(matches!(breaker.admit(), Admission::Refused(_)));
        // Force the cool-down over.
        *breaker.lock() = State::Open {
            until: Instant::now(),
            reason: "refused".into(),
        };
        assert!(matches!(breaker.admit(), Admission::Probe));
        assert!(
            matches!(breaker.admit(), Admission::Refused(_)),
            "one probe at a time"
        );
        breaker.failed("still refused");
        assert!(matches!(breaker.admit(), Admission::Refused(_)));
        *breaker.lock() = State::HalfOpen;
        breaker.succeeded();
        assert!(matches!(breaker.admit(), Admission::Go));
    }
}
