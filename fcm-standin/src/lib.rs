//! A stand-in for Google's FCM HTTP v1 send endpoint and Google's OAuth2
//! token endpoint, for integration tests and benchmarks of deskbind's push
//! delivery. It runs in-process on `127.0.0.1` and is as strict as the real
//! services about what a client sends, so that a client which passes against
//! the stand-in is not refused by Google for the request shape.
//!
//! [`FcmStandIn::write_service_account`] writes a Google-style service-account
//! JSON file whose `token_uri` points at the stand-in and whose key is the
//! test-only RSA key committed in this crate. A client then does what it does
//! against Google:
//!
//! 1. `POST {token_uri}` with a form body `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`
//!    and `assertion=<JWT>`. The JWT must be RS256, signed with the
//!    service-account key, with `iss` = `client_email`, `aud` = `token_uri`,
//!    a `scope` containing `https://www.googleapis.com/auth/firebase.messaging`,
//!    and `iat`/`exp` at most an hour apart with `exp` in the future (`iat`
//!    may be up to 60 s in the future). Refusals are 400 with Google's
//!    `{"error": ..., "error_description": ...}` body; success issues a
//!    `ya29.` access token valid for [`FcmStandIn::set_token_lifetime`] seconds.
//! 2. `POST {endpoint}/v1/projects/deskbind-test/messages:send` with
//!    `Authorization: Bearer <access token>` and a JSON body
//!    `{"message": {...}, "validate_only": bool?}`. The stand-in checks the
//!    token (issued here, not expired; else 401 `UNAUTHENTICATED`), the
//!    project (else 404 `NOT_FOUND`), the content type and the message as FCM
//!    does: no unknown fields at any checked level, exactly one of
//!    `token`/`topic`/`condition`, `data` values all strings with no reserved
//!    keys, `notification` with only string `title`/`body`/`image`, the
//!    `android` priority enum and `ttl` duration format, the `apns` header
//!    values, and the 4096-byte limit on `data` plus `notification`. Failures
//!    are 400 `INVALID_ARGUMENT` in FCM's v1 error shape.
//!
//! A request that passes validation is answered by the next scripted
//! [`Reply`] for its device token ([`FcmStandIn::script`]), else the next
//! scripted reply for any token ([`FcmStandIn::script_any`]), else `200` with
//! a message name. Tests read what arrived through [`FcmStandIn::deliveries`]
//! and [`FcmStandIn::attempts`] and wait for traffic with
//! [`FcmStandIn::wait_for_deliveries`] / [`FcmStandIn::wait_for_attempts`].
//!
//! Sends do no JWT work (the access token is a hash-map lookup) and every
//! connection is its own task, so the stand-in can take a benchmark's load.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{
    AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE,
};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

// Test-only RSA key pair (2048-bit, PKCS#8 / SPKI PEM), generated with
// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` and
// `openssl pkey -pubout`. It is public in this repository and signs nothing
// real: it only authenticates test clients to this stand-in.
const PRIVATE_KEY_PEM: &str = include_str!("test_key.pem");
const PUBLIC_KEY_PEM: &str = include_str!("test_key.pub.pem");

const CLIENT_EMAIL: &str = "firebase-adminsdk-standin@deskbind-test.iam.gserviceaccount.com";
const CLIENT_ID: &str = "104857600000000000001";
const PRIVATE_KEY_ID: &str = "3f9c2a7d51e04b8c96a1d7e2f0b4c8a65d13e7f9";
const FCM_SCOPE: &str = "https://www.googleapis.com/auth/firebase.messaging";
const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const FCM_ERROR_TYPE: &str = "type.googleapis.com/google.firebase.fcm.v1.FcmError";
/// FCM's limit on the serialized `data` plus `notification` of a message.
const MAX_PAYLOAD_BYTES: usize = 4096;
/// Longest JWT lifetime Google accepts (`exp - iat`).
const MAX_ASSERTION_LIFETIME_SECS: f64 = 3600.0;
/// How far in the future `iat` may be (clock skew).
const IAT_LEEWAY_SECS: f64 = 60.0;

const UNAUTHENTICATED_MESSAGE: &str = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.";
const NOT_FOUND_MESSAGE: &str = "Requested entity was not found.";
const BAD_TIMES_MESSAGE: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.";

/// A running FCM + OAuth2 stand-in; cheap to clone (all clones share state).
#[derive(Clone)]
pub struct FcmStandIn {
    inner: Arc<Inner>,
}

