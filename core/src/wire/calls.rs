//! Call records and their recordings: what phones and apps upload, what
//! sync and review return (docs/records.md).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use super::{ContactRef, DispositionRef};
use crate::ids::{CallRecordId, DialId, PhoneId, RecordingId, RecordingUploadId, UserId};

/// The most records one upload may carry.
pub const MAX_RECORD_BATCH: usize = 500;
/// The largest body a record upload may have (about 2 KiB per record).
pub const MAX_RECORD_BATCH_BYTES: usize = 1024 * 1024;

str_enum! {
    pub enum CallDirection {
        Outbound => "outbound",
        Inbound => "inbound",
        /// An inbound call nobody answered.
        Missed => "missed",
    }
}

str_enum! {
    /// How the call ended.
    pub enum CallResult {
        Answered => "answered",
        Busy => "busy",
        NoAnswer => "no_answer",
        Rejected => "rejected",
        Failed => "failed",
        Cancelled => "cancelled",
    }
}

str_enum! {
    /// Audio container, recognised from the file's first bytes.
    pub enum RecordingFormat {
        Wav => "wav",
        Mp3 => "mp3",
        /// Ogg (Opus or Vorbis).
        Ogg => "ogg",
        Amr => "amr",
        M4a => "m4a",
    }
}

impl RecordingFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Wav => "audio/wav",
            Self::Mp3 => "audio/mpeg",
            Self::Ogg => "audio/ogg",
            Self::Amr => "audio/amr",
            Self::M4a => "audio/mp4",
        }
    }
}

/// One call as a phone (or the app relaying it) reports it. `call_id` is the
/// phone's own id for the call: uploading it again merges into the same
/// record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallRecordUpload {
    pub call_id: String,
    pub direction: CallDirection,
    /// The phone's own number or extension as the phone shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_number: Option<String>,
    /// The other party, as dialled or as shown by caller id.
    pub remote_number: String,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    /// Talk time; derived from `answered_at` and `ended_at` when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CallResult>,
    /// The dial command that made the phone place this call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_id: Option<DialId>,
}

/// `POST /v1/phone/call-records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneCallRecordBatch {
    pub records: Vec<CallRecordUpload>,
}

/// `POST /v1/call-records`: records the app received from a phone it held
/// (the NFC path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppCallRecordBatch {
    pub phone_id: PhoneId,
    pub records: Vec<CallRecordUpload>,
}

str_enum! {
    /// What one uploaded record did.
    pub enum IngestOutcome {
        Created => "created",
        /// Merged new facts into the existing record.
        Updated => "updated",
        /// Nothing new: a replay.
        Unchanged => "unchanged",
        /// Not stored; `error` says why.
        Rejected => "rejected",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemError {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestItemResult {
    /// Position in the uploaded `records`.
    pub index: u32,
    pub call_id: String,
    pub outcome: IngestOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CallRecordId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ItemError>,
}

/// The answer to a record upload: one result per record, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IngestResults {
    pub results: Vec<IngestItemResult>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recording {
    pub id: RecordingId,
    pub phone_id: PhoneId,
    pub call_id: String,
    pub size_bytes: u64,
    /// Lower-case hex.
    pub sha256: String,
    pub format: RecordingFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    pub uploaded_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallRecord {
    pub id: CallRecordId,
    pub phone_id: PhoneId,
    pub call_id: String,
    /// Who held the phone when the call started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dial_id: Option<DialId>,
    pub direction: CallDirection,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_number_e164: Option<String>,
    pub remote_number: String,
    /// The remote number in E.164 when it could be parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_number_e164: Option<String>,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answered_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<CallResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<Recording>,
    pub reported_by_phone: bool,
    pub reported_by_app: bool,
    /// An inbound call from a number blocked for its user when it was
    /// stored (docs/blocklist.md).
    #[serde(default)]
    pub blocked: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// What came of the call (docs/call-outcomes.md); absent, empty and
    /// `false` on a call nobody annotated, and on another user's private
    /// call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disposition: Option<DispositionRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub callback_at: Option<DateTime<Utc>>,
    /// Marked private by its user: others see only that it happened (time,
    /// duration, result, user), not the number, dial, recording or
    /// annotation.
    #[serde(default)]
    pub private: bool,
    /// This reader sees the call redacted (another user's private call):
    /// `remote_number` is empty and the fields above are absent.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub redacted: bool,
    /// How many times the annotation was edited (0: never); pass it back
    /// as `version` in `PATCH /v1/calls/{id}` to refuse a lost update.
    #[serde(default)]
    pub annotation_version: i64,
    /// The contact the remote number belongs to (docs/contacts.md);
    /// `null` when none, and on another user's private call.
    #[serde(default)]
    pub contact: Option<ContactRef>,
}

/// `GET /v1/sync/calls`: the changed records after the cursor, oldest
/// change first. Keep `next_cursor` and pass it back; `has_more` says
/// whether to ask again at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPage {
    pub items: Vec<CallRecord>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// `POST /v1/phone/recordings/{call_id}/uploads`: ask for a presigned URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateRecordingUpload {
    pub size_bytes: u64,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
}

/// Where to PUT the file, with the headers the signature covers. After the
/// PUT, `POST /v1/phone/recording-uploads/{id}/complete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingUpload {
    pub id: RecordingUploadId,
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub expires_at: DateTime<Utc>,
}

/// One user's calls on one local day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallStatsRow {
    pub user_id: UserId,
    /// `YYYY-MM-DD` in the requested time zone.
    pub day: String,
    pub calls: u64,
    pub answered: u64,
    /// Sum of the answered calls' durations.
    pub talk_secs: u64,
    /// Mean duration of the answered calls (0 when none).
    pub average_secs: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CallStats {
    pub time_zone: String,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub items: Vec<CallStatsRow>,
}
