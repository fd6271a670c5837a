//! When to retry a send FCM asked us to repeat: exponential backoff with
//! jitter, never earlier than the server's Retry-After.

use std::time::Duration;

/// The first retry waits about this long; each further one doubles it.
pub const BASE: Duration = Duration::from_secs(1);
/// No retry waits longer than this (unless Retry-After says so).
pub const CAP: Duration = Duration::from_secs(15 * 60);
/// A send is given up when its message's lifetime (FCM ttl) would end
/// before the next try, or after this many attempts, whichever is first
/// (24 h of retries at the cap is about 100).
pub const MAX_ATTEMPTS: i64 = 120;

/// The wait before attempt `attempts + 1`, given `attempts` made so far
/// (≥ 1) and the server's Retry-After. Jitter takes 50–100 % of the
/// exponential step so that workers retrying together spread out.
pub fn delay(attempts: i64, retry_after: Option<Duration>) -> Duration {
    let exponent = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    let step = BASE.saturating_mul(2u32.saturating_pow(exponent)).min(CAP);
    let jittered = step.mul_f64(0.5 + fastrand::f64() / 2.0);
    match retry_after {
        Some(floor) => jittered.max(floor),
        None => jittered,
    }
}

/// Parses Retry-After: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.timestamp() - chrono::Utc::now().timestamp();
    Some(Duration::from_secs(u64::try_from(wait).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_with_jitter_and_honours_retry_after() {
        for attempts in 1..=6 {
            let step = BASE * 2u32.pow(u32::try_from(attempts - 1).unwrap());
            let d = delay(attempts, None);
            assert!(d >= step / 2 && d <= step, "attempt {attempts}: {d:?}");
        }
        assert!(delay(30, None) <= CAP);
        assert!(delay(1, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
    }

    #[test]
    fn retry_after_as_seconds_or_date() {
        assert_eq!(parse_retry_after("12"), Some(Duration::from_secs(12)));
        let soon = (chrono::Utc::now() + chrono::TimeDelta::seconds(30)).to_rfc2822();
        let parsed = parse_retry_after(&soon).unwrap();
        assert!(parsed >= Duration::from_secs(28) && parsed <= Duration::from_secs(30));
        assert_eq!(parse_retry_after("soon"), None);
    }
}
