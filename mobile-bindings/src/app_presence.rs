//! `AppClient`'s presence (docs/presence.md): the user's own (read and
//! choose available, away or dnd), the presences they may see, and the
//! organisation's settings (admins).

use deskbind_core::ids::TeamId;
use deskbind_core::wire::{Page, Presence, PresenceSettings, PresenceState, PutPresence};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};

/// Filters of [`AppClient::list_presences`].
#[derive(Debug, Clone, Default)]
pub struct PresenceQuery {
    pub page: PageQuery,
    pub team_id: Option<TeamId>,
    pub state: Option<PresenceState>,
}

impl AppClient {
    /// The signed-in user's presence.
    pub async fn my_presence(&self) -> Result<Presence> {
        self.get("v1/me/presence").await
    }

    /// Chooses `available`, `away` or `dnd` (with `until`, a DND that
    /// ends by itself), with an optional status text.
    pub async fn set_my_presence(&self, update: &PutPresence) -> Result<Presence> {
        self.send(Method::PUT, "v1/me/presence", update).await
    }

    /// The presences the user may see: an admin's organisation, otherwise
    /// the members of their teams.
    pub async fn list_presences(&self, query: &PresenceQuery) -> Result<Page<Presence>> {
        let mut pairs = query.page.pairs();
        if let Some(team) = query.team_id {
            pairs.push(("team_id", team.to_string()));
        }
        if let Some(state) = query.state {
            pairs.push(("state", state.as_str().to_owned()));
        }
        self.get_with("v1/presences", &pairs).await
    }

    /// Admins: the organisation's presence settings.
    pub async fn presence_settings(&self) -> Result<PresenceSettings> {
        self.get("v1/presence-settings").await
    }

    /// Admins: replaces the organisation's presence settings.
    pub async fn set_presence_settings(
        &self,
        settings: &PresenceSettings,
    ) -> Result<PresenceSettings> {
        self.send(Method::PUT, "v1/presence-settings", settings)
            .await
    }
}
