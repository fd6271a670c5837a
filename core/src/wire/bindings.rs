//! Bindings of app users to desk phones, the organisation's binding policy,
//! phone grants, NFC binding tokens and the binding audit log (docs/binding.md).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::{BindingId, PhoneId, TeamId, UserId};

str_enum! {
    /// How a binding was made.
    pub enum BindingVia {
        /// The app asked for a phone by id.
        App => "app",
        /// The phone asked for a user.
        Phone => "phone",
        /// The app redeemed the phone's NFC token or its numeric code.
        Nfc => "nfc",
    }
}

str_enum! {
    /// Why a binding ended.
    pub enum BindingEndReason {
        Unbound => "unbound",
        TakenOver => "taken_over",
        Expired => "expired",
        PhoneDisabled => "phone_disabled",
        CredentialRevoked => "credential_revoked",
        UserDisabled => "user_disabled",
    }
}

str_enum! {
    /// The lowest role that may take over a phone someone else holds.
    pub enum TakeoverRule {
        /// No one: the holder, a manager of the holder or an admin must unbind first.
        Nobody => "nobody",
        Admins => "admins",
        /// Managers and admins.
        Managers => "managers",
        /// Anyone allowed to bind the phone.
        Anyone => "anyone",
    }
}

str_enum! {
    /// How long a new binding lasts.
    pub enum BindingDuration {
        UntilUnbound => "until_unbound",
        /// Until `workday_end` in the holder's time zone (local midnight when
        /// the binding starts after it).
        EndOfWorkday => "end_of_workday",
        /// `duration_hours` after it starts.
        Hours => "hours",
    }
}

str_enum! {
    pub enum BindingAction {
        Bound => "bound",
        Ended => "ended",
    }
}

str_enum! {
    pub enum ActorKind {
        User => "user",
        Phone => "phone",
        /// deskbind itself (expiry).
        System => "system",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingPolicy {
    pub takeover: TakeoverRule,
    pub duration: BindingDuration,
    /// Present exactly when `duration` is `hours`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_hours: Option<u32>,
    /// `HH:MM`, local to each holder.
    pub workday_end: String,
    pub max_phones_per_user: u32,
    /// Absent while the organisation runs on the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

/// The whole policy; `workday_end` defaults to `18:00`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutBindingPolicy {
    pub takeover: TakeoverRule,
    pub duration: BindingDuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_hours: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workday_end: Option<String>,
    pub max_phones_per_user: u32,
}

/// Who may bind a phone. Admins may bind any phone regardless.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneGrants {
    /// Free seating: every user of the organisation.
    #[serde(default)]
    pub everyone: bool,
    #[serde(default)]
    pub user_ids: Vec<UserId>,
    #[serde(default)]
    pub team_ids: Vec<TeamId>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Binding {
    pub id: BindingId,
    pub phone_id: PhoneId,
    pub user_id: UserId,
    pub via: BindingVia,
    pub active: bool,
    pub started_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<BindingEndReason>,
}

/// `POST /v1/bindings`: exactly one of `phone_id`, `token` and `code`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBinding {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<PhoneId>,
    /// The token read from the phone's NFC tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// The numeric code the phone shows instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Take the phone over from its current holder, where the policy allows.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub takeover: bool,
    /// Admins only, with `phone_id`: bind this user of the organisation
    /// instead of the caller (the web console's "bind to a user").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<UserId>,
}

/// `POST /v1/phone/bindings`: the phone asks to bind a user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneBindingRequest {
    /// The user's email address or id.
    pub user: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub takeover: bool,
}

/// A single-use NFC binding token, valid until `expires_at` (at most 120 s).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingToken {
    pub token: String,
    /// The NDEF message carrying `token`, base64: the bytes to write to the
    /// NFC tag or serve by card emulation.
    pub ndef: String,
    /// The same binding as a numeric code, for phones without NFC.
    pub code: String,
    pub expires_at: DateTime<Utc>,
    pub expires_in: u32,
}

/// The current holder of a phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneHolder {
    pub binding_id: BindingId,
    pub user_id: UserId,
    pub display_name: String,
    pub via: BindingVia,
    pub since: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub kind: ActorKind,
    /// The user's or phone's id; absent for `system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// One entry of the binding audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingEvent {
    /// Increases with every change: the log's order.
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub action: BindingAction,
    pub binding_id: BindingId,
    pub phone_id: PhoneId,
    /// The holder the change is about.
    pub user_id: UserId,
    /// How the binding was made (`bound` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<BindingVia>,
    /// Why it ended (`ended` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<BindingEndReason>,
    pub actor: Actor,
    /// The holder this binding took the phone from (`bound` by takeover).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_user_id: Option<UserId>,
}
