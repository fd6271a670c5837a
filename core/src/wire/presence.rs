//! Presence on the wire (docs/presence.md): what a user chose, what the
//! server derives from the app, the phone and its line, and the settings
//! of an organisation.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::UserId;

str_enum! {
    /// The effective state others see.
    pub enum PresenceState {
        Available => "available",
        Away => "away",
        Busy => "busy",
        Dnd => "dnd",
        Offline => "offline",
    }
}

str_enum! {
    /// What a user may choose; `busy` and `offline` are derived.
    pub enum ChosenPresence {
        Available => "available",
        Away => "away",
        Dnd => "dnd",
    }
}

str_enum! {
    /// The line of a phone, as the phone reports it (or as its call
    /// events imply).
    pub enum LineState {
        Idle => "idle",
        Ringing => "ringing",
        Dialing => "dialing",
        Talking => "talking",
        Held => "held",
    }
}

impl LineState {
    /// A call is in progress (anything but idle).
    pub fn in_call(self) -> bool {
        self != LineState::Idle
    }
}

/// One user's presence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub user_id: UserId,
    pub display_name: String,
    pub state: PresenceState,
    /// What the user chose (`available` when never set).
    pub chosen: ChosenPresence,
    /// Absent when never set, or hidden from this reader.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_text: Option<String>,
    /// When a timed DND ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
    pub app_connected: bool,
    pub phone_online: bool,
    /// The line of the phone the user holds; absent when they hold none
    /// or it is not connected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_state: Option<LineState>,
    /// While the line is in a call: when the call began (the line left
    /// idle), as the server saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_since: Option<DateTime<Utc>>,
}

/// `PUT /v1/me/presence`. `state` is what the user chooses; `busy` and
/// `offline` are refused (`presence_state_derived`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutPresence {
    pub state: String,
    #[serde(default)]
    pub status_text: Option<String>,
    /// Only with `dnd`: when it ends by itself.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
}

/// `/v1/presence-settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresenceSettings {
    /// Salespeople do not see their teammates' status text.
    pub hide_status_text: bool,
    /// After this long without activity a user who chose `available` is
    /// `away`; absent: never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_away_after_secs: Option<u32>,
}
