//! `AppClient`'s read side beyond calls and dials: users, teams, phones,
//! bindings, dial lists, the review list, export and statistics, and the
//! organisation's policies. Pages carry `next_cursor` (absent on the last).

use std::path::PathBuf;
use std::time::SystemTime;

use deskbind_mobile::wire::{self, CallDirection, CallResult, DialState, Page};
use deskbind_mobile::{BindingQuery, CallQuery, DialQuery, PageQuery};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::*;

#[derive(Debug, Clone, uniffi::Record)]
pub struct UserPage {
    pub items: Vec<UserInfo>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct TeamInfo {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct TeamPage {
    pub items: Vec<TeamInfo>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PhonePage {
    pub items: Vec<PhoneInfo>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BindingPage {
    pub items: Vec<BindingInfo>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct DialPage {
    pub items: Vec<DialInfo>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CallPage {
    pub items: Vec<CallRecordInfo>,
    pub next_cursor: Option<String>,
}

/// Filters of the review list, the export and the statistics; all optional.
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct CallFilter {
    #[uniffi(default = None)]
    pub user_id: Option<String>,
    #[uniffi(default = None)]
    pub team_id: Option<String>,
    #[uniffi(default = None)]
    pub phone_id: Option<String>,
    /// `outbound`, `inbound` or `missed`.
    #[uniffi(default = None)]
    pub direction: Option<String>,
    #[uniffi(default = None)]
    pub result: Option<String>,
    #[uniffi(default = None)]
    pub from: Option<SystemTime>,
    #[uniffi(default = None)]
    pub until: Option<SystemTime>,
    /// Digits the remote number contains.
    #[uniffi(default = None)]
    pub number: Option<String>,
    /// Only calls with (`true`) or without (`false`) a recording.
    #[uniffi(default = None)]
    pub has_recording: Option<bool>,
    /// Talk time bounds, in seconds, inclusive.
    #[uniffi(default = None)]
    pub min_duration_secs: Option<u32>,
    #[uniffi(default = None)]
    pub max_duration_secs: Option<u32>,
    /// Only calls linked to this contact.
    #[uniffi(default = None)]
    pub contact_id: Option<String>,
}

impl CallFilter {
    pub(crate) fn query(&self, cursor: Option<String>, limit: Option<u32>) -> Result<CallQuery> {
        Ok(CallQuery {
            page: PageQuery { cursor, limit },
            user_id: self
                .user_id
                .as_deref()
                .map(|u| id("user_id", u))
                .transpose()?,
            team_id: self
                .team_id
                .as_deref()
                .map(|t| id("team_id", t))
                .transpose()?,
            phone_id: self
                .phone_id
                .as_deref()
                .map(|p| id("phone_id", p))
                .transpose()?,
            direction: self
                .direction
                .as_deref()
                .map(|d| wire_enum("direction", d, CallDirection::parse))
                .transpose()?,
            result: self
                .result
                .as_deref()
                .map(|r| wire_enum("result", r, CallResult::parse))
                .transpose()?,
            from: self.from.map(datetime),
            until: self.until.map(datetime),
            number: self.number.clone(),
            has_recording: self.has_recording,
            min_duration_secs: self.min_duration_secs,
            max_duration_secs: self.max_duration_secs,
            contact_id: self
                .contact_id
                .as_deref()
                .map(|c| id("contact_id", c))
                .transpose()?,
        })
    }
}

fn page<T, U: From<T>>(page: Page<T>) -> (Vec<U>, Option<String>) {
    (
        page.items.into_iter().map(U::from).collect(),
        page.next_cursor,
    )
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Uses the refresh token now (the SDK also does it by itself when the
    /// access token expires); the new session goes to the token store.
    pub async fn refresh(&self) -> Result<()> {
        let out = self.inner().refresh().await;
        done(out).map(drop)
    }

    pub async fn list_users(&self, cursor: Option<String>, limit: Option<u32>) -> Result<UserPage> {
        let out = self.inner().list_users(&PageQuery { cursor, limit }).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(UserPage { items, next_cursor })
    }

    pub async fn get_user(&self, user_id: String) -> Result<UserInfo> {
        let out = self.inner().get_user(id("user_id", &user_id)?).await;
        done(out).map(UserInfo::from)
    }

    pub async fn list_teams(&self, cursor: Option<String>, limit: Option<u32>) -> Result<TeamPage> {
        let out = self.inner().list_teams(&PageQuery { cursor, limit }).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(TeamPage { items, next_cursor })
    }

    pub async fn get_team(&self, team_id: String) -> Result<TeamInfo> {
        let out = self.inner().get_team(id("team_id", &team_id)?).await;
        done(out).map(TeamInfo::from)
    }

    pub async fn list_team_members(
        &self,
        team_id: String,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<UserPage> {
        let out = self
            .inner()
            .team_members(id("team_id", &team_id)?, &PageQuery { cursor, limit })
            .await;
        let (items, next_cursor) = page(done(out)?);
        Ok(UserPage { items, next_cursor })
    }

    pub async fn list_phones(
        &self,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<PhonePage> {
        let out = self.inner().list_phones(&PageQuery { cursor, limit }).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(PhonePage { items, next_cursor })
    }

    pub async fn get_phone(&self, phone_id: String) -> Result<PhoneInfo> {
        let out = self.inner().get_phone(id("phone_id", &phone_id)?).await;
        done(out).map(PhoneInfo::from)
    }

    /// The caller's bindings (with `include_ended`, past ones too).
    pub async fn list_bindings(
        &self,
        include_ended: bool,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<BindingPage> {
        let query = BindingQuery {
            page: PageQuery { cursor, limit },
            include_ended,
            ..BindingQuery::default()
        };
        let out = self.inner().list_bindings(&query).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(BindingPage { items, next_cursor })
    }

    pub async fn get_binding(&self, binding_id: String) -> Result<BindingInfo> {
        let out = self
            .inner()
            .get_binding(id("binding_id", &binding_id)?)
            .await;
        done(out).map(BindingInfo::from)
    }

    /// Dial commands, newest first; `state` filters (`queued`, `ended`...).
    pub async fn list_dials(
        &self,
        state: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<DialPage> {
        let query = DialQuery {
            page: PageQuery { cursor, limit },
            state: state
                .as_deref()
                .map(|s| wire_enum("state", s, DialState::parse))
                .transpose()?,
            ..DialQuery::default()
        };
        let out = self.inner().list_dials(&query).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(DialPage { items, next_cursor })
    }

    /// The review list, newest first, within what the caller may see.
    pub async fn list_calls(
        &self,
        filter: CallFilter,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<CallPage> {
        let out = self.inner().list_calls(&filter.query(cursor, limit)?).await;
        let (items, next_cursor) = page(done(out)?);
        Ok(CallPage { items, next_cursor })
    }

    /// Writes the CSV export to `path`; returns its size in bytes.
    pub async fn export_calls_csv(&self, filter: CallFilter, path: String) -> Result<u64> {
        let out = self
            .inner()
            .export_calls_csv(&filter.query(None, None)?, &PathBuf::from(path))
            .await;
        done(out)
    }

    pub async fn default_push_schedule(&self) -> Result<PushScheduleRule> {
        let out = self.inner().default_push_schedule().await;
        let rule = done(out)?;
        Ok(PushScheduleRule {
            daily_at: rule.daily_at,
            every_minutes: rule.every_minutes,
            on_missed_call: rule.on_missed_call,
            on_new_records: rule.on_new_records,
        })
    }
}

impl From<wire::Team> for TeamInfo {
    fn from(t: wire::Team) -> Self {
        Self {
            id: t.id.to_string(),
            name: t.name,
        }
    }
}
