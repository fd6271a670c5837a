//! The blocklist and allow-list (docs/blocklist.md): entries by number or
//! prefix, scoped to the organisation, a team or a user.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::present::present;
use super::str_enum::str_enum;
use crate::ids::{BlocklistEntryId, TeamId, UserId};

str_enum! {
    /// What an entry does to the numbers it matches.
    pub enum BlocklistKind {
        Block => "block",
        /// Wins over every block that applies to the same call.
        Allow => "allow",
    }
}

str_enum! {
    /// Whose calls an entry applies to.
    pub enum BlocklistScope {
        Organisation => "organisation",
        /// The members of `team_id`.
        Team => "team",
        /// `user_id` alone.
        User => "user",
    }
}

str_enum! {
    /// How an entry's `value` matches a number.
    #[derive(PartialOrd, Ord)]
    pub enum BlocklistPattern {
        /// The whole E.164 number.
        Number => "number",
        /// Every number starting with it (`+` and 1 to 15 digits).
        Prefix => "prefix",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistEntry {
    pub id: BlocklistEntryId,
    pub kind: BlocklistKind,
    pub scope: BlocklistScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub pattern: BlocklistPattern,
    /// An E.164 number or prefix, as `pattern` says.
    pub value: String,
    pub label: String,
    pub reason: String,
    /// From then on the entry no longer applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<UserId>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/blocklist`. `team_id` with scope `team`, `user_id` with scope
/// `user`, neither with `organisation`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBlocklistEntry {
    pub kind: BlocklistKind,
    pub scope: BlocklistScope,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    pub pattern: BlocklistPattern,
    pub value: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// `PATCH /v1/blocklist/{id}`: the fields to change. The match and the
/// scope are the entry's identity and do not change (delete and add).
/// `expires_at: null` clears the expiry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBlocklistEntry {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<BlocklistKind>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// One row's result of `POST /v1/blocklist/import`, in the rows' order
/// (`row` counts from 1, the header not included).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistImportRow {
    pub row: u32,
    pub outcome: BlocklistImportOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<BlocklistEntryId>,
    /// The error code of a rejected row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

str_enum! {
    pub enum BlocklistImportOutcome {
        Created => "created",
        /// The same match and scope exists: it was left as it is.
        Unchanged => "unchanged",
        Rejected => "rejected",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlocklistImportResult {
    pub rows: Vec<BlocklistImportRow>,
}

/// The entry that decides a call or dial, as a refusal and the HEAD check
/// report it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockedBy {
    pub entry_id: BlocklistEntryId,
    pub scope: BlocklistScope,
    pub pattern: BlocklistPattern,
    pub value: String,
    pub label: String,
    pub reason: String,
}
