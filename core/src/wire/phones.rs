use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PhoneHolder;
use super::present::present;
use crate::ids::PhoneId;
use crate::vendor::{Capability, Vendor};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub id: PhoneId,
    /// E.164, e.g. `+4930123456`.
    pub number: String,
    /// Empty when the phone has no extension.
    pub extension: String,
    pub label: String,
    /// Free text for a phone on deskbind's protocol; with a `driver`, the
    /// driver's vendor, and a model its driver knows.
    pub vendor: Option<String>,
    pub model: Option<String>,
    /// The vendor driver deskbind commands this phone through (over an
    /// office relay); absent for a phone on deskbind's own protocol.
    #[serde(default)]
    pub driver: Option<Vendor>,
    /// What the phone can be told to do; the app greys out the rest.
    #[serde(default)]
    pub capabilities: Vec<Capability>,
    pub disabled: bool,
    /// Whether the phone holds a live (unrevoked) credential.
    pub provisioned: bool,
    /// Who holds the phone now; absent while it is free.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<PhoneHolder>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreatePhone {
    /// E.164 (`+...`), or a national number together with `region`.
    pub number: String,
    /// ISO 3166-1 alpha-2 region for national numbers, e.g. `DE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    pub label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// `yealink`, `snom`, `grandstream` or `fanvil` for a phone deskbind
    /// drives over its HTTP interface (an office relay, or direct mode);
    /// absent for a phone on deskbind's own protocol (the SDK).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

/// Fields left out are not changed. Disabling a phone revokes its credentials.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdatePhone {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// `null` takes the driver away (the phone speaks deskbind's protocol).
    #[serde(
        default,
        deserialize_with = "present",
        skip_serializing_if = "Option::is_none"
    )]
    pub driver: Option<Option<String>>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct ProvisioningCode {
    /// One-time code, e.g. `K7QD-M2XP-9RTA`; dashes and case are ignored on redeem.
    pub code: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvisionRequest {
    pub code: String,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Provisioned {
    pub phone_id: PhoneId,
    /// Send as `Authorization: Bearer <credential>` on `/v1/phone/...` routes.
    pub credential: String,
}