/// How the stand-in answers one send request that passed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200 with a message name; recorded as a [`Delivery`].
    Ok,
    /// 404 `NOT_FOUND` with FCM error code `UNREGISTERED` (the app was uninstalled).
    NotFound,
    /// 400 `INVALID_ARGUMENT` (FCM's answer to a malformed registration token).
    InvalidArgument,
    /// 429 `RESOURCE_EXHAUSTED` with FCM error code `QUOTA_EXCEEDED` and a
    /// `Retry-After: <retry_after_secs>` header.
    TooManyRequests {
        /// Value of the `Retry-After` header, in seconds.
        retry_after_secs: u64,
    },
    /// 503 `UNAVAILABLE` with FCM error code `UNAVAILABLE`.
    Unavailable,
    /// Reads the request, records an [`Attempt`] with status 0 and does not
    /// answer until [`FcmStandIn::release_hung`], which makes it answer 503.
    Hang,
}

/// A send request that was accepted with 200.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The message's `token`; empty for a `topic` or `condition` message.
    pub device_token: String,
    /// The `message` object as sent.
    pub message: Value,
    /// The bearer access token the request carried.
    pub access_token: String,
    /// When the stand-in accepted it.
    pub at: Instant,
}

/// A request to the send endpoint and the status it was answered with.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The message's `token`, when the body had one (it is read even for
    /// requests refused before validation, e.g. with 401).
    pub device_token: Option<String>,
    /// The HTTP status answered; 0 for a request held by [`Reply::Hang`].
    pub status: u16,
    /// When the stand-in decided the answer.
    pub at: Instant,
}

struct Inner {
    addr: SocketAddr,
    decoding_key: DecodingKey,
    validation: Validation,
    token_lifetime_secs: AtomicU64,
    state: Mutex<State>,
    /// Number of deliveries recorded so far (monotonic).
    deliveries_seen: watch::Sender<usize>,
    /// Number of attempts recorded so far (monotonic).
    attempts_seen: watch::Sender<usize>,
    /// Bumped by `release_hung`; hung requests wait for it to change.
    release: watch::Sender<u64>,
}

#[derive(Default)]
struct State {
    /// Issued access token -> expiry (`None`: never, for huge lifetimes).
    access_tokens: HashMap<String, Option<Instant>>,
    tokens_issued: usize,
    scripts: HashMap<String, VecDeque<Reply>>,
    script_any: VecDeque<Reply>,
    deliveries: Vec<Delivery>,
    attempts: Vec<Attempt>,
}

type Body = Full<Bytes>;

impl fmt::Debug for FcmStandIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FcmStandIn")
            .field("endpoint", &self.endpoint())
            .finish_non_exhaustive()
    }
}

impl FcmStandIn {
    /// The only project id the send endpoint accepts (also the service
    /// account's `project_id`).
    pub const PROJECT_ID: &'static str = "deskbind-test";

    /// Binds `127.0.0.1:0` and serves on the current tokio runtime
    /// (`tokio::spawn`), HTTP/1.1 with keep-alive, one task per connection.
    ///
    /// # Panics
    ///
    /// If the port cannot be bound, or outside a tokio runtime.
    pub async fn start() -> FcmStandIn {
        let listener = match TcpListener::bind(("127.0.0.1", 0)).await {
            Ok(listener) => listener,
            Err(e) => panic!("FCM stand-in: cannot bind 127.0.0.1:0: {e}"),
        };
        let addr = match listener.local_addr() {
            Ok(addr) => addr,
            Err(e) => panic!("FCM stand-in: no local address: {e}"),
        };
        let inner = Arc::new(Inner {
            addr,
            decoding_key: fixture_decoding_key(),
            validation: assertion_validation(),
            token_lifetime_secs: AtomicU64::new(3600),
            state: Mutex::new(State::default()),
            deliveries_seen: watch::Sender::new(0),
            attempts_seen: watch::Sender::new(0),
            release: watch::Sender::new(0),
        });
        tokio::spawn(accept_loop(listener, Arc::downgrade(&inner)));
        FcmStandIn { inner }
    }

    /// Base URL, e.g. `http://127.0.0.1:41234`. The send URL is
    /// `{endpoint}/v1/projects/{project_id}/messages:send`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    /// The OAuth2 token endpoint: `{endpoint}/token`.
    pub fn token_uri(&self) -> String {
        format!("{}/token", self.endpoint())
    }

