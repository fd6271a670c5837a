//! Push: the app installs FCM delivers to, the user's push schedule and the
//! organisation's default, and on-request digests (docs/push.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::PushDeviceId;

/// The most devices one user may register.
pub const MAX_PUSH_DEVICES_PER_USER: usize = 10;
/// The longest registration token accepted (FCM's are about 160 bytes).
pub const MAX_PUSH_TOKEN_LEN: usize = 4096;
/// Bounds of an "every N minutes" schedule.
pub const MIN_EVERY_MINUTES: u32 = 5;
pub const MAX_EVERY_MINUTES: u32 = 1440;

str_enum! {
    pub enum PushPlatform {
        Android => "android",
        Ios => "ios",
    }
}

/// `POST /v1/push/devices`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterPushDevice {
    pub platform: PushPlatform,
    /// The FCM registration token of the app install.
    pub token: String,
}

/// A registered device. The token itself is never returned; `token_hint`
/// (its last 6 characters) lets the app tell its own installs apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushDevice {
    pub id: PushDeviceId,
    pub platform: PushPlatform,
    pub token_hint: String,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sent_at: Option<DateTime<Utc>>,
}

/// When digests are pushed. Every part is optional and they combine: a
/// daily digest at `daily_at` (local time in the user's time zone), one
/// every `every_minutes`, and one as soon as a missed call or any new
/// record arrives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushScheduleRule {
    /// "HH:MM", 24-hour, local time.
    #[serde(default)]
    pub daily_at: Option<String>,
    #[serde(default)]
    pub every_minutes: Option<u32>,
    #[serde(default)]
    pub on_missed_call: bool,
    #[serde(default)]
    pub on_new_records: bool,
}

str_enum! {
    /// Where a user's schedule comes from.
    pub enum PushScheduleSource {
        /// The user set their own.
        Custom => "custom",
        /// The organisation's default applies.
        Default => "default",
    }
}

/// `GET /v1/push/schedule`: the schedule in force for the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSchedule {
    #[serde(flatten)]
    pub rule: PushScheduleRule,
    pub source: PushScheduleSource,
    /// The user's time zone, which `daily_at` is read in.
    pub time_zone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_due_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_pushed_at: Option<DateTime<Utc>>,
}

/// `PUT /v1/push/schedule`: a rule of one's own, or `{"use_default": true}`
/// (and nothing else) to follow the organisation's default again. The rule's
/// fields are repeated rather than flattened because serde cannot combine
/// `flatten` with `deny_unknown_fields`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushScheduleUpdate {
    #[serde(default)]
    pub use_default: bool,
    #[serde(default)]
    pub daily_at: Option<String>,
    #[serde(default)]
    pub every_minutes: Option<u32>,
    #[serde(default)]
    pub on_missed_call: bool,
    #[serde(default)]
    pub on_new_records: bool,
}

impl PushScheduleUpdate {
    /// The rule part, for a custom schedule.
    pub fn rule(&self) -> PushScheduleRule {
        PushScheduleRule {
            daily_at: self.daily_at.clone(),
            every_minutes: self.every_minutes,
            on_missed_call: self.on_missed_call,
            on_new_records: self.on_new_records,
        }
    }
}

/// `POST /v1/push/request`: what was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushRequested {
    /// Devices the digest was queued for.
    pub devices: u32,
    /// Records the digest covers.
    pub records: u32,
}
