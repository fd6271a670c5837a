//! Dial commands: the app asks the phone it holds to dial a number; the
//! command is stored, relayed to the phone and moves through its lifecycle
//! (docs/dialing.md). Also the organisation's dial policy.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ContactRef;
use super::str_enum::str_enum;
use crate::ids::{BindingId, DialId, PhoneId, UserId};

str_enum! {
    /// Where a dial command is in its lifecycle. `ended`, `failed`,
    /// `expired` and `cancelled` are final.
    pub enum DialState {
        /// Stored; sent (or waiting to be sent) to the phone.
        Queued => "queued",
        /// The phone acknowledged it.
        Delivered => "delivered",
        Dialing => "dialing",
        Ringing => "ringing",
        Answered => "answered",
        /// An answered call hung up.
        Ended => "ended",
        /// The call did not connect; `failure` says why.
        Failed => "failed",
        /// Not delivered before `expires_at`; never dialed.
        Expired => "expired",
        /// Cancelled by the app; the phone was told to hang up.
        Cancelled => "cancelled",
    }
}

impl DialState {
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Ended | Self::Failed | Self::Expired | Self::Cancelled
        )
    }
}

str_enum! {
    /// Why a call did not connect.
    pub enum DialFailure {
        Busy => "busy",
        NoAnswer => "no_answer",
        /// The callee (or the phone's user) rejected the call.
        Rejected => "rejected",
        InvalidNumber => "invalid_number",
        Error => "error",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dial {
    pub id: DialId,
    pub user_id: UserId,
    pub phone_id: PhoneId,
    pub binding_id: BindingId,
    /// E.164.
    pub number: String,
    pub state: DialState,
    /// Present exactly when `state` is `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<DialFailure>,
    pub created_at: DateTime<Utc>,
    /// The phone must not dial it after this instant.
    pub expires_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
    /// The contact the number belonged to when the dial was placed (or
    /// that gained it later); `null` when none. Filled in by the dial
    /// routes' answers; the app stream's dial events carry `null`.
    #[serde(default)]
    pub contact: Option<ContactRef>,
    /// The dial's call was marked private and the reader is not the
    /// dial's user: `number` is empty and `contact` null.
    #[serde(default)]
    pub redacted: bool,
}

/// `POST /v1/dials`. `phone_id` may be left out when the user holds exactly
/// one phone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDial {
    /// E.164 (`+` and digits), or a national number read in the country of
    /// the dialling phone's own number; spaces, dashes and brackets are
    /// ignored.
    pub number: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_id: Option<PhoneId>,
}

/// Numbers the organisation never dials. `blocked_prefixes` are E.164
/// prefixes (`+1900`), `do_not_call` whole E.164 numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialPolicy {
    pub blocked_prefixes: Vec<String>,
    pub do_not_call: Vec<String>,
    /// Absent while no one has set a policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutDialPolicy {
    #[serde(default)]
    pub blocked_prefixes: Vec<String>,
    #[serde(default)]
    pub do_not_call: Vec<String>,
}

/// `GET /v1/dials/{id}/nfc`: a queued dial as a signed payload the app
/// hands the phone over NFC (docs/dialing.md, "Over NFC"). The payload is a
/// capability: whoever holds it can make that phone dial that number until
/// `expires_at`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialNfc {
    pub dial_id: DialId,
    pub phone_id: PhoneId,
    /// The signed payload (a JWS the phone verifies with its dial key).
    pub payload: String,
    /// The NDEF message carrying `payload`, base64: the bytes the app serves
    /// by card emulation or writes to a tag.
    pub ndef: String,
    /// The dial's own expiry; the phone refuses the payload after it.
    pub expires_at: DateTime<Utc>,
}

/// `GET /v1/phone/dial-keys`: the public keys phones verify NFC dial
/// payloads with, one per server signing key (the newest signs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialKeys {
    /// The calling phone: payloads for any other phone are refused.
    pub phone_id: PhoneId,
    pub keys: Vec<DialKeyWire>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialKeyWire {
    /// The `kid` a payload signed with this key names.
    pub kid: String,
    /// Always `EdDSA` (Ed25519).
    pub alg: String,
    /// The Ed25519 public key, base64url without padding (32 bytes).
    pub public_key: String,
}