    /// Writes a Google service-account JSON file (`fcm-service-account.json`)
    /// into `dir`, with the test key and `token_uri` = [`Self::token_uri`],
    /// and returns its path.
    ///
    /// # Panics
    ///
    /// If the file cannot be written.
    pub fn write_service_account(&self, dir: &Path) -> PathBuf {
        let account = json!({
            "type": "service_account",
            "project_id": Self::PROJECT_ID,
            "private_key_id": PRIVATE_KEY_ID,
            "private_key": PRIVATE_KEY_PEM,
            "client_email": CLIENT_EMAIL,
            "client_id": CLIENT_ID,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri(),
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": format!(
                "https://www.googleapis.com/robot/v1/metadata/x509/{}",
                CLIENT_EMAIL.replace('@', "%40")
            ),
            "universe_domain": "googleapis.com",
        });
        let path = dir.join("fcm-service-account.json");
        let text = match serde_json::to_string_pretty(&account) {
            Ok(text) => text,
            Err(e) => panic!("FCM stand-in: cannot serialize the service account: {e}"),
        };
        if let Err(e) = std::fs::write(&path, text) {
            panic!("FCM stand-in: cannot write {}: {e}", path.display());
        }
        path
    }

    /// Lifetime (`expires_in`, seconds) of access tokens issued from now on;
    /// default 3600. Tokens already issued keep their expiry.
    pub fn set_token_lifetime(&self, secs: u64) {
        self.inner
            .token_lifetime_secs
            .store(secs, Ordering::Relaxed);
    }

    /// Queues replies for sends to this device token, consumed one per
    /// request in order; when the queue is empty the reply is [`Reply::Ok`]
    /// (or the next [`Self::script_any`] reply).
    pub fn script(&self, device_token: &str, replies: impl IntoIterator<Item = Reply>) {
        let replies: Vec<Reply> = replies.into_iter().collect();
        self.inner
            .lock()
            .scripts
            .entry(device_token.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Replies used for every send whose device token has no queued reply of
    /// its own (consumed one per request); when empty the reply is
    /// [`Reply::Ok`].
    pub fn script_any(&self, replies: impl IntoIterator<Item = Reply>) {
        let replies: Vec<Reply> = replies.into_iter().collect();
        self.inner.lock().script_any.extend(replies);
    }

    /// Every send accepted with 200, in arrival order (`validate_only`
    /// requests are not deliveries).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.lock().deliveries.clone()
    }

    /// Every request to the send endpoint with the status answered, in
    /// arrival order: refusals, scripted errors, 200s, and hung requests
    /// (status 0).
    pub fn attempts(&self) -> Vec<Attempt> {
        self.inner.lock().attempts.clone()
    }

    /// How many access tokens the token endpoint issued.
    pub fn tokens_issued(&self) -> usize {
        self.inner.lock().tokens_issued
    }

    /// Waits until at least `n` deliveries were accepted or `timeout` passes;
    /// returns all deliveries, as `Err` on timeout.
    pub async fn wait_for_deliveries(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Delivery>, Vec<Delivery>> {
        let reached = wait_for_count(&self.inner.deliveries_seen, n, timeout).await;
        let all = self.deliveries();
        if reached || all.len() >= n {
            Ok(all)
        } else {
            Err(all)
        }
    }

    /// Waits until at least `n` attempts (any status) were recorded or
    /// `timeout` passes; returns all attempts, as `Err` on timeout.
    pub async fn wait_for_attempts(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Result<Vec<Attempt>, Vec<Attempt>> {
        let reached = wait_for_count(&self.inner.attempts_seen, n, timeout).await;
        let all = self.attempts();
        if reached || all.len() >= n {
            Ok(all)
        } else {
            Err(all)
        }
    }

    /// Makes every request currently held by [`Reply::Hang`] answer 503
    /// `UNAVAILABLE` (their attempts stay recorded with status 0). Requests
    /// that hang later wait for the next call.
    pub fn release_hung(&self) {
        self.inner
            .release
            .send_modify(|generation| *generation = generation.wrapping_add(1));
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records an attempt and wakes `wait_for_attempts`.
    fn record_attempt(&self, device_token: Option<String>, status: StatusCode) {
        let count = {
            let mut state = self.lock();
            state.attempts.push(Attempt {
                device_token,
                status: status.as_u16(),
                at: Instant::now(),
            });
            state.attempts.len()
        };
        bump(&self.attempts_seen, count);
    }
}

/// Raises a monotonic counter (counts may be published out of order).
fn bump(counter: &watch::Sender<usize>, count: usize) {
    counter.send_if_modified(|seen| {
        if count > *seen {
            *seen = count;
            true
        } else {
            false
        }
    });
}

async fn wait_for_count(counter: &watch::Sender<usize>, n: usize, timeout: Duration) -> bool {
    let mut rx = counter.subscribe();
    tokio::time::timeout(timeout, rx.wait_for(|seen| *seen >= n))
        .await
        .is_ok_and(|waited| waited.is_ok())
}

/// Needs jsonwebtoken's `use_pem` feature (enabled in the workspace).
fn fixture_decoding_key() -> DecodingKey {
    match DecodingKey::from_rsa_pem(PUBLIC_KEY_PEM.as_bytes()) {
        Ok(key) => key,
        Err(e) => panic!("FCM stand-in: bad public key fixture: {e}"),
    }
}

/// Signature and algorithm only; the claims are checked by hand so that each
/// refusal can carry Google's description.
fn assertion_validation() -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    validation.leeway = 0;
    validation
}

async fn accept_loop(listener: TcpListener, inner: Weak<Inner>) {
    let mut builder = http1::Builder::new();
    // No header-read timeout: it needs a timer and would close idle
    // keep-alive connections under a client's pool.
    builder.keep_alive(true).header_read_timeout(None);
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Typically out of file descriptors under load; back off briefly.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let Some(inner) = inner.upgrade() else { return };
        // Best effort: only latency.
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            service_fn(move |request| handle(Arc::clone(&inner), request)),
        );
        tokio::spawn(async move {
            // A client going away mid-request is not the stand-in's concern.
            let _ = connection.await;
        });
    }
}

