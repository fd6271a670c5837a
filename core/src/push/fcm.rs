//! A small FCM HTTP v1 client over reqwest: one `messages:send` per device,
//! the answer sorted by FCM's documented error codes. fcm-rs 0.2 was not
//! usable (a quoted bearer header, a hard-coded endpoint, non-string data,
//! no android/apns options, a second HTTP stack; docs/decisions/0005-push.md).

use std::time::Duration;

use secrecy::ExposeSecret as _;
use serde::Deserialize;
use serde_json::{Value, json};

use super::backoff::parse_retry_after;
use super::oauth::AccessTokens;
use super::sender::SendOutcome;
use crate::domain::push_message::PushMessage;

/// Longest wait for FCM's answer; the job lease must be longer.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(30);
/// APNs refuses collapse ids longer than this.
const APNS_COLLAPSE_ID_MAX: usize = 64;

#[derive(Debug)]
pub struct FcmClient {
    http: reqwest::Client,
    send_url: String,
    tokens: AccessTokens,
}

impl FcmClient {
    /// `endpoint` is the base URL (`https://fcm.googleapis.com` or a
    /// stand-in's).
    pub fn new(endpoint: &str, tokens: AccessTokens, http: reqwest::Client) -> Self {
        let send_url = format!(
            "{}/v1/projects/{}/messages:send",
            endpoint.trim_end_matches('/'),
            tokens.project_id()
        );
        Self {
            http,
            send_url,
            tokens,
        }
    }

    pub async fn send(&self, device_token: &str, message: &PushMessage) -> SendOutcome {
        let access = match self.tokens.token().await {
            Ok(token) => token,
            Err(e) => {
                return SendOutcome::Retry {
                    after: None,
                    reason: format!("no access token: {e}"),
                    maybe_delivered: false,
                };
            }
        };
        let body = json!({ "message": envelope(device_token, message) });
        let response = self
            .http
            .post(&self.send_url)
            .bearer_auth(access.expose_secret())
            .json(&body)
            .timeout(SEND_TIMEOUT)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Retry {
                    after: None,
                    reason: format!("FCM unreachable: {e}"),
                    // Anything after the connection was made may have
                    // delivered it (a timeout, a reset while reading).
                    maybe_delivered: !e.is_connect(),
                };
            }
        };
        let status = response.status().as_u16();
        if status == 200 {
            return SendOutcome::Delivered;
        }
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_retry_after);
        let error: FcmErrorBody = response.json().await.unwrap_or_default();
        let code = error.error_code();
        let reason = format!("{status} {code}: {}", error.error.message);
        match classify(status, &code) {
            Class::Unregistered => SendOutcome::Unregistered,
            Class::Refused => SendOutcome::Rejected(reason),
            Class::StaleAccessToken => {
                self.tokens.invalidate(&access).await;
                SendOutcome::Retry {
                    after: None,
                    reason,
                    maybe_delivered: false,
                }
            }
            Class::Later => SendOutcome::Retry {
                after: retry_after,
                reason,
                maybe_delivered: false,
            },
        }
    }
}

/// What an FCM error answer calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// The token is gone for good.
    Unregistered,
    /// This message (or our set-up) is wrong: retrying cannot help.
    Refused,
    /// Our OAuth access token was refused: fetch a new one and retry.
    StaleAccessToken,
    /// Overload or an outage: retry later.
    Later,
}

/// Sorts an error by FCM's documented codes (errorCode, else status).
/// Only `UNREGISTERED` buries a token: a bare 404 is a wrong endpoint or
/// project, and `SENDER_ID_MISMATCH` wrong credentials, which must not
/// wipe every device. `THIRD_PARTY_AUTH_ERROR` is a bad APNs/web push
/// certificate, not our OAuth token.
fn classify(status: u16, code: &str) -> Class {
    match (status, code) {
        (_, "UNREGISTERED") => Class::Unregistered,
        (_, "THIRD_PARTY_AUTH_ERROR" | "SENDER_ID_MISMATCH" | "INVALID_ARGUMENT") => Class::Refused,
        (401, _) => Class::StaleAccessToken,
        (429 | 500..=599, _) | (_, "QUOTA_EXCEEDED" | "UNAVAILABLE" | "INTERNAL") => Class::Later,
        _ => Class::Refused,
    }
}

