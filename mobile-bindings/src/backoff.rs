//! Reconnect delays: exponential with full jitter (a random delay up to
//! the current cap), so phones that lost the same server do not all come
//! back at the same instant.

use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    cap: Duration,
}

impl Backoff {
    pub fn new(min: Duration, max: Duration) -> Self {
        Self { min, max, cap: min }
    }

    /// The next pause: random in `[min, cap]`; the cap then doubles up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let span = self.cap.saturating_sub(self.min).as_millis() as u64;
        let delay = self.min + Duration::from_millis(fastrand::u64(0..=span));
        self.cap = (self.cap * 2).min(self.max);
        delay
    }

    /// After a success the next failure starts small again.
    pub fn reset(&mut self) {
        self.cap = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_to_the_cap_and_reset() {
        let mut backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(80));
        let delays: Vec<_> = (0..6).map(|_| backoff.next_delay()).collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_millis(10)));
        assert!(delays.iter().all(|d| *d <= Duration::from_millis(80)));
        assert_eq!(backoff.cap, Duration::from_millis(80));
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(10));
    }
}