async fn handle(
    inner: Arc<Inner>,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if request.method() == Method::POST {
        let path = request.uri().path();
        if path == "/token" {
            return Ok(handle_token(&inner, request).await);
        }
        if let Some(project) = path
            .strip_prefix("/v1/projects/")
            .and_then(|rest| rest.strip_suffix("/messages:send"))
        {
            let project_ok = project == FcmStandIn::PROJECT_ID;
            return Ok(handle_send(&inner, project_ok, request).await);
        }
    }
    Ok(google_error(
        StatusCode::NOT_FOUND,
        "NOT_FOUND",
        NOT_FOUND_MESSAGE,
        None,
    ))
}

// ---------------------------------------------------------------------------
// Send endpoint
// ---------------------------------------------------------------------------

async fn handle_send(
    inner: &Inner,
    project_ok: bool,
    request: Request<Incoming>,
) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return invalid_argument("Invalid JSON payload received. Could not read the request body.");
    };
    let parsed: Option<Value> = serde_json::from_slice(&body).ok();
    let device_token = parsed
        .as_ref()
        .and_then(|body| body.get("message")?.get("token")?.as_str())
        .map(str::to_owned);

    let Some(access_token) = authorized_token(inner, &parts.headers) else {
        inner.record_attempt(device_token, StatusCode::UNAUTHORIZED);
        let mut response = google_error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            UNAUTHENTICATED_MESSAGE,
            None,
        );
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"https://accounts.google.com/\""),
        );
        return response;
    };
    if !project_ok {
        inner.record_attempt(device_token, StatusCode::NOT_FOUND);
        return google_error(StatusCode::NOT_FOUND, "NOT_FOUND", NOT_FOUND_MESSAGE, None);
    }
    if !is_content_type(&parts.headers, "application/json") {
        inner.record_attempt(device_token, StatusCode::BAD_REQUEST);
        return invalid_argument(
            "Invalid JSON payload received. Content-Type must be application/json.",
        );
    }
    let Some(parsed) = parsed else {
        inner.record_attempt(device_token, StatusCode::BAD_REQUEST);
        return invalid_argument("Invalid JSON payload received. Unexpected token.");
    };
    let send = match validate_send(parsed) {
        Ok(send) => send,
        Err(message) => {
            inner.record_attempt(device_token, StatusCode::BAD_REQUEST);
            return invalid_argument(&message);
        }
    };

    let now = Instant::now();
    let mut hang = None;
    let (reply, attempts, deliveries) = {
        let mut state = inner.lock();
        let own = send
            .token
            .as_deref()
            .and_then(|token| state.scripts.get_mut(token))
            .and_then(VecDeque::pop_front);
        let reply = own
            .or_else(|| state.script_any.pop_front())
            .unwrap_or(Reply::Ok);
        let status: u16 = match &reply {
            Reply::Ok => 200,
            Reply::NotFound => 404,
            Reply::InvalidArgument => 400,
            Reply::TooManyRequests { .. } => 429,
            Reply::Unavailable => 503,
            Reply::Hang => {
                // Subscribed before the attempt is visible, so a release
                // that follows the test seeing the attempt is not missed.
                hang = Some(inner.release.subscribe());
                0
            }
        };
        state.attempts.push(Attempt {
            device_token: send.token.clone(),
            status,
            at: now,
        });
        if reply == Reply::Ok && !send.validate_only {
            state.deliveries.push(Delivery {
                device_token: send.token.unwrap_or_default(),
                message: send.message,
                access_token,
                at: now,
            });
        }
        (reply, state.attempts.len(), state.deliveries.len())
    };
    bump(&inner.attempts_seen, attempts);
    bump(&inner.deliveries_seen, deliveries);

    match reply {
        Reply::Ok => ok_response(),
        Reply::NotFound => google_error(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            NOT_FOUND_MESSAGE,
            Some("UNREGISTERED"),
        ),
        Reply::InvalidArgument => {
            invalid_argument("The registration token is not a valid FCM registration token")
        }
        Reply::TooManyRequests { retry_after_secs } => {
            let mut response = google_error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
                "Quota exceeded for sending messages to this device.",
                Some("QUOTA_EXCEEDED"),
            );
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(retry_after_secs));
            response
        }
        Reply::Unavailable => unavailable(),
        Reply::Hang => {
            if let Some(mut release) = hang {
                // Err only if the sender is gone, which `inner` prevents.
                let _ = release.changed().await;
            }
            unavailable()
        }
    }
}

