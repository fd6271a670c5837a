//! Dial authorisation (docs/dialing.md, "Dial authorisation"): the
//! organisation's rules (`/v1/dial-rules`) and the why-not check
//! (`POST /v1/dials/check`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{BlockedBy, Role};
use crate::ids::{PhoneId, TeamId};

/// Which destination classes a scope allows: the organisation's (no
/// `team_id`) or a team's, for one role or (no `role`) for everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialClassRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    /// `domestic`, `mobile`, `international`, `premium_rate`, `internal`
    /// (`emergency` is always allowed and may be listed).
    pub allowed: Vec<String>,
}

/// One window of a day, local time `HH:MM`, `from` included, `to`
/// excluded (`24:00` ends the day).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeWindow {
    pub from: String,
    pub to: String,
}

/// The windows of each weekday (a day not listed: no calls).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeekWindows {
    #[serde(default)]
    pub mon: Vec<TimeWindow>,
    #[serde(default)]
    pub tue: Vec<TimeWindow>,
    #[serde(default)]
    pub wed: Vec<TimeWindow>,
    #[serde(default)]
    pub thu: Vec<TimeWindow>,
    #[serde(default)]
    pub fri: Vec<TimeWindow>,
    #[serde(default)]
    pub sat: Vec<TimeWindow>,
    #[serde(default)]
    pub sun: Vec<TimeWindow>,
}

/// Calling hours of the organisation (no `team_id`) or a team, in the
/// caller's zone; `holidays` (`YYYY-MM-DD`) have no calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallingHoursRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    pub weekly: WeekWindows,
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// The callee's local time rule of the organisation or a team: when
/// `enabled`, dials only between `from` and `to` in every zone of the
/// callee's country. A team's rule (also a disabled one) overrides the
/// organisation's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalleeHoursRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    pub enabled: bool,
    pub from: String,
    pub to: String,
}

/// The rules as stored (without their version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRuleSet {
    /// The organisation's zone (IANA): for callers whose zone is unreadable
    /// and callees of no known country. Default `UTC`.
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub classes: Vec<DialClassRule>,
    #[serde(default)]
    pub calling_hours: Vec<CallingHoursRule>,
    #[serde(default)]
    pub callee_hours: Vec<CalleeHoursRule>,
}

impl Default for DialRuleSet {
    fn default() -> Self {
        Self {
            time_zone: utc(),
            classes: Vec::new(),
            calling_hours: Vec::new(),
            callee_hours: Vec::new(),
        }
    }
}

fn utc() -> String {
    "UTC".to_owned()
}

/// `GET /v1/dial-rules`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRules {
    /// 0 until rules are first stored; send it back in `PUT`.
    pub version: i64,
    #[serde(flatten)]
    pub rules: DialRuleSet,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// `PUT /v1/dial-rules`: the whole new set and the version it replaces
/// (0 for the first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutDialRules {
    pub version: i64,
    #[serde(default = "utc")]
    pub time_zone: String,
    #[serde(default)]
    pub classes: Vec<DialClassRule>,
    #[serde(default)]
    pub calling_hours: Vec<CallingHoursRule>,
    #[serde(default)]
    pub callee_hours: Vec<CalleeHoursRule>,
    /// Ignored: accepted so the body `GET` answered can be sent back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

impl PutDialRules {
    /// The set, without the version it replaces.
    pub fn into_set(self) -> (i64, DialRuleSet) {
        (
            self.version,
            DialRuleSet {
                time_zone: self.time_zone,
                classes: self.classes,
                calling_hours: self.calling_hours,
                callee_hours: self.callee_hours,
            },
        )
    }
}

/// `POST /v1/dials/check`: what `POST /v1/dials` would decide.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DialCheck {
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<PhoneId>,
}

/// The rule that refused a dial.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialRuleRef {
    /// `classes`, `calling_hours`, `callee_hours`, `blocklist`, `binding`
    /// or `number`.
    pub kind: String,
    /// `organisation`, `team` (with `team_id`) or, for the blocklist, the
    /// entry's scope; absent for `binding` and `number`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

/// The answer of `POST /v1/dials/check`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialCheckResult {
    pub allowed: bool,
    /// What the phone would dial: E.164, or the digits of a short code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// The destination class, when the number could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    /// The refusal's code (as `POST /v1/dials` would answer it) and status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<DialRuleRef>,
    /// When the dial would next be allowed (hours refusals).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
}
