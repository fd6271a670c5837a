//! The relay's clock: outcomes and talk times are measured with it. Tests
//! move it forward instead of waiting out a ring timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, TimeDelta, Utc};

/// The system clock, plus an offset only tests change.
#[derive(Debug, Clone, Default)]
pub struct RelayClock {
    offset_ms: Arc<AtomicI64>,
}

impl RelayClock {
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + TimeDelta::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Moves the clock forward by `by` (tests).
    pub fn advance(&self, by: TimeDelta) {
        self.offset_ms
            .fetch_add(by.num_milliseconds(), Ordering::Relaxed);
    }
}
