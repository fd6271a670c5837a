//! When a failed webhook delivery is tried again: the Standard Webhooks
//! schedule (immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h),
//! each delay spread by up to a fifth either way so that an endpoint
//! coming back is not hit by every queued delivery at once, and never
//! sooner than the endpoint's `Retry-After`.

use std::time::Duration;

/// Delays before the 2nd, 3rd, ... attempt; after the last, it fails.
const SCHEDULE_SECS: [u64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];
/// A `Retry-After` longer than this is capped (a day).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(86_400);

/// Attempts in all, the first included.
pub const MAX_ATTEMPTS: i64 = SCHEDULE_SECS.len() as i64 + 1;

/// The delay before the next attempt after `attempts` failed ones, or
/// `None` when none is left. `jitter` is in [-1, 1] (random in use).
pub fn next_delay(attempts: i64, jitter: f64, retry_after: Option<Duration>) -> Option<Duration> {
    let index = usize::try_from(attempts.checked_sub(1)?).ok()?;
    let base = *SCHEDULE_SECS.get(index)?;
    let spread = base as f64 * 0.2 * jitter.clamp(-1.0, 1.0);
    let delay = Duration::from_secs_f64((base as f64 + spread).max(1.0));
    Some(match retry_after {
        Some(asked) => delay.max(asked.min(MAX_RETRY_AFTER)),
        None => delay,
    })
}

/// A `Retry-After` header value: delay seconds (HTTP dates are not
/// honoured; the schedule's own delay applies then).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_runs_out_after_eight_attempts() {
        assert_eq!(next_delay(1, 0.0, None), Some(Duration::from_secs(5)));
        assert_eq!(next_delay(2, 0.0, None), Some(Duration::from_secs(300)));
        assert_eq!(next_delay(7, 0.0, None), Some(Duration::from_secs(36_000)));
        assert_eq!(next_delay(MAX_ATTEMPTS, 0.0, None), None);
        assert_eq!(next_delay(0, 0.0, None), None);
    }

    #[test]
    fn jitter_spreads_by_a_fifth_and_retry_after_wins_when_longer() {
        assert_eq!(next_delay(2, 1.0, None), Some(Duration::from_secs(360)));
        assert_eq!(next_delay(2, -1.0, None), Some(Duration::from_secs(240)));
        let asked = Some(Duration::from_secs(1_000));
        assert_eq!(next_delay(2, 0.0, asked), Some(Duration::from_secs(1_000)));
        let huge = Some(Duration::from_secs(10_000_000));
        assert_eq!(next_delay(1, 0.0, huge), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
