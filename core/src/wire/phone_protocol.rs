//! The phone channel protocol (docs/phone-protocol.md): JSON text frames,
//! each an object with `v` (the protocol version) and `type`. The same
//! frames travel over the WebSocket and the long-poll fallback.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::dials::DialFailure;
use crate::ids::{DialId, UserId};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame with its version: `{"v": 1, "type": "...", ...}`. A phone may
/// number its frames (`id`, increasing); the server then answers each with
/// a `receipt` once it is processed, so the phone knows what to send again
/// after a reconnect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Frame<T> {
    pub v: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<u64>,
    #[serde(flatten)]
    pub body: T,
}

impl<T> Frame<T> {
    pub fn new(body: T) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            id: None,
            body,
        }
    }

    pub fn numbered(id: u64, body: T) -> Self {
        Self {
            v: PROTOCOL_VERSION,
            id: Some(id),
            body,
        }
    }
}

/// Server to phone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Dial `number` unless `expires_at` has passed. Sent again after a
    /// reconnect until acknowledged: the phone dedupes by `command_id`.
    Dial {
        command_id: DialId,
        number: String,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    },
    /// Hang up (or do not start) the call of this command.
    Hangup {
        command_id: DialId,
        reason: HangupReason,
    },
    /// The phone's holder changed; `user` is absent when no one holds it.
    Binding {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<BoundUser>,
    },
    /// Heartbeat; the phone answers with `pong`.
    Ping { at: DateTime<Utc> },
    /// The phone's frame numbered `received` (and every earlier one) has
    /// been processed. (Not `id`: that name belongs to the envelope.)
    Receipt { received: u64 },
    /// The last frame from the phone was refused.
    Error {
        code: String,
        detail: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command_id: Option<DialId>,
    },
    /// This node is shutting down: keep serving on this connection, then
    /// after `after_ms` close it and connect again to the same URL (a load
    /// balancer sends the new connection to another node). Added within
    /// version 1: a phone that does not know it ignores it, and is closed
    /// with 1012 once the delay has passed.
    Reconnect { after_ms: u64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HangupReason {
    Cancelled,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundUser {
    pub id: UserId,
    pub display_name: String,
}

/// Phone to server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PhoneFrame {
    /// The phone has the command and will act on it.
    Ack { command_id: DialId },
    /// Progress of a call. `command_id` links it to a dial command; calls
    /// placed by hand on the phone have none.
    CallEvent {
        call_id: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        command_id: Option<DialId>,
        state: CallState,
        /// Why the call failed; required when `state` is `failed`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result: Option<DialFailure>,
        at: DateTime<Utc>,
    },
    /// A call is ringing in; the server tells the holder's app.
    Incoming { call_id: String, from: String },
    /// Answer to `ping`.
    Pong,
    /// The state of the phone's line (docs/presence.md). Added within
    /// version 1 (docs/phone-protocol.md, "Line state"): sent on connect
    /// and whenever the line changes.
    LineState { state: super::LineState },
}

/// What a phone reports about a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallState {
    Dialing,
    Ringing,
    Answered,
    Ended,
    Failed,
}

/// `GET /v1/phone/commands`: what the long-poll returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneCommands {
    pub items: Vec<Frame<ServerFrame>>,
}

/// `POST /v1/phone/events`: frames a long-polling phone sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneEvents {
    pub events: Vec<Frame<PhoneFrame>>,
}

/// One result per posted event, in order: `error` is absent when accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneEventResults {
    pub results: Vec<PhoneEventResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhoneEventResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FrameRefusal>,
    /// What the socket would have answered: a `hangup` for an ack of an
    /// expired or cancelled command, or a report on a cancelled one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Frame<ServerFrame>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameRefusal {
    pub code: String,
    pub detail: String,
}
