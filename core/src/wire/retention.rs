//! Retention and legal holds (docs/retention.md): `GET`/`PUT
//! /v1/retention`, `POST`/`GET /v1/legal-holds`, `DELETE
//! /v1/legal-holds/{id}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::present::present;
use super::str_enum::str_enum;
use crate::ids::{LegalHoldId, UserId};

/// The longest retention an organisation may choose (100 years).
pub const MAX_RETENTION_DAYS: i64 = 36_500;
/// The longest an organisation (or the operator) may keep an export's file.
pub const MAX_EXPORT_DAYS: i64 = 90;
/// Holds an organisation may have that are not released.
pub const MAX_ACTIVE_LEGAL_HOLDS: usize = 1_000;
/// Longest hold reason, in characters.
pub const MAX_LEGAL_HOLD_REASON_CHARS: usize = 500;

/// Days to keep each kind of data; `None` keeps it forever (an export's
/// file always has days: the operator's default is never `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionDays {
    pub call_record_days: Option<i64>,
    pub recording_days: Option<i64>,
    /// Days a ready export's file stays downloadable (1 to
    /// [`MAX_EXPORT_DAYS`]).
    pub export_days: Option<i64>,
}

impl RetentionDays {
    /// No days of its own: an organisation that chose nothing.
    pub const UNCHOSEN: Self = Self {
        call_record_days: None,
        recording_days: None,
        export_days: None,
    };
}

/// `GET /v1/retention`: what the organisation chose, the operator's
/// defaults (read-only here) and what applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// The organisation's own days; `None` follows the default.
    pub chosen: RetentionDays,
    /// The operator's defaults (`retention_*_days`); `None` is forever.
    pub defaults: RetentionDays,
    /// What the purge uses; `None` keeps forever.
    pub effective: RetentionDays,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<UserId>,
}

/// `PUT /v1/retention`: `call_record_days` and `recording_days`, each days
/// (1 to [`MAX_RETENTION_DAYS`]) or `null` to follow the default. Both must
/// be present: a body that forgot one must not reset it to the default.
/// `export_days` (1 to [`MAX_EXPORT_DAYS`], or `null`) came later, so a body
/// without it keeps what was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SetRetention {
    #[serde(deserialize_with = "Option::deserialize")]
    pub call_record_days: Option<i64>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub recording_days: Option<i64>,
    /// Absent: unchanged; `Some(None)`: follow the default.
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub export_days: Option<Option<i64>>,
}

str_enum! {
    /// What a legal hold keeps.
    pub enum LegalHoldSubject {
        /// Every call of the user.
        User => "user",
        /// Every call linked to the contact.
        Contact => "contact",
        /// One call record.
        Call => "call",
    }
}

/// `POST /v1/legal-holds`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceLegalHold {
    pub subject_type: String,
    pub subject_id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegalHold {
    pub id: LegalHoldId,
    pub subject_type: LegalHoldSubject,
    pub subject_id: String,
    pub reason: String,
    pub created_at: DateTime<Utc>,
    pub created_by: UserId,
    pub released_at: Option<DateTime<Utc>>,
    pub released_by: Option<UserId>,
}
