//! `GET /v1/events`: what the app's live stream carries. Each event has a
//! sequence number (the SSE `id`); reconnecting with `Last-Event-ID` (or
//! `?after=`) resumes after it, so nothing is missed.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bindings::{BindingAction, BindingEndReason, BindingVia};
use super::dials::Dial;
use crate::ids::{BindingId, PhoneId};

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
    /// A call rings in on a phone the user holds.
    IncomingCall {
        phone_id: PhoneId,
        call_id: String,
        from: String,
        at: DateTime<Utc>,
    },
    /// Events after the client's cursor were purged: refetch state
    /// (`GET /v1/dials`, `GET /v1/bindings`) and continue from this id.
    Resync,
}

impl AppEvent {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dial { .. } => "dial",
            Self::Binding { .. } => "binding",
            Self::IncomingCall { .. } => "incoming_call",
            Self::Resync => "resync",
        }
    }
}

/// An event with its place in the user's stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SequencedEvent {
    pub seq: i64,
    pub event: AppEvent,
}