/// The bearer token, if it was issued here and has not expired.
fn authorized_token(inner: &Inner, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return None;
    }
    let expiry = *inner.lock().access_tokens.get(token)?;
    match expiry {
        Some(expiry) if Instant::now() >= expiry => None,
        _ => Some(token.to_owned()),
    }
}

/// Whether the media type (before any `;` parameters) is `expected`.
fn is_content_type(headers: &HeaderMap, expected: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(';').next())
        .is_some_and(|media_type| media_type.trim().eq_ignore_ascii_case(expected))
}

struct ValidSend {
    message: Value,
    validate_only: bool,
    token: Option<String>,
}

/// FCM's checks on a send body; `Err` is the 400 message.
fn validate_send(body: Value) -> Result<ValidSend, String> {
    let Value::Object(mut top) = body else {
        return Err(format!(
            "Invalid JSON payload received. Expected an object, got {body}."
        ));
    };
    if let Some(unknown) = top
        .keys()
        .find(|key| !matches!(key.as_str(), "message" | "validate_only"))
    {
        return Err(format!(
            "Invalid JSON payload received. Unknown name \"{unknown}\": Cannot find field."
        ));
    }
    let validate_only = match top.get("validate_only") {
        None => false,
        Some(Value::Bool(flag)) => *flag,
        Some(other) => return Err(bad_value("validate_only", "TYPE_BOOL", other)),
    };
    let Some(message) = top.remove("message") else {
        return Err("Request contains an invalid argument.".to_owned());
    };
    let token = validate_message(&message)?;
    Ok(ValidSend {
        message,
        validate_only,
        token,
    })
}

const MESSAGE_FIELDS: &[&str] = &[
    "name",
    "data",
    "notification",
    "android",
    "webpush",
    "apns",
    "fcm_options",
    "token",
    "topic",
    "condition",
];