/// The v1 message for one device: string data, the visible notification,
/// and per-platform delivery options.
pub fn envelope(device_token: &str, message: &PushMessage) -> Value {
    let mut out = json!({
        "token": device_token,
        "data": message.data,
        "android": {
            "priority": if message.urgent { "HIGH" } else { "NORMAL" },
            "ttl": format!("{}s", message.ttl_secs),
            "collapse_key": message.collapse_key,
        },
        "apns": {
            "headers": apns_headers(message),
            "payload": { "aps": aps(message) },
        },
    });
    if let Some(n) = &message.notification {
        out["notification"] = json!({ "title": n.title, "body": n.body });
    }
    out
}

fn apns_headers(message: &PushMessage) -> Value {
    let expires =
        chrono::Utc::now().timestamp() + i64::try_from(message.ttl_secs).unwrap_or(i64::MAX / 2);
    let collapse: String = message
        .collapse_key
        .char_indices()
        .take_while(|(i, c)| i + c.len_utf8() <= APNS_COLLAPSE_ID_MAX)
        .map(|(_, c)| c)
        .collect();
    // Apple requires priority 5 for background (data-only) pushes.
    let (push_type, priority) = match (&message.notification, message.urgent) {
        (Some(_), true) => ("alert", "10"),
        (Some(_), false) => ("alert", "5"),
        (None, _) => ("background", "5"),
    };
    json!({
        "apns-priority": priority,
        "apns-push-type": push_type,
        "apns-expiration": expires.to_string(),
        "apns-collapse-id": collapse,
    })
}

fn aps(message: &PushMessage) -> Value {
    match message.notification {
        Some(_) => json!({ "sound": "default" }),
        None => json!({ "content-available": 1 }),
    }
}

#[derive(Debug, Default, Deserialize)]
struct FcmErrorBody {
    #[serde(default)]
    error: FcmError,
}

#[derive(Debug, Default, Deserialize)]
struct FcmError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

impl FcmErrorBody {
    /// The FcmError `errorCode` when given, else the RPC status.
    fn error_code(&self) -> String {
        self.error
            .details
            .iter()
            .find_map(|d| d.get("errorCode").and_then(Value::as_str))
            .map_or_else(|| self.error.status.clone(), str::to_owned)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_sorted_by_fcm_codes() {
        assert_eq!(classify(404, "UNREGISTERED"), Class::Unregistered);
        assert_eq!(classify(400, "UNREGISTERED"), Class::Unregistered);
        assert_eq!(
            classify(404, "NOT_FOUND"),
            Class::Refused,
            "a wrong project buries nothing"
        );
        assert_eq!(classify(403, "SENDER_ID_MISMATCH"), Class::Refused);
        assert_eq!(classify(401, "THIRD_PARTY_AUTH_ERROR"), Class::Refused);
        assert_eq!(classify(401, "UNAUTHENTICATED"), Class::StaleAccessToken);
        assert_eq!(classify(400, "INVALID_ARGUMENT"), Class::Refused);
        assert_eq!(classify(429, "QUOTA_EXCEEDED"), Class::Later);
        assert_eq!(classify(503, "UNAVAILABLE"), Class::Later);
        assert_eq!(classify(500, "INTERNAL"), Class::Later);
        assert_eq!(classify(502, ""), Class::Later);
    }
    use crate::domain::push_message::{Digest, digest_message};

    #[test]
    fn envelope_has_string_data_and_platform_options() {
        let message = digest_message(&Digest {
            records: 2,
            missed: 1,
            ..Digest::default()
        });
        let v = envelope("tok", &message);
        assert!(
            v["data"]
                .as_object()
                .unwrap()
                .values()
                .all(Value::is_string)
        );
        assert_eq!(v["android"]["priority"], "HIGH");
        assert_eq!(v["android"]["ttl"], "86400s");
        assert_eq!(v["apns"]["headers"]["apns-priority"], "10");
        assert_eq!(v["notification"]["title"], "2 calls since your last update");
    }
}
