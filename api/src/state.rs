//! What every handler can reach: the database, the token keys, the settings
//! the rate limiters and the relay. Built once at start, shared by all workers.

use deskbind_core::auth::jwt::KeyRing;
use deskbind_core::config::Settings;
use deskbind_core::db::Database;
use deskbind_core::relay::Relay;
use deskbind_core::storage::Storage;
use deskbind_core::usecases::Services;

use crate::drain::Drain;
use crate::password_work::PasswordWork;
use crate::rate_limit::RateLimits;

#[derive(Debug)]
pub struct AppState {
    pub db: Database,
    pub keys: KeyRing,
    pub settings: Settings,
    pub limits: RateLimits,
    pub passwords: PasswordWork,
    /// Phone connections and event-stream wakes, local or through Redis.
    pub relay: Relay,
    /// Where recordings are kept: a local directory or S3.
    pub storage: Storage,
    /// Set on SIGTERM: phones are moved off this node before it stops.
    pub drain: Drain,
    /// The time dial authorisation reads: the system clock, or one tests set.
    pub clock: deskbind_core::time::Clock,
}

impl AppState {
    /// What use cases run with: this state's database and relay.
    pub fn services(&self) -> Services {
        Services::new(self.db.clone(), self.relay.clone()).with_clock(self.clock.clone())
    }
}
