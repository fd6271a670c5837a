//! `GET /v1/events`: what the app's live stream carries. Each event has a
//! sequence number (the SSE `id`); reconnecting with `Last-Event-ID` (or
//! `?after=`) resumes after it, so nothing is missed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bindings::{BindingAction, BindingEndReason, BindingVia};
use super::calls::CallRecord;
use super::dials::Dial;
use crate::ids::{BindingId, ContactId, PhoneId};

/// The `data` of one event; its `type` is also the SSE `event` name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AppEvent {
    /// A dial command of the user changed state.
    Dial { dial: Dial },
    /// One of the user's bindings started or ended.
    Binding {
        binding_id: BindingId,
        phone_id: PhoneId,
        action: BindingAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        via: Option<BindingVia>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<BindingEndReason>,
        at: DateTime<Utc>,
    },
    /// A call rings in on a phone the user holds, with its screen pop:
    /// what `GET /v1/contacts/lookup` answers the user for the number
    /// (docs/screen-pop.md). The pop's fields default, so events written
    /// before them still parse.
    IncomingCall {
        phone_id: PhoneId,
        call_id: String,
        /// The number as the phone reported it.
        from: String,
        at: DateTime<Utc>,
        /// `from` in E.164, when it could be read (national numbers in the
        /// phone's region).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from_e164: Option<String>,
        /// The contact the number belongs to, if the user may see it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        contact: Option<PopContact>,
        /// The contact's score; absent without a contact.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        score: Option<i64>,
        /// The user's latest calls with the number that they may see,
        /// newest first (at most 10).
        #[serde(default)]
        recent_calls: Vec<CallRecord>,
    },
    /// A call record of the user was stored or changed (ingest, or its
    /// annotation through `PATCH /v1/calls/{id}`): the record as the call
    /// log shows it to the user.
    CallRecord {
        change: CallRecordChange,
        record: Box<CallRecord>,
    },
    /// Events after the client's cursor were purged: refetch state
    /// (`GET /v1/dials`, `GET /v1/bindings`) and continue from this id.
    Resync,
    /// One of the user's call-list tasks moved (docs/call-lists.md,
    /// "Progress"): dialled, or settled by its call (`attempt` says how)
    /// or its disposition.
    CallTask {
        task: Box<super::CallTask>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attempt: Option<Box<super::CallAttempt>>,
    },
    /// A salesperson's queue of a call list emptied (docs/call-lists.md,
    /// "Progress"): to them and to the list's owner.
    CallListCompletion {
        completion: Box<super::CallListCompletion>,
    },
    /// One of the user's exports is ready to download, or failed
    /// (docs/exports.md).
    Export { export: Box<super::Export> },
    /// The presence of a user the reader may see changed (docs/presence.md).
    /// Live only: never stored, sent without an SSE `id`, so a client that
    /// reconnects reads `GET /v1/presences` instead of replaying these.
    Presence { presence: super::Presence },
}

impl AppEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dial { .. } => "dial",
            Self::Binding { .. } => "binding",
            Self::IncomingCall { .. } => "incoming_call",
            Self::CallRecord { .. } => "call_record",
            Self::Resync => "resync",
            Self::Presence { .. } => "presence",
            Self::CallTask { .. } => "call_task",
            Self::CallListCompletion { .. } => "call_list_completion",
            Self::Export { .. } => "export",
        }
    }
}

/// Who a screen pop's number belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PopContact {
    pub id: ContactId,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
}

/// What happened to a record a `call_record` event carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallRecordChange {
    Created,
    Updated,
}

/// An event with its place in the user's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequencedEvent {
    pub seq: i64,
    pub event: AppEvent,
}
