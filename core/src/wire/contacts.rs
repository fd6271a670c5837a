//! Contacts: the people and companies an organisation calls, their numbers,
//! bulk import and reverse lookup (docs/contacts.md).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::present::present;
use super::str_enum::str_enum;
use super::{BlockedBy, CallRecord};
use crate::ids::{ContactId, UserId};

/// The most rows one import request may carry.
pub const MAX_IMPORT_ROWS: usize = 1000;

str_enum! {
    /// How a contact came to be.
    pub enum ContactSource {
        /// Created by a person (`POST /v1/contacts`).
        Manual => "manual",
        /// Created by a bulk import.
        Import => "import",
        /// Created by the server for an unknown caller.
        Auto => "auto",
    }
}

str_enum! {
    /// Which contacts salespeople see; admins and managers always see all.
    pub enum ContactVisibility {
        /// Every contact of the organisation.
        Organisation => "organisation",
        /// Only the contacts they own.
        Own => "own",
    }
}

/// One of a contact's numbers: E.164, and the text it was given as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactNumber {
    pub e164: String,
    pub raw: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub id: ContactId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub numbers: Vec<ContactNumber>,
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<UserId>,
    pub custom_fields: BTreeMap<String, String>,
    pub source: ContactSource,
    pub score: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// `POST /v1/contacts`. National numbers (without `+`) are read in
/// `region`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateContact {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub numbers: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub external_id: Option<String>,
    /// Defaults to the caller for salespeople, to nobody for others.
    #[serde(default)]
    pub owner_id: Option<UserId>,
    #[serde(default)]
    pub custom_fields: BTreeMap<String, String>,
    /// ISO 3166-1 alpha-2 region for national numbers, e.g. `DE`.
    #[serde(default)]
    pub region: Option<String>,
}

/// `PATCH /v1/contacts/{id}`: absent fields stay; `null` clears an optional
/// one; `numbers`, `tags` and `custom_fields` replace the whole list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateContact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub company: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub notes: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub email: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numbers: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub external_id: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub owner_id: Option<Option<UserId>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_fields: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

/// `GET /v1/contact-settings` and `PUT` (admins).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactSettings {
    pub visibility: ContactVisibility,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutContactSettings {
    pub visibility: ContactVisibility,
}

/// One row of `POST /v1/contacts/import`: the fields of a new contact
/// (the CSV columns have the same names, with `numbers` and `tags`
/// separated by `;` and custom fields as `custom.<key>` columns). A row's
/// `region` overrides the request's.
pub type ImportContactRow = CreateContact;

/// `POST /v1/contacts/import` as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportContacts {
    pub rows: Vec<ImportContactRow>,
}

str_enum! {
    /// What one import row did.
    pub enum ImportStatus {
        Created => "created",
        Updated => "updated",
        /// The contact already said everything the row says.
        Unchanged => "unchanged",
        /// Not stored; `code` and `message` say why.
        Rejected => "rejected",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowResult {
    /// Position in the request (0-based; for CSV, the data row after the header).
    pub row: u32,
    pub status: ImportStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<ContactId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportResults {
    pub results: Vec<ImportRowResult>,
}

/// `GET /v1/contacts/lookup?number=`: who the number belongs to, and the
/// caller's latest calls with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactLookup {
    /// The number in E.164.
    pub number: String,
    pub contact: Option<Contact>,
    /// The contact's score; `null` without a contact.
    pub score: Option<i64>,
    /// Newest first, at most 10, only calls the caller may see.
    pub recent_calls: Vec<CallRecord>,
    /// Whether the blocklist blocks the number for the caller (their own,
    /// their teams' and the organisation's entries; docs/blocklist.md).
    #[serde(default)]
    pub blocked: bool,
    /// The entry that blocks it, when `blocked`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_by: Option<BlockedBy>,
}

/// The contact a call record or a dial is linked to (docs/contacts.md,
/// "Calls and dials of a contact"). `name` is `null` for a contact
/// without one (a provisional contact of an unknown caller, or a
/// company); `company` is then the other thing to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactRef {
    pub id: ContactId,
    pub name: Option<String>,
    #[serde(default)]
    pub company: Option<String>,
}

/// `POST /v1/contacts/{id}/merge`: the contact to merge into `{id}` (and
/// delete).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MergeContact {
    pub from: ContactId,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_sends_only_what_it_changes_and_null_only_to_clear() {
        assert_eq!(
            serde_json::to_value(UpdateContact::default()).unwrap(),
            serde_json::json!({})
        );
        let clear = UpdateContact {
            company: Some(None),
            ..UpdateContact::default()
        };
        let sent = serde_json::to_value(&clear).unwrap();
        assert_eq!(sent, serde_json::json!({ "company": null }));
        assert_eq!(
            serde_json::from_value::<UpdateContact>(sent).unwrap(),
            clear
        );
    }
}