/// Returns the message's `token`, if it targets one.
fn validate_message(message: &Value) -> Result<Option<String>, String> {
    let fields = object_at(
        "message",
        message,
        "type.googleapis.com/google.firebase.fcm.v1.Message",
    )?;
    only_known_fields("message", fields, MESSAGE_FIELDS)?;

    let mut target: Option<&str> = None;
    for field in ["token", "topic", "condition"] {
        let Some(value) = fields.get(field) else {
            continue;
        };
        let path = format!("message.{field}");
        let Value::String(value) = value else {
            return Err(bad_value(&path, "TYPE_STRING", value));
        };
        if target.is_some() {
            return Err(format!(
                "Invalid JSON payload received. Oneof field 'target' is already set. Cannot set '{field}'"
            ));
        }
        target = Some(field);
        match field {
            "token" if value.is_empty() => {
                return Err(
                    "The registration token is not a valid FCM registration token".to_owned(),
                );
            }
            "topic" if !is_topic_name(value) => return Err("Invalid topic name.".to_owned()),
            "condition" if value.trim().is_empty() => {
                return Err("Invalid condition expression.".to_owned());
            }
            _ => {}
        }
    }
    if target.is_none() {
        return Err("Recipient of the message is not set.".to_owned());
    }

    if let Some(name) = fields.get("name") {
        string_at("message.name", name)?;
    }
    if let Some(data) = fields.get("data") {
        let data = string_map_at("message.data", data)?;
        if let Some(reserved) = data.keys().find(|key| is_reserved_data_key(key)) {
            return Err(format!("Invalid data payload key: {reserved}"));
        }
    }
    if let Some(notification) = fields.get("notification") {
        let notification = object_at(
            "message.notification",
            notification,
            "type.googleapis.com/google.firebase.fcm.v1.Notification",
        )?;
        only_known_fields(
            "message.notification",
            notification,
            &["title", "body", "image"],
        )?;
        for (key, value) in notification {
            string_at(&format!("message.notification.{key}"), value)?;
        }
    }
    if let Some(android) = fields.get("android") {
        validate_android(android)?;
    }
    if let Some(apns) = fields.get("apns") {
        validate_apns(apns)?;
    }
    if let Some(webpush) = fields.get("webpush") {
        object_at(
            "message.webpush",
            webpush,
            "type.googleapis.com/google.firebase.fcm.v1.WebpushConfig",
        )?;
    }
    if let Some(options) = fields.get("fcm_options") {
        validate_fcm_options("message.fcm_options", options)?;
    }

    let payload_bytes =
        serialized_len(fields.get("data")) + serialized_len(fields.get("notification"));
    if payload_bytes > MAX_PAYLOAD_BYTES {
        return Err("Message is too big".to_owned());
    }
    Ok(fields
        .get("token")
        .and_then(Value::as_str)
        .map(str::to_owned))
}

fn validate_android(android: &Value) -> Result<(), String> {
    const PATH: &str = "message.android";
    let fields = object_at(
        PATH,
        android,
        "type.googleapis.com/google.firebase.fcm.v1.AndroidConfig",
    )?;
    only_known_fields(
        PATH,
        fields,
        &[
            "collapse_key",
            "priority",
            "ttl",
            "restricted_package_name",
            "data",
            "notification",
            "fcm_options",
            "direct_boot_ok",
        ],
    )?;
    for (key, value) in fields {
        let path = format!("{PATH}.{key}");
        let (valid, type_name) = match key.as_str() {
            "data" => {
                string_map_at(&path, value)?;
                continue;
            }
            "fcm_options" => {
                validate_fcm_options(&path, value)?;
                continue;
            }
            "collapse_key" | "restricted_package_name" => (value.is_string(), "TYPE_STRING"),
            "priority" => (
                matches!(value.as_str(), Some("NORMAL" | "HIGH")),
                "type.googleapis.com/google.firebase.fcm.v1.AndroidMessagePriority",
            ),
            "ttl" => (
                value.as_str().is_some_and(is_duration),
                "type.googleapis.com/google.protobuf.Duration",
            ),
            "notification" => (
                value.is_object(),
                "type.googleapis.com/google.firebase.fcm.v1.AndroidNotification",
            ),
            "direct_boot_ok" => (value.is_boolean(), "TYPE_BOOL"),
            _ => (true, ""),
        };
        if !valid {
            return Err(bad_value(&path, type_name, value));
        }
    }
    Ok(())
}

fn validate_apns(apns: &Value) -> Result<(), String> {
    const PATH: &str = "message.apns";
    let fields = object_at(
        PATH,
        apns,
        "type.googleapis.com/google.firebase.fcm.v1.ApnsConfig",
    )?;
    only_known_fields(PATH, fields, &["headers", "payload", "fcm_options"])?;
    if let Some(headers) = fields.get("headers") {
        let headers = string_map_at("message.apns.headers", headers)?;
        for (name, value) in headers {
            let value = value.as_str().unwrap_or_default();
            let ok = match name.to_ascii_lowercase().as_str() {
                "apns-priority" => matches!(value, "5" | "10"),
                "apns-expiration" => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
                "apns-collapse-id" => value.len() <= 64,
                _ => true,
            };
            if !ok {
                return Err(format!("Invalid APNs header {name}: \"{value}\""));
            }
        }
    }
    if let Some(payload) = fields.get("payload") {
        object_at(
            "message.apns.payload",
            payload,
            "type.googleapis.com/google.protobuf.Struct",
        )?;
    }
    if let Some(options) = fields.get("fcm_options") {
        validate_fcm_options("message.apns.fcm_options", options)?;
    }
    Ok(())
}

