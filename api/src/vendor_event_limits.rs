//! How a flood of vendor phone events is cut (`GET /v1/vendor-events/
//! {token}`, docs/vendor-phones.md). Each token has its own bucket. An
//! address that keeps sending unknown tokens is blocked for a while, before
//! the database; tokens lately found valid pass even so, so a flood of
//! forged tokens through a shared address (an office NAT, a reverse proxy)
//! does not cost the real phones behind it their events.

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Token hashes remembered as valid, at most; then the memory starts over.
const MAX_KNOWN: usize = 50_000;

pub struct VendorEventLimits {
    per_token: DefaultKeyedRateLimiter<String>,
    unknown_per_address: DefaultKeyedRateLimiter<String>,
    known: Mutex<HashSet<String>>,
    blocked: Mutex<HashMap<String, Instant>>,
}

impl std::fmt::Debug for VendorEventLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VendorEventLimits")
    }
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl VendorEventLimits {
    /// `per_minute` events per token; as many unknown tokens per address.
    pub fn new(per_minute: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN));
        Self {
            per_token: RateLimiter::keyed(quota),
            unknown_per_address: RateLimiter::keyed(quota),
            known: Mutex::default(),
            blocked: Mutex::default(),
        }
    }

    /// Whether an event with `token_hash` from `address` may be looked at.
    pub fn admit(&self, address: &str, token_hash: &str) -> bool {
        if self.per_token.check_key(&token_hash.to_owned()).is_err() {
            return false;
        }
        if locked(&self.known).contains(token_hash) {
            return true;
        }
        match locked(&self.blocked).get(address) {
            Some(until) => *until <= Instant::now(),
            None => true,
        }
    }

    /// What the lookup found: a valid token is remembered; an unknown one
    /// counts against its address, which is blocked once over its quota.
    pub fn found(&self, address: &str, token_hash: &str, valid: bool) {
        if valid {
            let mut known = locked(&self.known);
            if known.len() >= MAX_KNOWN {
                known.clear();
            }
            known.insert(token_hash.to_owned());
            return;
        }
        if let Err(not_until) = self.unknown_per_address.check_key(&address.to_owned()) {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            let until = Instant::now() + wait.max(Duration::from_secs(1));
            locked(&self.blocked).insert(address.to_owned(), until);
        }
    }

    /// Forgets what no longer matters, so memory stays bounded.
    pub fn prune(&self) {
        for limiter in [&self.per_token, &self.unknown_per_address] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let now = Instant::now();
        locked(&self.blocked).retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_sending_unknown_tokens_is_blocked_but_known_tokens_pass() {
        let limits = VendorEventLimits::new(3);
        limits.found("10.0.0.1", "valid", true);
        for i in 0..4 {
            assert!(limits.admit("10.0.0.1", &format!("forged{i}")));
            limits.found("10.0.0.1", &format!("forged{i}"), false);
        }
        assert!(
            !limits.admit("10.0.0.1", "forged9"),
            "blocked after its quota"
        );
        assert!(
            limits.admit("10.0.0.1", "valid"),
            "a known token still passes"
        );
        assert!(
            limits.admit("10.0.0.2", "forged9"),
            "other addresses are not blocked"
        );
    }

    #[test]
    fn each_token_has_its_own_bucket() {
        let limits = VendorEventLimits::new(2);
        assert!(limits.admit("a", "t") && limits.admit("a", "t"));
        assert!(!limits.admit("a", "t"));
        assert!(limits.admit("a", "u"));
    }
}
