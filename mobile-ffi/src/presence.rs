//! Presence as records (docs/presence.md): states and line states are
//! their wire names.

use std::time::SystemTime;

use deskbind_mobile::PageQuery;
use deskbind_mobile::PresenceQuery;
use deskbind_mobile::wire::{self, PresenceState, PutPresence};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::types::{datetime, id, instant, wire_enum};

/// One user's presence.
#[derive(Debug, Clone, uniffi::Record)]
pub struct PresenceInfo {
    pub user_id: String,
    pub display_name: String,
    /// `available`, `away`, `busy`, `dnd`, `offline`.
    pub state: String,
    /// What the user chose: `available`, `away` or `dnd`.
    pub chosen: String,
    pub status_text: Option<String>,
    /// When a timed DND ends.
    pub until: Option<SystemTime>,
    pub app_connected: bool,
    pub phone_online: bool,
    /// `idle`, `ringing`, `dialing`, `talking`, `held`; `None` unknown.
    pub line_state: Option<String>,
    /// While the line is in a call, when the call began.
    pub line_since: Option<SystemTime>,
}

impl From<wire::Presence> for PresenceInfo {
    fn from(p: wire::Presence) -> Self {
        Self {
            user_id: p.user_id.to_string(),
            display_name: p.display_name,
            state: p.state.as_str().to_owned(),
            chosen: p.chosen.as_str().to_owned(),
            status_text: p.status_text,
            until: p.until.map(instant),
            app_connected: p.app_connected,
            phone_online: p.phone_online,
            line_state: p.line_state.map(|l| l.as_str().to_owned()),
            line_since: p.line_since.map(instant),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PresencePage {
    pub items: Vec<PresenceInfo>,
    pub next_cursor: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    pub async fn my_presence(&self) -> Result<PresenceInfo> {
        done(self.inner().my_presence().await).map(PresenceInfo::from)
    }

    /// `state`: `available`, `away` or `dnd`; `until` only with `dnd`.
    pub async fn set_my_presence(
        &self,
        state: String,
        status_text: Option<String>,
        until: Option<SystemTime>,
    ) -> Result<PresenceInfo> {
        let update = PutPresence {
            state,
            status_text,
            until: until.map(datetime),
        };
        done(self.inner().set_my_presence(&update).await).map(PresenceInfo::from)
    }

    /// The presences the caller may see, optionally of one team or state.
    pub async fn list_presences(
        &self,
        team_id: Option<String>,
        state: Option<String>,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<PresencePage> {
        let query = PresenceQuery {
            page: PageQuery { cursor, limit },
            team_id: team_id.as_deref().map(|t| id("team_id", t)).transpose()?,
            state: state
                .as_deref()
                .map(|s| wire_enum("state", s, PresenceState::parse))
                .transpose()?,
        };
        let page = done(self.inner().list_presences(&query).await)?;
        Ok(PresencePage {
            items: page.items.into_iter().map(PresenceInfo::from).collect(),
            next_cursor: page.next_cursor,
        })
    }
}
