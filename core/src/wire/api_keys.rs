//! API keys for integrations (docs/integrations.md): `POST /v1/api-keys`,
//! `GET /v1/api-keys`, `DELETE /v1/api-keys/{id}`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::{ApiKeyId, UserId};

/// Keys an organisation may hold that are not revoked.
pub const MAX_ACTIVE_API_KEYS: usize = 50;
/// Longest key name, in characters.
pub const MAX_API_KEY_NAME_CHARS: usize = 100;

str_enum! {
    /// What a key may do. Each route that takes keys needs one scope; a
    /// route not listed in docs/integrations.md takes none.
    pub enum ApiKeyScope {
        /// `GET /v1/calls`, `GET /v1/calls/{id}`, `GET /v1/sync/calls`.
        CallsRead => "calls:read",
        /// `GET /v1/calls/{id}/recording`.
        RecordingsRead => "recordings:read",
        /// `GET /v1/contacts`, `GET /v1/contacts/{id}`,
        /// `GET /v1/contacts/lookup`.
        ContactsRead => "contacts:read",
        /// `POST /v1/contacts`, `PATCH` and `DELETE /v1/contacts/{id}`.
        ContactsWrite => "contacts:write",
    }
}

/// `POST /v1/api-keys`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: String,
    /// Scope names (`calls:read`...), at least one.
    pub scopes: Vec<String>,
}

/// A key as listed: never its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub name: String,
    pub scopes: Vec<ApiKeyScope>,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub created_by: UserId,
    /// Last accepted request, to the minute.
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<UserId>,
}

/// The answer to `POST /v1/api-keys`: the key with its secret, which is
/// shown this once and never stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    #[serde(flatten)]
    pub key: ApiKey,
    pub secret: String,
}
