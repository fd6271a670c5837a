//! The records that cross the FFI. Ids are strings (UUIDs), instants are
//! timestamps (java.time.Instant, Date, datetime), and the server's enums
//! are their wire names (`"outbound"`, `"queued"`...), as in docs/ and
//! openapi.yaml, so the bindings do not need a release per new value.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use deskbind_mobile::wire;

use crate::error::{DeskbindError, Result};

pub(crate) fn instant(at: DateTime<Utc>) -> SystemTime {
    SystemTime::from(at)
}

pub(crate) fn datetime(at: SystemTime) -> DateTime<Utc> {
    DateTime::<Utc>::from(at)
}

/// Parses a wire enum value the app passed, naming the field on failure.
pub(crate) fn wire_enum<T>(field: &str, raw: &str, parse: impl Fn(&str) -> Option<T>) -> Result<T> {
    parse(raw).ok_or_else(|| DeskbindError::Validation {
        code: "invalid_field".into(),
        field: Some(field.to_owned()),
        message: format!("{raw:?} is not a known value"),
    })
}

pub(crate) fn id<T: std::str::FromStr>(field: &str, raw: &str) -> Result<T> {
    raw.parse().map_err(|_| DeskbindError::Validation {
        code: "invalid_field".into(),
        field: Some(field.to_owned()),
        message: format!("{raw:?} is not an id"),
    })
}

/// What the app's token store keeps between launches.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoredTokens {
    pub access_token: String,
    pub refresh_token: String,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct UserInfo {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub display_name: String,
    /// `admin`, `manager` or `salesperson`.
    pub role: String,
    pub time_zone: String,
}

