use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PhoneHolder;
use crate::ids::PhoneId;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Phone {
    pub id: PhoneId,
    /// E.164, e.g. `+4930123456`.
    pub number: String,
    /// Empty when the phone has no extension.
    pub extension: String,
    pub label: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
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
