//! Timestamps are stored as microseconds since the Unix epoch (see
//! docs/decisions/0001-storage-types.md); these convert at the edges.

use chrono::{DateTime, TimeZone, Utc};

pub type Micros = i64;

pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn to_datetime(micros: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn seconds(n: i64) -> Micros {
    n * 1_000_000
}

/// Where the dial authorisation (and whatever adopts it next) reads the
/// time: the system clock in production; tests build the app with a
/// settable one and move it to the instants they check (decision 0029).
#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// `None`: the system clock. Otherwise the instant set (0: not set yet,
    /// follow the system clock).
    fixed: Option<std::sync::Arc<std::sync::atomic::AtomicI64>>,
}

impl Clock {
    pub fn system() -> Self {
        Self::default()
    }

    /// A clock tests can set; it follows the system clock until they do.
    pub fn settable() -> Self {
        Self {
            fixed: Some(std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0))),
        }
    }

    pub fn now(&self) -> Micros {
        match &self.fixed {
            Some(at) => match at.load(std::sync::atomic::Ordering::SeqCst) {
                0 => now_micros(),
                at => at,
            },
            None => now_micros(),
        }
    }

    /// Stops the clock at `at` (a settable clock; the system clock ignores
    /// it). 0 lets it follow the system clock again.
    pub fn set(&self, at: Micros) {
        if let Some(fixed) = &self.fixed {
            fixed.store(at, std::sync::atomic::Ordering::SeqCst);
        }
    }
}