fn validate_fcm_options(path: &str, options: &Value) -> Result<(), String> {
    let fields = object_at(
        path,
        options,
        "type.googleapis.com/google.firebase.fcm.v1.FcmOptions",
    )?;
    for (key, value) in fields {
        string_at(&format!("{path}.{key}"), value)?;
    }
    Ok(())
}

fn object_at<'a>(
    path: &str,
    value: &'a Value,
    type_name: &str,
) -> Result<&'a Map<String, Value>, String> {
    value
        .as_object()
        .ok_or_else(|| bad_value(path, type_name, value))
}

fn string_at<'a>(path: &str, value: &'a Value) -> Result<&'a str, String> {
    value
        .as_str()
        .ok_or_else(|| bad_value(path, "TYPE_STRING", value))
}

/// A `map<string, string>` field: an object whose values are all strings.
fn string_map_at<'a>(path: &str, value: &'a Value) -> Result<&'a Map<String, Value>, String> {
    let map = object_at(path, value, "type.googleapis.com/google.protobuf.Map")?;
    for (index, entry) in map.values().enumerate() {
        if !entry.is_string() {
            return Err(bad_value(
                &format!("{path}[{index}].value"),
                "TYPE_STRING",
                entry,
            ));
        }
    }
    Ok(map)
}

fn only_known_fields(
    path: &str,
    fields: &Map<String, Value>,
    known: &[&str],
) -> Result<(), String> {
    match fields.keys().find(|key| !known.contains(&key.as_str())) {
        Some(unknown) => Err(format!(
            "Invalid JSON payload received. Unknown name \"{unknown}\" at '{path}': Cannot find field."
        )),
        None => Ok(()),
    }
}

fn bad_value(path: &str, type_name: &str, value: &Value) -> String {
    format!("Invalid value at '{path}' ({type_name}), {value}")
}

fn is_reserved_data_key(key: &str) -> bool {
    matches!(key, "from" | "notification" | "message_type")
        || key.starts_with("google")
        || key.starts_with("gcm")
}

fn is_topic_name(topic: &str) -> bool {
    let name = topic.strip_prefix("/topics/").unwrap_or(topic);
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'%'))
}

/// `^\d+(\.\d{1,9})?s$`, protobuf's JSON form of a Duration.
fn is_duration(text: &str) -> bool {
    let Some(number) = text.strip_suffix('s') else {
        return false;
    };
    let (seconds, fraction) = match number.split_once('.') {
        Some((seconds, fraction)) => (seconds, Some(fraction)),
        None => (number, None),
    };
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    all_digits(seconds)
        && fraction.is_none_or(|fraction| all_digits(fraction) && fraction.len() <= 9)
}

/// Length of the value's compact JSON, without building the string.
fn serialized_len(value: Option<&Value>) -> usize {
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let Some(value) = value else { return 0 };
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        // Cannot happen for a `Value` and an infallible writer; count it as too big.
        Err(_) => usize::MAX / 2,
    }
}

fn ok_response() -> Response<Body> {
    let id = format!(
        "0:{}%{:016x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros(),
        fastrand::u64(..)
    );
    let body = format!(
        "{{\"name\":\"projects/{}/messages/{id}\"}}",
        FcmStandIn::PROJECT_ID
    );
    json_response(StatusCode::OK, Bytes::from(body))
}

fn invalid_argument(message: &str) -> Response<Body> {
    google_error(
        StatusCode::BAD_REQUEST,
        "INVALID_ARGUMENT",
        message,
        Some("INVALID_ARGUMENT"),
    )
}

fn unavailable() -> Response<Body> {
    google_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        "The service is currently unavailable.",
        Some("UNAVAILABLE"),
    )
}

/// Google's API error shape, with an FCM error code in `details` when given.
fn google_error(
    code: StatusCode,
    status: &str,
    message: &str,
    fcm_error_code: Option<&str>,
) -> Response<Body> {
    let mut error = json!({ "code": code.as_u16(), "message": message, "status": status });
    if let Some(fcm_error_code) = fcm_error_code {
        error["details"] = json!([{ "@type": FCM_ERROR_TYPE, "errorCode": fcm_error_code }]);
    }
    json_value_response(code, &json!({ "error": error }))
}

fn json_value_response(status: StatusCode, body: &Value) -> Response<Body> {
    json_response(status, Bytes::from(body.to_string()))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}

