//! Drives the FCM stand-in over HTTP the way a push client would.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use deskbind_fcm_standin::{FcmStandIn, Reply};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

const SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const WAIT: Duration = Duration::from_secs(10);

struct Fixture {
    standin: FcmStandIn,
    client: reqwest::Client,
    account: Value,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let standin = FcmStandIn::start().await;
        let dir = tempfile::tempdir().unwrap();
        let path = standin.write_service_account(dir.path());
        let account: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(account["type"], "service_account");
        assert_eq!(account["project_id"], FcmStandIn::PROJECT_ID);
        assert_eq!(account["token_uri"], standin.token_uri());
        Self {
            standin,
            client: reqwest::Client::new(),
            account,
            _dir: dir,
        }
    }

    /// A JWT assertion signed with the service-account key, with the claims
    /// a Google client sends, then `overrides` applied.
    fn assertion(&self, overrides: Value) -> String {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let mut claims = json!({
            "iss": self.account["client_email"],
            "scope": format!("https://www.googleapis.com/auth/cloud-platform {SCOPE}"),
            "aud": self.account["token_uri"],
            "iat": now,
            "exp": now + 3600,
        });
        for (key, value) in overrides.as_object().unwrap() {
            claims[key] = value.clone();
        }
        let pem = self.account["private_key"].as_str().unwrap();
        let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::RS256);
        header.kid = self.account["private_key_id"].as_str().map(str::to_owned);
        jsonwebtoken::encode(&header, &claims, &key).unwrap()
    }

    async fn exchange(&self, assertion: &str) -> (u16, Value) {
        let response = self
            .client
            .post(self.standin.token_uri())
            .form(&[
                ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                ("assertion", assertion),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn access_token(&self) -> String {
        let (status, body) = self.exchange(&self.assertion(json!({}))).await;
        assert_eq!(status, 200, "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    fn send_url(&self) -> String {
        format!(
            "{}/v1/projects/{}/messages:send",
            self.standin.endpoint(),
            FcmStandIn::PROJECT_ID
        )
    }

    async fn send(&self, authorization: Option<&str>, body: &Value) -> reqwest::Response {
        send(&self.client, &self.send_url(), authorization, body).await
    }
}

async fn send(
    client: &reqwest::Client,
    url: &str,
    authorization: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = client.post(url).json(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    request.send().await.unwrap()
}

fn message_to(token: &str) -> Value {
    json!({ "message": {
        "token": token,
        "data": { "kind": "call", "call_id": "42" },
        "android": { "priority": "HIGH", "ttl": "30s" },
        "apns": { "headers": { "apns-priority": "10", "apns-expiration": "0" }, "payload": { "aps": {} } },
    }})
}

async fn status_and_body(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn token_exchange_accepts_a_signed_jwt_and_refuses_wrong_claims() {
    let f = Fixture::new().await;

    let (status, body) = f.exchange(&f.assertion(json!({}))).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].as_str().unwrap().starts_with("ya29."));
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(f.standin.tokens_issued(), 1);

    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for overrides in [
        json!({ "aud": "https://oauth2.googleapis.com/token" }),
        json!({ "iss": "someone-else@deskbind-test.iam.gserviceaccount.com" }),
        json!({ "iat": now - 7200, "exp": now - 3600 }),
        json!({ "exp": now + 7200 }),
    ] {
        let (status, body) = f.exchange(&f.assertion(overrides.clone())).await;
        assert_eq!(status, 400, "{overrides}: {body}");
        assert_eq!(body["error"], "invalid_grant", "{overrides}: {body}");
    }
    let (status, body) = f
        .exchange(
            &f.assertion(json!({ "scope": "https://www.googleapis.com/auth/cloud-platform" })),
        )
        .await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_scope")),
        "{body}"
    );
    // Flip the first character of the signature (a full six bits of it).
    let valid = f.assertion(json!({}));
    let at = valid.rfind('.').unwrap() + 1;
    let flipped = if valid[at..].starts_with('A') {
        "B"
    } else {
        "A"
    };
    let tampered = format!("{}{flipped}{}", &valid[..at], &valid[at + 1..]);
    let (status, body) = f.exchange(&tampered).await;
    assert_eq!(
        (status, &body["error"]),
        (400, &json!("invalid_grant")),
        "{body}"
    );
    assert_eq!(f.standin.tokens_issued(), 1);
}

#[tokio::test]
async fn sends_without_a_valid_bearer_token_are_401() {
    let f = Fixture::new().await;
    let token = f.access_token().await;
    let body = message_to("device-a");

    let quoted = format!("Bearer \"{token}\"");
    for authorization in [
        None,
        Some(quoted.as_str()),
        Some("Bearer ya29.never-issued"),
    ] {
        let (status, error) = status_and_body(f.send(authorization, &body).await).await;
        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
    }

    f.standin.set_token_lifetime(0);
    let expired = f.access_token().await;
    let response = f.send(Some(&format!("Bearer {expired}")), &body).await;
    assert_eq!(response.status(), 401);

    let response = f.send(Some(&format!("Bearer {token}")), &body).await;
    assert_eq!(response.status(), 200);
    let statuses: Vec<u16> = f.standin.attempts().iter().map(|a| a.status).collect();
    assert_eq!(statuses, [401, 401, 401, 401, 200]);
    assert_eq!(
        f.standin.attempts()[0].device_token.as_deref(),
        Some("device-a")
    );
    let deliveries = f.standin.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].access_token, token);
    assert_eq!(deliveries[0].message, body["message"]);
}

