//! The organisation's policies and the call statistics as records (the
//! shapes of `GET /v1/binding-policy`, `GET /v1/dial-policy` and
//! `GET /v1/stats/calls`); enum values are their wire names.

use std::time::SystemTime;

use deskbind_mobile::wire;

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::lists::CallFilter;
use crate::types::instant;

/// Who may bind which phone, and for how long (docs/binding.md).
#[derive(Debug, Clone, uniffi::Record)]
pub struct BindingPolicyInfo {
    /// `nobody`, `admins`, `managers`, `anyone`.
    pub takeover: String,
    /// `until_unbound`, `end_of_workday`, `hours`.
    pub duration: String,
    /// Present exactly when `duration` is `hours`.
    pub duration_hours: Option<u32>,
    /// `HH:MM`, local to each holder.
    pub workday_end: String,
    pub max_phones_per_user: u32,
    /// `None` while the organisation runs on the defaults.
    pub updated_at: Option<SystemTime>,
}

/// Numbers the organisation never dials.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DialPolicyInfo {
    pub blocked_prefixes: Vec<String>,
    pub do_not_call: Vec<String>,
    pub updated_at: Option<SystemTime>,
}

/// One user's calls on one local day.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallStatsRowInfo {
    pub user_id: String,
    /// `YYYY-MM-DD` in the statistics' time zone.
    pub day: String,
    pub calls: u64,
    pub answered: u64,
    pub talk_secs: u64,
    pub average_secs: f64,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CallStatsInfo {
    pub time_zone: String,
    pub from: SystemTime,
    pub until: SystemTime,
    pub items: Vec<CallStatsRowInfo>,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Statistics per user and local day in `tz` (the caller's zone when
    /// `None`), within what the caller may see.
    pub async fn call_stats(
        &self,
        filter: CallFilter,
        tz: Option<String>,
    ) -> Result<CallStatsInfo> {
        let out = self
            .inner()
            .call_stats(&filter.query(None, None)?, tz.as_deref())
            .await;
        let stats = done(out)?;
        Ok(CallStatsInfo {
            time_zone: stats.time_zone,
            from: instant(stats.from),
            until: instant(stats.until),
            items: stats
                .items
                .into_iter()
                .map(|r| CallStatsRowInfo {
                    user_id: r.user_id.to_string(),
                    day: r.day,
                    calls: r.calls,
                    answered: r.answered,
                    talk_secs: r.talk_secs,
                    average_secs: r.average_secs,
                })
                .collect(),
        })
    }

    pub async fn binding_policy(&self) -> Result<BindingPolicyInfo> {
        let policy: wire::BindingPolicy = done(self.inner().binding_policy().await)?;
        Ok(BindingPolicyInfo {
            takeover: policy.takeover.as_str().to_owned(),
            duration: policy.duration.as_str().to_owned(),
            duration_hours: policy.duration_hours,
            workday_end: policy.workday_end,
            max_phones_per_user: policy.max_phones_per_user,
            updated_at: policy.updated_at.map(instant),
        })
    }

    pub async fn dial_policy(&self) -> Result<DialPolicyInfo> {
        let policy: wire::DialPolicy = done(self.inner().dial_policy().await)?;
        Ok(DialPolicyInfo {
            blocked_prefixes: policy.blocked_prefixes,
            do_not_call: policy.do_not_call,
            updated_at: policy.updated_at.map(instant),
        })
    }
}
