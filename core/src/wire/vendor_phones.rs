//! Vendor desk phones (docs/vendor-phones.md): direct-mode event tokens and
//! the configuration an admin pastes into a phone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::vendor::Vendor;

/// `POST /v1/phones/{id}/vendor-token`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueVendorToken {
    /// The handset's MAC address; without it the token binds to the first
    /// MAC an event carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
}

/// A new direct-mode token, shown this once, with the configuration that
/// carries it.
#[derive(Clone, Serialize, Deserialize)]
pub struct VendorToken {
    pub token: String,
    pub vendor: Vendor,
    /// Lower-case hex without separators; absent until bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    /// Where the phone's Action URLs point.
    pub events_url: String,
    /// What to paste into the phone, in its vendor's format.
    pub snippet: String,
}

impl std::fmt::Debug for VendorToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VendorToken")
            .field("vendor", &self.vendor)
            .field("mac", &self.mac)
            .finish_non_exhaustive()
    }
}

str_enum! {
    /// Where a vendor phone's events go.
    pub enum VendorMode {
        /// Through `deskbind-relay` on the office LAN, which also sends
        /// the phone its commands.
        Relay => "relay",
        /// Straight to deskbind: call records only, no commands.
        Direct => "direct",
    }
}

/// `GET /v1/phones/{id}/vendor-config`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VendorConfig {
    pub vendor: Vendor,
    pub mode: VendorMode,
    /// In direct mode the token is shown as `<token>`: it is only ever
    /// shown when issued.
    pub events_url: String,
    pub snippet: String,
    /// Direct mode's state; absent while the phone has no token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct: Option<DirectModeState>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectModeState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac: Option<String>,
    pub events_accepted: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event_at: Option<DateTime<Utc>>,
    /// Calls in progress as the phone's events tell.
    pub open_calls: i64,
    pub issued_at: DateTime<Utc>,
}