#[tokio::test]
async fn invalid_messages_are_400_and_do_not_consume_scripted_replies() {
    let f = Fixture::new().await;
    let bearer = format!("Bearer {}", f.access_token().await);
    f.standin.script("device-a", [Reply::NotFound]);

    let cases = [
        (
            "non-string data value",
            json!({ "message": { "token": "device-a", "data": { "n": 1 } } }),
        ),
        (
            "oversize data",
            json!({ "message": { "token": "device-a", "data": { "blob": "x".repeat(4096) } } }),
        ),
        (
            "unknown message field",
            json!({ "message": { "token": "device-a", "priority": "high" } }),
        ),
        (
            "reserved data key",
            json!({ "message": { "token": "device-a", "data": { "from": "me" } } }),
        ),
        (
            "lowercase android priority",
            json!({ "message": { "token": "device-a", "android": { "priority": "high" } } }),
        ),
        (
            "two targets",
            json!({ "message": { "token": "device-a", "topic": "news" } }),
        ),
        (
            "unknown top-level key",
            json!({ "message": { "token": "device-a" }, "dry_run": true }),
        ),
    ];
    for (name, body) in &cases {
        let (status, error) = status_and_body(f.send(Some(&bearer), body).await).await;
        assert_eq!(status, 400, "{name}: {error}");
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT", "{name}");
        assert_eq!(
            error["error"]["details"][0]["errorCode"], "INVALID_ARGUMENT",
            "{name}"
        );
    }
    let (_, error) = status_and_body(f.send(Some(&bearer), &cases[1].1).await).await;
    assert_eq!(error["error"]["message"], "Message is too big");

    // The scripted reply is still there for the first valid request.
    let response = f.send(Some(&bearer), &message_to("device-a")).await;
    assert_eq!(response.status(), 404);
    assert!(f.standin.deliveries().is_empty());
}

#[tokio::test]
async fn scripted_not_found_is_unregistered_then_the_next_send_succeeds() {
    let f = Fixture::new().await;
    let bearer = format!("Bearer {}", f.access_token().await);
    f.standin.script("device-a", [Reply::NotFound]);

    let (status, error) =
        status_and_body(f.send(Some(&bearer), &message_to("device-a")).await).await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["status"], "NOT_FOUND");
    assert_eq!(
        error["error"]["details"][0],
        json!({ "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError", "errorCode": "UNREGISTERED" })
    );

    let (status, ok) = status_and_body(f.send(Some(&bearer), &message_to("device-a")).await).await;
    assert_eq!(status, 200);
    assert!(
        ok["name"]
            .as_str()
            .unwrap()
            .starts_with("projects/deskbind-test/messages/"),
        "{ok}"
    );
    let deliveries = f.standin.deliveries();
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].device_token, "device-a");
}

#[tokio::test]
async fn too_many_requests_sets_retry_after() {
    let f = Fixture::new().await;
    let bearer = format!("Bearer {}", f.access_token().await);
    f.standin.script_any([Reply::TooManyRequests {
        retry_after_secs: 7,
    }]);

    let response = f.send(Some(&bearer), &message_to("device-b")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    let (_, error) = status_and_body(response).await;
    assert_eq!(error["error"]["status"], "RESOURCE_EXHAUSTED");
    assert_eq!(error["error"]["details"][0]["errorCode"], "QUOTA_EXCEEDED");

    assert_eq!(
        f.send(Some(&bearer), &message_to("device-b"))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn wait_for_deliveries_returns_once_n_arrived() {
    let f = Fixture::new().await;
    let bearer = format!("Bearer {}", f.access_token().await);
    let url = f.send_url();
    for i in 0..5 {
        let (client, url, bearer) = (f.client.clone(), url.clone(), bearer.clone());
        tokio::spawn(async move {
            let response = send(
                &client,
                &url,
                Some(&bearer),
                &message_to(&format!("device-{i}")),
            )
            .await;
            assert_eq!(response.status(), 200);
        });
    }

    let deliveries = f.standin.wait_for_deliveries(5, WAIT).await.unwrap();
    assert_eq!(deliveries.len(), 5);
    let short = f
        .standin
        .wait_for_deliveries(6, Duration::from_millis(50))
        .await;
    assert_eq!(short.unwrap_err().len(), 5);
}

#[tokio::test]
async fn hung_requests_record_status_0_and_answer_503_when_released() {
    let f = Fixture::new().await;
    let bearer = format!("Bearer {}", f.access_token().await);
    f.standin.script("device-h", [Reply::Hang]);

    let (client, url) = (f.client.clone(), f.send_url());
    let hung =
        tokio::spawn(
            async move { send(&client, &url, Some(&bearer), &message_to("device-h")).await },
        );

    let attempts = f.standin.wait_for_attempts(1, WAIT).await.unwrap();
    assert_eq!(attempts[0].status, 0);
    assert_eq!(attempts[0].device_token.as_deref(), Some("device-h"));
    assert!(!hung.is_finished());

    f.standin.release_hung();
    let (status, error) = status_and_body(hung.await.unwrap()).await;
    assert_eq!(status, 503);
    assert_eq!(error["error"]["status"], "UNAVAILABLE");
    assert!(f.standin.deliveries().is_empty());
}