// ---------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------

async fn handle_token(inner: &Inner, request: Request<Incoming>) -> Response<Body> {
    let (parts, body) = request.into_parts();
    let Ok(body) = body.collect().await.map(|collected| collected.to_bytes()) else {
        return oauth_error("invalid_request", "Could not read the request body.");
    };
    if !is_content_type(&parts.headers, "application/x-www-form-urlencoded") {
        return oauth_error(
            "invalid_request",
            "Content-Type must be application/x-www-form-urlencoded.",
        );
    }
    let mut grant_type = None;
    let mut assertion = None;
    for (key, value) in url::form_urlencoded::parse(&body) {
        match key.as_ref() {
            "grant_type" => grant_type = Some(value.into_owned()),
            "assertion" => assertion = Some(value.into_owned()),
            _ => {}
        }
    }
    let grant_type = grant_type.unwrap_or_default();
    if grant_type != JWT_BEARER_GRANT {
        return oauth_error(
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        );
    }
    let Some(assertion) = assertion else {
        return oauth_error("invalid_request", "Missing required parameter: assertion");
    };
    if let Err((error, description)) = check_assertion(inner, &assertion) {
        return oauth_error(error, &description);
    }

    let lifetime = inner.token_lifetime_secs.load(Ordering::Relaxed);
    let access_token = format!("ya29.{}", random_token(120));
    let expiry = Instant::now().checked_add(Duration::from_secs(lifetime));
    {
        let mut state = inner.lock();
        state.access_tokens.insert(access_token.clone(), expiry);
        state.tokens_issued += 1;
    }
    json_value_response(
        StatusCode::OK,
        &json!({ "access_token": access_token, "expires_in": lifetime, "token_type": "Bearer" }),
    )
}

/// Google's checks on the JWT assertion; `Err` is (error, error_description).
fn check_assertion(inner: &Inner, assertion: &str) -> Result<(), (&'static str, String)> {
    let invalid_grant = |description: String| ("invalid_grant", description);
    let claims = match jsonwebtoken::decode::<Map<String, Value>>(
        assertion,
        &inner.decoding_key,
        &inner.validation,
    ) {
        Ok(data) => data.claims,
        Err(e) => {
            return Err(invalid_grant(match e.kind() {
                JwtErrorKind::InvalidSignature => "Invalid JWT Signature.".to_owned(),
                JwtErrorKind::InvalidAlgorithm => {
                    "Invalid JWT: the algorithm must be RS256.".to_owned()
                }
                _ => format!("Invalid JWT: {e}"),
            }));
        }
    };

    if claims.get("iss").and_then(Value::as_str) != Some(CLIENT_EMAIL) {
        return Err(invalid_grant("Invalid email or User ID".to_owned()));
    }
    let token_uri = format!("http://{}/token", inner.addr);
    match claims.get("aud").and_then(Value::as_str) {
        Some(aud) if aud == token_uri => {}
        aud => {
            return Err(invalid_grant(format!(
                "Invalid JWT: Failed audience check. The expected value was {token_uri} and the actual value was {}",
                aud.unwrap_or_default()
            )));
        }
    }
    let scoped = claims
        .get("scope")
        .and_then(Value::as_str)
        .is_some_and(|scope| scope.split_whitespace().any(|scope| scope == FCM_SCOPE));
    if !scoped {
        return Err((
            "invalid_scope",
            "Invalid OAuth scope or ID token audience provided.".to_owned(),
        ));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let (Some(iat), Some(exp)) = (
        claims.get("iat").and_then(Value::as_f64),
        claims.get("exp").and_then(Value::as_f64),
    ) else {
        return Err(invalid_grant(BAD_TIMES_MESSAGE.to_owned()));
    };
    let timely = exp > iat
        && exp - iat <= MAX_ASSERTION_LIFETIME_SECS
        && exp > now
        && iat <= now + IAT_LEEWAY_SECS;
    if !timely {
        return Err(invalid_grant(BAD_TIMES_MESSAGE.to_owned()));
    }
    Ok(())
}

fn oauth_error(error: &str, description: &str) -> Response<Body> {
    json_value_response(
        StatusCode::BAD_REQUEST,
        &json!({ "error": error, "error_description": description }),
    )
}

/// Random characters from the access-token alphabet (`-` and `_` included).
fn random_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..len)
        .map(|_| char::from(ALPHABET[fastrand::usize(..ALPHABET.len())]))
        .collect()
}