impl From<wire::User> for UserInfo {
    fn from(u: wire::User) -> Self {
        Self {
            id: u.id.to_string(),
            org_id: u.org_id.to_string(),
            email: u.email,
            display_name: u.display_name,
            role: u.role.as_str().to_owned(),
            time_zone: u.time_zone,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PhoneInfo {
    pub id: String,
    pub number: String,
    pub extension: String,
    pub label: String,
    pub provisioned: bool,
    /// Who holds the phone now.
    pub holder_user_id: Option<String>,
    /// `yealink`, `snom`, `grandstream` or `fanvil` for a phone driven
    /// over its HTTP interface; absent for one on deskbind's protocol.
    pub driver: Option<String>,
    /// What the phone can be told to do (`dial`, `hangup`, `dnd`): grey
    /// out the rest.
    pub capabilities: Vec<String>,
}

impl From<wire::Phone> for PhoneInfo {
    fn from(p: wire::Phone) -> Self {
        Self {
            id: p.id.to_string(),
            number: p.number,
            extension: p.extension,
            label: p.label,
            provisioned: p.provisioned,
            holder_user_id: p.holder.map(|h| h.user_id.to_string()),
            driver: p.driver.map(|d| d.as_str().to_owned()),
            capabilities: p
                .capabilities
                .iter()
                .map(|c| c.as_str().to_owned())
                .collect(),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct BindingInfo {
    pub id: String,
    pub phone_id: String,
    pub user_id: String,
    /// `app`, `phone` or `nfc`.
    pub via: String,
    pub active: bool,
    pub started_at: SystemTime,
    pub expires_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub end_reason: Option<String>,
}

impl From<wire::Binding> for BindingInfo {
    fn from(b: wire::Binding) -> Self {
        Self {
            id: b.id.to_string(),
            phone_id: b.phone_id.to_string(),
            user_id: b.user_id.to_string(),
            via: b.via.as_str().to_owned(),
            active: b.active,
            started_at: instant(b.started_at),
            expires_at: b.expires_at.map(instant),
            ended_at: b.ended_at.map(instant),
            end_reason: b.end_reason.map(|r| r.as_str().to_owned()),
        }
    }
}

/// A phone's NFC binding token: `ndef` is the NDEF message to emulate,
/// `code` the numeric fallback to show.
#[derive(Debug, Clone, uniffi::Record)]
pub struct BindingTokenInfo {
    pub token: String,
    pub ndef: Vec<u8>,
    pub code: String,
    pub expires_at: SystemTime,
}

/// A queued dial as a signed payload for the phone: serve `ndef` by card
/// emulation (or write it to a tag) until `expires_at`.
#[derive(Debug, Clone, uniffi::Record)]
pub struct DialNfcInfo {
    pub dial_id: String,
    pub phone_id: String,
    pub payload: String,
    pub ndef: Vec<u8>,
    pub expires_at: SystemTime,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct DialInfo {
    pub id: String,
    pub phone_id: String,
    pub number: String,
    /// `queued`, `delivered`, `dialing`, `ringing`, `answered`, `ended`,
    /// `failed`, `expired`, `cancelled`, ...
    pub state: String,
    pub failure: Option<String>,
    pub created_at: SystemTime,
    pub expires_at: SystemTime,
    pub updated_at: SystemTime,
    /// The contact the number belongs to (docs/contacts.md).
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
}

impl From<wire::Dial> for DialInfo {
    fn from(d: wire::Dial) -> Self {
        Self {
            id: d.id.to_string(),
            phone_id: d.phone_id.to_string(),
            number: d.number,
            state: d.state.as_str().to_owned(),
            failure: d.failure.map(|f| f.as_str().to_owned()),
            created_at: instant(d.created_at),
            expires_at: instant(d.expires_at),
            updated_at: instant(d.updated_at),
            contact_id: d.contact.as_ref().map(|r| r.id.to_string()),
            contact_name: d.contact.and_then(|r| r.name),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct RecordingInfo {
    pub id: String,
    pub size_bytes: u64,
    pub sha256: String,
    /// `wav`, `mp3`, `ogg`, `amr` or `m4a`.
    pub format: String,
    pub duration_ms: Option<u64>,
}

impl From<wire::Recording> for RecordingInfo {
    fn from(r: wire::Recording) -> Self {
        Self {
            id: r.id.to_string(),
            size_bytes: r.size_bytes,
            sha256: r.sha256,
            format: r.format.as_str().to_owned(),
            duration_ms: r.duration_ms,
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct CallRecordInfo {
    pub id: String,
    pub phone_id: String,
    pub call_id: String,
    pub user_id: Option<String>,
    pub dial_id: Option<String>,
    /// `outbound`, `inbound` or `missed`.
    pub direction: String,
    pub remote_number: String,
    pub remote_number_e164: Option<String>,
    pub started_at: SystemTime,
    pub answered_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    pub duration_secs: Option<i64>,
    pub result: Option<String>,
    pub recording: Option<RecordingInfo>,
    pub updated_at: SystemTime,
    /// What came of the call (docs/call-outcomes.md).
    pub notes: Option<String>,
    pub tags: Vec<String>,
    pub disposition_id: Option<String>,
    pub disposition_code: Option<String>,
    pub disposition_label: Option<String>,
    pub callback_at: Option<SystemTime>,
    pub private: bool,
    /// Another user's private call: no number, recording or annotation.
    pub redacted: bool,
    pub annotation_version: i64,
    /// The contact the remote number belongs to (docs/contacts.md).
    pub contact_id: Option<String>,
    /// `None` for a contact without a name (a provisional one).
    pub contact_name: Option<String>,
    pub contact_company: Option<String>,
}

impl From<wire::CallRecord> for CallRecordInfo {
    fn from(c: wire::CallRecord) -> Self {
        Self {
            id: c.id.to_string(),
            phone_id: c.phone_id.to_string(),
            call_id: c.call_id,
            user_id: c.user_id.map(|u| u.to_string()),
            dial_id: c.dial_id.map(|d| d.to_string()),
            direction: c.direction.as_str().to_owned(),
            remote_number: c.remote_number,
            remote_number_e164: c.remote_number_e164,
            started_at: instant(c.started_at),
            answered_at: c.answered_at.map(instant),
            ended_at: c.ended_at.map(instant),
            duration_secs: c.duration_secs,
            result: c.result.map(|r| r.as_str().to_owned()),
            recording: c.recording.map(RecordingInfo::from),
            updated_at: instant(c.updated_at),
            notes: c.notes,
            tags: c.tags,
            disposition_id: c.disposition.as_ref().map(|d| d.id.to_string()),
            disposition_code: c.disposition.as_ref().map(|d| d.code.clone()),
            disposition_label: c.disposition.map(|d| d.label),
            callback_at: c.callback_at.map(instant),
            private: c.private,
            redacted: c.redacted,
            annotation_version: c.annotation_version,
            contact_id: c.contact.as_ref().map(|r| r.id.to_string()),
            contact_name: c.contact.as_ref().and_then(|r| r.name.clone()),
            contact_company: c.contact.and_then(|r| r.company),
        }
    }
}

/// One page of `sync_calls`: keep `next_cursor` and pass it next time.
#[derive(Debug, Clone, uniffi::Record)]
pub struct SyncPageInfo {
    pub items: Vec<CallRecordInfo>,
    pub next_cursor: String,
    pub has_more: bool,
}

/// A call record as the phone (or the app, on the NFC path) reports it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CallRecordInput {
    pub call_id: String,
    /// `outbound`, `inbound` or `missed`.
    pub direction: String,
    pub remote_number: String,
    pub local_number: Option<String>,
    pub started_at: SystemTime,
    pub answered_at: Option<SystemTime>,
    pub ended_at: Option<SystemTime>,
    /// `answered`, `busy`, `no_answer`, `rejected`, `failed`, `cancelled`.
    pub result: Option<String>,
    pub dial_id: Option<String>,
}

impl CallRecordInput {
    pub(crate) fn to_wire(&self) -> Result<wire::CallRecordUpload> {
        Ok(wire::CallRecordUpload {
            call_id: self.call_id.clone(),
            direction: wire_enum("direction", &self.direction, wire::CallDirection::parse)?,
            local_number: self.local_number.clone(),
            remote_number: self.remote_number.clone(),
            started_at: datetime(self.started_at),
            answered_at: self.answered_at.map(datetime),
            ended_at: self.ended_at.map(datetime),
            duration_secs: None,
            result: self
                .result
                .as_deref()
                .map(|r| wire_enum("result", r, wire::CallResult::parse))
                .transpose()?,
            dial_id: self
                .dial_id
                .as_deref()
                .map(|d| id("dial_id", d))
                .transpose()?,
        })
    }
}

/// What happened to one uploaded record.
#[derive(Debug, Clone, uniffi::Record)]
pub struct IngestOutcomeInfo {
    pub call_id: String,
    /// `created`, `updated`, `unchanged` or `rejected`.
    pub outcome: String,
    pub record_id: Option<String>,
    pub error_code: Option<String>,
    pub error_field: Option<String>,
}

pub(crate) fn outcomes(results: wire::IngestResults) -> Vec<IngestOutcomeInfo> {
    results
        .results
        .into_iter()
        .map(|r| IngestOutcomeInfo {
            call_id: r.call_id,
            outcome: r.outcome.as_str().to_owned(),
            record_id: r.id.map(|i| i.to_string()),
            error_code: r.error.as_ref().map(|e| e.code.clone()),
            error_field: r.error.and_then(|e| e.field),
        })
        .collect()
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PushDeviceInfo {
    pub id: String,
    /// `android` or `ios`.
    pub platform: String,
    pub token_hint: String,
    pub created_at: SystemTime,
}

impl From<wire::PushDevice> for PushDeviceInfo {
    fn from(d: wire::PushDevice) -> Self {
        Self {
            id: d.id.to_string(),
            platform: d.platform.as_str().to_owned(),
            token_hint: d.token_hint,
            created_at: instant(d.created_at),
        }
    }
}

/// When digests are pushed (docs/push.md).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PushScheduleRule {
    /// Local `HH:MM` in the user's time zone.
    pub daily_at: Option<String>,
    pub every_minutes: Option<u32>,
    pub on_missed_call: bool,
    pub on_new_records: bool,
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct PushScheduleInfo {
    pub rule: PushScheduleRule,
    /// `custom` or `default`.
    pub source: String,
    pub time_zone: String,
    pub next_due_at: Option<SystemTime>,
}

impl From<wire::PushSchedule> for PushScheduleInfo {
    fn from(s: wire::PushSchedule) -> Self {
        Self {
            rule: PushScheduleRule {
                daily_at: s.rule.daily_at,
                every_minutes: s.rule.every_minutes,
                on_missed_call: s.rule.on_missed_call,
                on_new_records: s.rule.on_new_records,
            },
            source: s.source.as_str().to_owned(),
            time_zone: s.time_zone,
            next_due_at: s.next_due_at.map(instant),
        }
    }
}

/// An event of the app's live stream. `kind` is `dial`, `binding`,
/// `incoming_call`, `call_record`, `call_task`, `presence`,
/// `call_list_completion` or `resync`; `dial` is set for dial events,
/// `incoming_call` for a call ringing in (its screen pop), `call_record`
/// for a record stored or changed, `call_task` for a call-list task
/// dialled or settled, `presence` for a
/// presence change (only on a stream that follows presence; such an event
/// has no `seq` of its own and repeats the last one), `call_list_completion`
/// for a completion report; `json` is the whole event as the API sends it.
#[derive(Debug, Clone, uniffi::Record)]
pub struct AppEventInfo {
    pub seq: i64,
    pub kind: String,
    pub dial: Option<DialInfo>,
    pub incoming_call: Option<IncomingCallInfo>,
    pub call_record: Option<CallRecordEventInfo>,
    pub call_task: Option<crate::call_lists::CallTaskEventInfo>,
    pub presence: Option<crate::presence::PresenceInfo>,
    pub call_list_completion: Option<crate::call_lists::CallListCompletionInfo>,
    pub json: String,
}

/// A call ringing in on a phone the user holds, with what the user may
/// know of the number (docs/screen-pop.md).
#[derive(Debug, Clone, uniffi::Record)]
pub struct IncomingCallInfo {
    pub phone_id: String,
    pub call_id: String,
    /// The number as the phone reported it.
    pub from: String,
    pub from_e164: Option<String>,
    pub at: SystemTime,
    pub contact_id: Option<String>,
    pub contact_name: Option<String>,
    pub contact_company: Option<String>,
    pub score: Option<i64>,
    /// The user's latest calls with the number, newest first.
    pub recent_calls: Vec<CallRecordInfo>,
}

/// A call record of the user was stored or changed.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CallRecordEventInfo {
    /// `created` or `updated`.
    pub change: String,
    pub record: CallRecordInfo,
}

impl From<wire::SequencedEvent> for AppEventInfo {
    fn from(e: wire::SequencedEvent) -> Self {
        let json = serde_json::to_string(&e.event).unwrap_or_default();
        let kind = e.event.kind().to_owned();
        let (mut dial, mut incoming_call, mut call_record, mut presence) = (None, None, None, None);
        let mut call_list_completion = None;
        let mut call_task = None;
        match e.event {
            wire::AppEvent::Dial { dial: d } => dial = Some(DialInfo::from(d)),
            wire::AppEvent::IncomingCall {
                phone_id,
                call_id,
                from,
                at,
                from_e164,
                contact,
                score,
                recent_calls,
            } => {
                incoming_call = Some(IncomingCallInfo {
                    phone_id: phone_id.to_string(),
                    call_id,
                    from,
                    from_e164,
                    at: instant(at),
                    contact_id: contact.as_ref().map(|c| c.id.to_string()),
                    contact_name: contact.as_ref().map(|c| c.name.clone()),
                    contact_company: contact.and_then(|c| c.company),
                    score,
                    recent_calls: recent_calls.into_iter().map(CallRecordInfo::from).collect(),
                });
            }
            wire::AppEvent::CallRecord { change, record } => {
                call_record = Some(CallRecordEventInfo {
                    change: match change {
                        wire::CallRecordChange::Created => "created",
                        wire::CallRecordChange::Updated => "updated",
                    }
                    .to_owned(),
                    record: CallRecordInfo::from(*record),
                });
            }
            wire::AppEvent::Presence { presence: p } => {
                presence = Some(crate::presence::PresenceInfo::from(p));
            }
            wire::AppEvent::CallListCompletion { completion } => {
                call_list_completion = Some((*completion).into());
            }
            wire::AppEvent::CallTask { task, attempt } => {
                call_task = Some(crate::call_lists::CallTaskEventInfo::new(
                    *task,
                    attempt.map(|a| *a),
                ));
            }
            _ => {}
        }
        Self {
            seq: e.seq,
            kind,
            dial,
            incoming_call,
            call_record,
            call_task,
            presence,
            call_list_completion,
            json,
        }
    }
}
