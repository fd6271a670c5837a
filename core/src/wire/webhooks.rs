//! Signed webhooks (docs/integrations.md, "Webhooks"): endpoints an admin
//! registers, the events they subscribe to, and their delivery log.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::{UserId, WebhookDeliveryId, WebhookEndpointId};

/// Endpoints an organisation may register.
pub const MAX_WEBHOOK_ENDPOINTS: usize = 20;
/// Longest endpoint URL, in bytes.
pub const MAX_WEBHOOK_URL_BYTES: usize = 2048;
/// Longest description, in characters.
pub const MAX_WEBHOOK_DESCRIPTION_CHARS: usize = 200;

str_enum! {
    /// What an endpoint may subscribe to.
    pub enum WebhookEventType {
        /// A call record was stored (`data`: the call as the log shows it).
        CallCreated => "call.created",
        /// A call record changed: a later upload, its outcome or notes.
        CallUpdated => "call.updated",
        /// A call's recording was stored.
        CallRecordingReady => "call.recording_ready",
        /// A dial command was placed or changed state (queued, delivered,
        /// dialing, ringing, answered, ended, failed, cancelled, expired;
        /// `data`: the dial as `GET /v1/dials/{id}` shows it).
        DialStateChanged => "dial.state_changed",
        /// A user took or left a phone (`data`: binding_id, phone_id,
        /// user_id, change `bound` or `ended`, via, reason,
        /// previous_user_id, at).
        BindingChanged => "binding.changed",
        /// A contact was created (by hand, the API or an import).
        ContactCreated => "contact.created",
        /// A contact changed (an edit, an import, a merge into it).
        ContactUpdated => "contact.updated",
        /// A contact was deleted (or merged into another; `data`: id).
        ContactDeleted => "contact.deleted",
        /// A salesperson's share of a call list is done (`data`: the
        /// completion report the app gets: list, user, outcomes, task
        /// counts, and `list_completed` when the whole list is done).
        CallListCompleted => "call_list.completed",
        /// A user's effective presence state changed (`data`: the presence
        /// as an admin reads it, with `previous_state` and `changed_at`).
        PresenceChanged => "presence.changed",
        /// Sent only by `POST /v1/webhook-endpoints/{id}/test`, to that
        /// endpoint, whatever it subscribes to.
        WebhookTest => "webhook.test",
    }
}

str_enum! {
    pub enum WebhookDeliveryState {
        /// Waiting for its first or next attempt.
        Pending => "pending",
        /// The endpoint answered 2xx.
        Delivered => "delivered",
        /// Every attempt failed, the endpoint answered 410, or its target
        /// was refused: not tried again unless replayed.
        Failed => "failed",
    }
}

/// `POST /v1/webhook-endpoints`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhookEndpoint {
    pub url: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Event type names, at least one (`webhook.test` is not one to choose).
    pub event_types: Vec<String>,
}

/// `PATCH /v1/webhook-endpoints/{id}`: absent fields stay.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhookEndpoint {
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// `false` enables an endpoint that was disabled (by an admin or by a
    /// 410 answer); `true` disables it.
    #[serde(default)]
    pub disabled: Option<bool>,
}

/// An endpoint as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<WebhookEventType>,
    pub disabled: bool,
    /// Why it is disabled: `admin`, or `gone` (it answered 410).
    pub disabled_reason: Option<String>,
    /// Until then, deliveries are also signed with the previous secret.
    pub previous_secret_until: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub created_by: UserId,
    pub updated_at: DateTime<Utc>,
}

/// The answer to creating an endpoint or rotating its secret: the
/// endpoint with its signing secret (`whsec_...`), shown then only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    pub secret: String,
}

/// `POST /v1/webhook-endpoints/{id}/rotate-secret`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// How long the previous secret still signs too (0 to 72; default 24).
    #[serde(default)]
    pub overlap_hours: Option<u32>,
}

/// One delivery of one event to one endpoint, with its latest attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookDelivery {
    pub id: WebhookDeliveryId,
    /// The `webhook-id` header: the same on every attempt and replay.
    pub message_id: String,
    pub event_type: WebhookEventType,
    pub state: WebhookDeliveryState,
    pub attempts: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The HTTP status of the latest attempt, if it got one.
    pub last_status: Option<i64>,
    /// Why the latest attempt failed without a status (timeout, refused
    /// target), or the start of the answer's body.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}
