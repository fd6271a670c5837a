//! Google service-account access tokens for FCM (the OAuth 2.0 JWT bearer
//! grant, RFC 7523): sign a short assertion with the account's key, post it
//! to the key file's `token_uri`, cache the token and fetch a new one
//! before it expires. Written here rather than taken from gcp_auth or
//! yup-oauth2 because each brings its own hyper client and TLS set-up
//! beside reqwest, and the exchange is one signed POST with the
//! jsonwebtoken crate we already use (docs/decisions/0005-push.md).

use std::path::Path;
use std::time::{Duration, Instant};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

/// The scope FCM HTTP v1 needs.
pub const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
/// Longest wait for the token endpoint.
pub const TOKEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// Assertions are valid this long (Google's maximum).
const ASSERTION_LIFETIME_SECS: i64 = 3600;

/// The fields of a Google service-account key file that matter here.
#[derive(Clone, Deserialize)]
pub struct ServiceAccount {
    #[serde(rename = "type")]
    pub kind: String,
    pub project_id: String,
    #[serde(default)]
    pub private_key_id: Option<String>,
    pub private_key: SecretString,
    pub client_email: String,
    pub token_uri: String,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("project_id", &self.project_id)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a service-account key file: {detail}")]
    Invalid { path: String, detail: String },
}

impl ServiceAccount {
    pub fn load(path: &Path) -> Result<Self, CredentialsError> {
        let shown = path.display().to_string();
        let raw = std::fs::read_to_string(path).map_err(|source| CredentialsError::Read {
            path: shown.clone(),
            source,
        })?;
        let invalid = |detail: String| CredentialsError::Invalid {
            path: shown.clone(),
            detail,
        };
        let account: Self = serde_json::from_str(&raw).map_err(|e| invalid(e.to_string()))?;
        if account.kind != "service_account" {
            return Err(invalid(format!(
                "\"type\" is {:?}, not \"service_account\"",
                account.kind
            )));
        }
        if url::Url::parse(&account.token_uri).is_err() {
            return Err(invalid("\"token_uri\" is not a URL".into()));
        }
        EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
            .map_err(|e| invalid(format!("\"private_key\" is not an RSA key: {e}")))?;
        Ok(account)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token endpoint unreachable: {0}")]
    Transport(String),
    #[error("token endpoint refused the assertion ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("cannot sign the assertion: {0}")]
    Sign(String),
}

#[derive(Serialize)]
struct Assertion<'a> {
    iss: &'a str,
    scope: &'a str,
    aud: &'a str,
    iat: i64,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: u64,
}

struct Cached {
    token: SecretString,
    refresh_at: Instant,
}

/// Access tokens for one service account, cached until shortly before they
/// expire. One fetch at a time: concurrent callers wait for it.
pub struct AccessTokens {
    account: ServiceAccount,
    key: EncodingKey,
    http: reqwest::Client,
    cached: tokio::sync::Mutex<Option<Cached>>,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

/// When to fetch again: a quarter of the lifetime early, at most 5 minutes.
fn refresh_after(lifetime: Duration) -> Duration {
    lifetime.saturating_sub((lifetime / 4).min(Duration::from_secs(300)))
}

impl AccessTokens {
    pub fn new(account: ServiceAccount, http: reqwest::Client) -> Result<Self, TokenError> {
        let key = EncodingKey::from_rsa_pem(account.private_key.expose_secret().as_bytes())
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        Ok(Self {
            account,
            key,
            http,
            cached: tokio::sync::Mutex::new(None),
        })
    }

    pub fn project_id(&self) -> &str {
        &self.account.project_id
    }

    /// A valid access token, fetching one if the cached one is due.
    pub async fn token(&self) -> Result<SecretString, TokenError> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref()
            && Instant::now() < c.refresh_at
        {
            return Ok(c.token.clone());
        }
        let (token, lifetime) = self.fetch().await?;
        *cached = Some(Cached {
            token: token.clone(),
            refresh_at: Instant::now() + refresh_after(lifetime),
        });
        Ok(token)
    }

    /// Forgets `token` after FCM refused it, so the next call fetches anew.
    pub async fn invalidate(&self, token: &SecretString) {
        let mut cached = self.cached.lock().await;
        if cached
            .as_ref()
            .is_some_and(|c| c.token.expose_secret() == token.expose_secret())
        {
            *cached = None;
        }
    }

    async fn fetch(&self) -> Result<(SecretString, Duration), TokenError> {
        let now = chrono::Utc::now().timestamp();
        let claims = Assertion {
            iss: &self.account.client_email,
            scope: FCM_SCOPE,
            aud: &self.account.token_uri,
            iat: now,
            exp: now + ASSERTION_LIFETIME_SECS,
        };
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.account.private_key_id.clone();
        let assertion = jsonwebtoken::encode(&header, &claims, &self.key)
            .map_err(|e| TokenError::Sign(e.to_string()))?;
        let response = self
            .http
            .post(&self.account.token_uri)
            // A hung token endpoint must not hold every send (they wait on
            // this fetch) past their lease.
            .timeout(TOKEN_TIMEOUT)
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion.as_str()),
            ])
            .send()
            .await
            .map_err(|e| TokenError::Transport(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(TokenError::Refused {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        let parsed: TokenResponse = response
            .json()
            .await
            .map_err(|e| TokenError::Transport(format!("unreadable token response: {e}")))?;
        tracing::debug!(expires_in = parsed.expires_in, "FCM access token fetched");
        Ok((
            SecretString::from(parsed.access_token),
            Duration::from_secs(parsed.expires_in),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_before_expiry() {
        assert_eq!(
            refresh_after(Duration::from_secs(3600)),
            Duration::from_secs(3300)
        );
        assert_eq!(
            refresh_after(Duration::from_secs(8)),
            Duration::from_secs(6)
        );
    }
}
