//! What came of a call (docs/call-outcomes.md): the organisation's
//! disposition catalogue, a call's notes, tags, disposition, callback time
//! and privacy, its edit history, and the organisation's call settings.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::present::present;
use crate::ids::{DispositionId, UserId};

/// The most dispositions (active and archived) an organisation may have.
pub const MAX_DISPOSITIONS: usize = 50;
/// The longest disposition code (`[a-z0-9_]`).
pub const MAX_DISPOSITION_CODE: usize = 40;
/// The longest disposition label.
pub const MAX_DISPOSITION_LABEL: usize = 80;
/// The longest call notes, in characters.
pub const MAX_CALL_NOTES: usize = 4000;
/// The most tags one call may carry.
pub const MAX_CALL_TAGS: usize = 20;
/// The longest tag, in characters.
pub const MAX_CALL_TAG: usize = 40;

/// One entry of the organisation's catalogue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Disposition {
    pub id: DispositionId,
    /// A stable slug (`[a-z0-9_]`, unique in the organisation, never changes).
    pub code: String,
    pub label: String,
    /// The other party was reached.
    pub reached: bool,
    /// The call made a sale.
    pub sale: bool,
    /// The other party asked not to be called again.
    pub do_not_call: bool,
    /// The call needs a callback: `callback_at` is required with it.
    pub callback: bool,
    pub sort_order: i64,
    /// Archived dispositions stay on the calls that have them but can no
    /// longer be chosen.
    pub archived: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `GET /v1/dispositions`: the whole catalogue, by `sort_order` then code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionList {
    pub items: Vec<Disposition>,
}

/// `POST /v1/dispositions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDisposition {
    pub code: String,
    pub label: String,
    #[serde(default)]
    pub reached: bool,
    #[serde(default)]
    pub sale: bool,
    #[serde(default)]
    pub do_not_call: bool,
    #[serde(default)]
    pub callback: bool,
    #[serde(default)]
    pub sort_order: Option<i64>,
}

/// `PATCH /v1/dispositions/{id}`: absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateDisposition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sale: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub do_not_call: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived: Option<bool>,
}

/// A call's disposition as the call log shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DispositionRef {
    pub id: DispositionId,
    pub code: String,
    pub label: String,
}

/// `PATCH /v1/calls/{id}`: absent fields stay as they are; `null` clears
/// `notes`, `disposition_id` and `callback_at`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateCall {
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub disposition_id: Option<Option<DispositionId>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub callback_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<bool>,
    /// The `annotation_version` the change was made against: when given
    /// and no longer current, the change is refused (409
    /// `annotation_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
}

/// One field's value before and after an edit (`null` when unset).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// One accepted edit of a call's annotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallEdit {
    /// The annotation version this edit produced (1 for the first).
    pub version: i64,
    pub editor_id: UserId,
    pub edited_at: DateTime<Utc>,
    /// Only the fields that changed.
    pub changes: BTreeMap<String, FieldChange>,
}

/// `GET /v1/calls/{id}/history`: oldest edit first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallHistory {
    pub items: Vec<CallEdit>,
}

/// `GET` and `PUT /v1/call-settings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSettings {
    /// Whether a call's user may mark it private.
    pub allow_private: bool,
}
