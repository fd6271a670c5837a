//! Whether the relay's live reads (phone presence, app streams and line
//! states in Redis) failed lately. A failed read answers with what this
//! node alone knows: good enough for a screen that is read again soon, not
//! for a fact sent to a CRM. Presence webhooks wait while reads fail
//! (`usecases::presence_reports`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug, Default)]
pub struct ReadHealth {
    last_failure: Arc<Mutex<Option<Instant>>>,
}

impl ReadHealth {
    /// Notes a failed read, now.
    pub fn failed(&self) {
        *self.lock() = Some(Instant::now());
    }

    /// Whether a read failed within the last `window`.
    pub fn failed_within(&self, window: Duration) -> bool {
        self.lock().is_some_and(|at| at.elapsed() < window)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<Instant>> {
        self.last_failure
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_counts_for_its_window_only() {
        let health = ReadHealth::default();
        assert!(!health.failed_within(Duration::from_secs(60)));
        health.failed();
        assert!(health.failed_within(Duration::from_secs(60)));
        assert!(!health.failed_within(Duration::ZERO));
        // Clones share what they saw.
        assert!(health.clone().failed_within(Duration::from_secs(60)));
    }
}
