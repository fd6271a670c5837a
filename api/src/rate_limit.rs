//! In-process rate limits (GCRA via governor) on the credential endpoints:
//! login per (peer IP, email), per peer IP (10x) and per email from anywhere
//! (5x, so address rotation cannot buy unlimited guesses against one account
//! while one attacker alone cannot lock its owner out), refresh and
//! provisioning per peer IP; NFC binding redemptions per user, per phone and
//! (numeric codes, which are guessable) per organisation; phone binding
//! requests per phone; frames and events from each phone (socket and long
//! poll share one bucket); dial requests per user; on-request pushes per
//! user; requests per API key; vendor phones' direct-mode events
//! (`vendor_event_limits`). With several API nodes each node limits on its own; a shared
//! limiter moves to Redis with the relay work.

use std::num::NonZeroU32;

use deskbind_core::config::Settings;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::ApiError;

pub struct RateLimits {
    login_pair: DefaultKeyedRateLimiter<String>,
    login_ip: DefaultKeyedRateLimiter<String>,
    login_email: DefaultKeyedRateLimiter<String>,
    refresh_ip: DefaultKeyedRateLimiter<String>,
    provision_ip: DefaultKeyedRateLimiter<String>,
    redeem_user: DefaultKeyedRateLimiter<String>,
    redeem_phone: DefaultKeyedRateLimiter<String>,
    redeem_code_org: DefaultKeyedRateLimiter<String>,
    phone_binding: DefaultKeyedRateLimiter<String>,
    phone_events: DefaultKeyedRateLimiter<String>,
    dial_user: DefaultKeyedRateLimiter<String>,
    push_request_user: DefaultKeyedRateLimiter<String>,
    api_key: DefaultKeyedRateLimiter<String>,
    /// A vendor phone's direct-mode events.
    pub vendor_events: crate::vendor_event_limits::VendorEventLimits,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RateLimits")
    }
}

fn per_minute(n: u32) -> DefaultKeyedRateLimiter<String> {
    RateLimiter::keyed(Quota::per_minute(
        NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN),
    ))
}

impl RateLimits {
    pub fn new(settings: &Settings) -> Self {
        Self {
            login_pair: per_minute(settings.login_rate_per_minute),
            login_ip: per_minute(settings.login_rate_per_minute.saturating_mul(10)),
            login_email: per_minute(settings.login_rate_per_minute.saturating_mul(5)),
            refresh_ip: per_minute(settings.refresh_rate_per_minute),
            provision_ip: per_minute(settings.provision_rate_per_minute),
            redeem_user: per_minute(settings.binding_redeem_rate_per_minute),
            redeem_phone: per_minute(settings.binding_redeem_rate_per_minute.saturating_mul(3)),
            redeem_code_org: per_minute(settings.binding_redeem_rate_per_minute.saturating_mul(6)),
            phone_binding: per_minute(settings.phone_binding_rate_per_minute),
            phone_events: per_minute(settings.phone_event_rate_per_minute),
            dial_user: per_minute(settings.dial_rate_per_minute),
            push_request_user: per_minute(settings.push_request_rate_per_minute),
            api_key: per_minute(settings.api_key_rate_per_minute),
            vendor_events: crate::vendor_event_limits::VendorEventLimits::new(
                settings.phone_event_rate_per_minute,
            ),
        }
    }

    pub fn login(&self, ip: &str, email: &str) -> Result<(), ApiError> {
        check(&self.login_ip, ip.to_owned())?;
        check(&self.login_email, email.to_owned())?;
        check(&self.login_pair, format!("{ip}|{email}"))
    }

    pub fn refresh(&self, ip: &str) -> Result<(), ApiError> {
        check(&self.refresh_ip, ip.to_owned())
    }

    pub fn provision(&self, ip: &str) -> Result<(), ApiError> {
        check(&self.provision_ip, ip.to_owned())
    }

    /// Requests made with an API key, per key.
    pub fn api_key(&self, key: &str) -> Result<(), ApiError> {
        check(&self.api_key, key.to_owned())
    }

    /// Dial requests, per user.
    pub fn dial(&self, user: &str) -> Result<(), ApiError> {
        check(&self.dial_user, user.to_owned())
    }

    /// Every token or code redemption, per redeeming user.
    pub fn redeem_by_user(&self, user: &str) -> Result<(), ApiError> {
        check(&self.redeem_user, user.to_owned())
    }

    /// Redemptions that name a phone (a validly signed token), per phone.
    pub fn redeem_for_phone(&self, phone: &str) -> Result<(), ApiError> {
        check(&self.redeem_phone, phone.to_owned())
    }

    /// Numeric-code attempts per organisation: bounds guessing by many
    /// colluding accounts.
    pub fn redeem_code_in_org(&self, org: &str) -> Result<(), ApiError> {
        check(&self.redeem_code_org, org.to_owned())
    }

    /// A phone's binding and binding-token requests.
    pub fn phone_binding(&self, phone: &str) -> Result<(), ApiError> {
        check(&self.phone_binding, phone.to_owned())
    }

    /// `n` frames or events from one phone, taken together or not at all.
    pub fn phone_events(&self, phone: &str, n: usize) -> Result<(), ApiError> {
        let Some(n) = u32::try_from(n).ok().and_then(NonZeroU32::new) else {
            return Ok(());
        };
        match self.phone_events.check_key_n(&phone.to_owned(), n) {
            Ok(allowed) => allowed.map_err(|not_until| {
                let wait = not_until.wait_time_from(DefaultClock::default().now());
                ApiError::RateLimited {
                    retry_after_secs: wait.as_secs().max(1),
                }
            }),
            // More than a whole minute's burst (a batch beyond the
            // configured rate): never allowed at once.
            Err(_) => Err(ApiError::RateLimited {
                retry_after_secs: 60,
            }),
        }
    }

    pub fn push_request(&self, user: &str) -> Result<(), ApiError> {
        check(&self.push_request_user, user.to_owned())
    }

    /// Forgets keys whose buckets are full again, so memory stays bounded.
    pub fn prune(&self) {
        for limiter in [
            &self.login_pair,
            &self.login_ip,
            &self.login_email,
            &self.refresh_ip,
            &self.provision_ip,
            &self.redeem_user,
            &self.redeem_phone,
            &self.redeem_code_org,
            &self.phone_binding,
            &self.phone_events,
            &self.dial_user,
            &self.push_request_user,
            &self.api_key,
        ] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.vendor_events.prune();
    }
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: String) -> Result<(), ApiError> {
    limiter.check_key(&key).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        }
    })
}
