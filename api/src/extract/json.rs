//! A strict JSON body extractor: the content type must be JSON, the body is
//! read up to `max_json_bytes` (413 past it), and every deserialisation error
//! names the field at fault (`missing_field`, `unknown_field`,
//! `invalid_field`), using serde_path_to_error for the path. A body whose
//! type is an object (every request body in openapi.yaml) must be a JSON
//! object: an array is 422 `invalid_body`, never read by position; an
//! array where a nested object belongs is `invalid_field` at its path.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use deskbind_core::wire::ErrorCode;
use futures_util::StreamExt as _;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use deskbind_core::wire::MAX_RECORD_BATCH_BYTES;

use super::body_shape::{self, Shape};
use super::objects_only::ObjectsOnly;
use crate::error::ApiError;
use crate::state::AppState;

const FALLBACK_LIMIT: usize = 64 * 1024;

/// Bodies up to this size are parsed in place; larger ones on the blocking
/// pool.
const PARSE_INLINE_BYTES: usize = 16 * 1024;

#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest for Json<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        read_json(req, payload, configured_limit(req))
    }
}

/// A JSON body for batch uploads, which may be larger than ordinary
/// requests: up to [`MAX_RECORD_BATCH_BYTES`] or `max_json_bytes`,
/// whichever is more.
#[derive(Debug)]
pub struct BatchJson<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest for BatchJson<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = configured_limit(req).max(MAX_RECORD_BATCH_BYTES);
        let body = read_json::<T>(req, payload, limit);
        Box::pin(async move { body.await.map(|Json(v)| BatchJson(v)) })
    }
}

/// A batch sent as JSON or, where the route also takes it, as CSV
/// (`text/csv`): the JSON parsed as [`BatchJson`] does, the CSV's bytes
/// read under the same limit for the route's own reader.
#[derive(Debug)]
pub enum BatchBody<T> {
    Json(T),
    Csv(web::Bytes),
}

impl<T: DeserializeOwned + Send + 'static> FromRequest for BatchBody<T> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = configured_limit(req).max(MAX_RECORD_BATCH_BYTES);
        if content_essence(req) != "text/csv" {
            let body = read_json::<T>(req, payload, limit);
            return Box::pin(async move { body.await.map(|Json(v)| BatchBody::Json(v)) });
        }
        let declared = declared_length(req);
        let payload = payload.take();
        Box::pin(async move {
            read_limited(payload, declared, limit)
                .await
                .map(|b| BatchBody::Csv(b.freeze()))
        })
    }
}

/// `max_json_bytes` from the settings.
fn configured_limit(req: &HttpRequest) -> usize {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.settings.max_json_bytes)
        .unwrap_or(FALLBACK_LIMIT)
}

fn read_json<T: DeserializeOwned + Send + 'static>(
    req: &HttpRequest,
    payload: &mut Payload,
    limit: usize,
) -> LocalBoxFuture<'static, Result<Json<T>, ApiError>> {
    let is_json = is_json_content_type(req);
    let declared = declared_length(req);
    let payload = payload.take();
    Box::pin(async move {
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = read_limited(payload, declared, limit).await?;
        if body.len() <= PARSE_INLINE_BYTES {
            return parse(&body).map(Json);
        }
        // A record batch (up to 1 MiB) takes milliseconds to parse, tens of
        // them unoptimised: on the worker thread that stalls every other
        // connection it serves, and its cached clock, by which keep-alive
        // deadlines are set, falls behind (under load a connection was
        // closed the moment its answer was written).
        let body = body.freeze();
        tokio::task::spawn_blocking(move || parse::<T>(&body))
            .await
            .map_err(ApiError::internal)?
            .map(Json)
    })
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// The body, refused (413) as soon as its declared or streamed size
/// passes `limit`.
async fn read_limited(
    mut payload: Payload,
    declared: Option<usize>,
    limit: usize,
) -> Result<web::BytesMut, ApiError> {
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::MalformedJson(format!("body could not be read: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The content type without its parameters, lower case.
fn content_essence(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn is_json_content_type(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

pub fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body_shape::expected::<T>() == Shape::Object {
        require_object(body)?;
    }
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(ObjectsOnly(&mut de)).map_err(classify)?;
    de.end()
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Ok(value)
}

/// Refuses a top-level value that is not an object (serde would read an
/// array into a struct by position); a body that is not JSON at all stays
/// `malformed_json`.
fn require_object(body: &[u8]) -> Result<(), ApiError> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first == Some(&b'{') {
        return Ok(());
    }
    serde_json::from_slice::<serde::de::IgnoredAny>(body)
        .map_err(|e| ApiError::MalformedJson(e.to_string()))?;
    Err(ApiError::Validation {
        code: ErrorCode::InvalidBody,
        field: "body".into(),
        detail: "the body must be a JSON object".into(),
    })
}

fn classify(err: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    use serde_json::error::Category;
    let path = err.path().to_string();
    let inner = err.into_inner();
    match inner.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            ApiError::MalformedJson(inner.to_string())
        }
        Category::Data => {
            let message = inner.to_string();
            let message = message
                .split(" at line ")
                .next()
                .unwrap_or(&message)
                .to_owned();
            let named = between_backticks(&message);
            let (code, field) = if message.starts_with("unknown field") {
                (ErrorCode::UnknownField, join_path(&path, named))
            } else if message.starts_with("missing field") {
                (ErrorCode::MissingField, join_path(&path, named))
            } else {
                (
                    ErrorCode::InvalidField,
                    if path == "." { "body".to_owned() } else { path },
                )
            };
            ApiError::Validation {
                code,
                field,
                detail: message,
            }
        }
    }
}

fn between_backticks(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

fn join_path(path: &str, name: Option<&str>) -> String {
    match (path, name) {
        (".", Some(name)) => name.to_owned(),
        (p, Some(name)) if p.ends_with(name) => p.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deskbind_core::wire::{CreateUser, LoginRequest, UpdateUser};

    fn field_error(body: &str) -> (String, String) {
        match parse::<CreateUser>(body.as_bytes()) {
            Err(ApiError::Validation { code, field, .. }) => (code.to_string(), field),
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn names_the_field_at_fault() {
        assert_eq!(
            field_error(r#"{"email":"a@b.c","display_name":"A","password":"0123456789"}"#),
            ("missing_field".into(), "role".into())
        );
        assert_eq!(
            field_error(
                r#"{"email":"a@b.c","display_name":"A","password":"0123456789","role":"boss"}"#
            ),
            ("invalid_field".into(), "role".into())
        );
        assert_eq!(
            field_error(
                r#"{"email":"a@b.c","display_name":"A","password":"0123456789","role":"admin","colour":1}"#
            ),
            ("unknown_field".into(), "colour".into())
        );
        assert_eq!(
            field_error(
                r#"{"email":"a@b.c","display_name":"A","password":"0123456789","role":"admin","team_ids":["x"]}"#
            ),
            ("invalid_field".into(), "team_ids[0]".into())
        );
    }

    fn invalid_body<T: DeserializeOwned + std::fmt::Debug>(body: &str) {
        match parse::<T>(body.as_bytes()) {
            Err(ApiError::Validation { code, field, .. }) => {
                assert_eq!(
                    (code.as_str(), field.as_str()),
                    ("invalid_body", "body"),
                    "{body}"
                );
            }
            other => panic!("{body}: expected invalid_body, got {other:?}"),
        }
    }

    #[test]
    fn an_array_or_scalar_in_place_of_an_object_is_invalid_body() {
        // Read by position, this was an admin created by the caller.
        invalid_body::<CreateUser>(r#"["x@y.example","Name","admin","long-password"]"#);
        invalid_body::<LoginRequest>(r#" ["a@b.c","pw"]"#);
        invalid_body::<UpdateUser>("[]");
        invalid_body::<UpdateUser>("\n[null]");
        invalid_body::<LoginRequest>(r#""a@b.c""#);
        invalid_body::<LoginRequest>("null");
        invalid_body::<LoginRequest>("17");
        // Not JSON at all stays malformed, whatever its first byte.
        assert!(matches!(
            parse::<LoginRequest>(b"[1,"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<LoginRequest>(b""),
            Err(ApiError::MalformedJson(_))
        ));
    }

    #[test]
    fn objects_and_array_typed_bodies_still_parse() {
        assert!(parse::<UpdateUser>(b" \n {}").is_ok());
        let login: LoginRequest = parse(br#"{"email":"a@b.c","password":"pw"}"#).unwrap();
        assert_eq!(login.email, "a@b.c");
        assert_eq!(parse::<Vec<u32>>(b"[1,2]").unwrap(), vec![1, 2]);
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        #[allow(dead_code)]
        a: u32,
        #[allow(dead_code)]
        b: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    enum Kind {
        Struct { a: u32 },
        Tuple(u32, u32),
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        #[serde(default)]
        items: Vec<Inner>,
        #[serde(default)]
        one: Option<Inner>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[test]
    fn a_nested_array_in_place_of_an_object_is_refused_at_its_path() {
        assert_eq!(
            field_error_of::<Outer>(r#"{"items":[{"a":1,"b":"x"},[2,"y"]]}"#),
            ("invalid_field".into(), "items[1]".into())
        );
        assert_eq!(
            field_error_of::<Outer>(r#"{"one":[1,"x"]}"#),
            ("invalid_field".into(), "one".into())
        );
        assert_eq!(
            field_error_of::<Outer>(r#"{"kind":{"Struct":[1]}}"#),
            ("invalid_field".into(), "kind.Struct".into())
        );
        let fine: Outer =
            parse(br#"{"items":[{"a":1,"b":"x"}],"one":{"a":2,"b":"y"},"kind":{"Tuple":[1,2]}}"#)
                .unwrap();
        assert_eq!(fine.items.len(), 1);
        assert!(parse::<Outer>(br#"{"kind":{"Struct":{"a":1}}}"#).is_ok());
    }

    #[test]
    fn record_batches_and_phone_frames_refuse_positional_items() {
        use deskbind_core::wire::{Frame, PhoneCallRecordBatch, PhoneEvents, PhoneFrame};
        let (code, field) = field_error_of::<PhoneCallRecordBatch>(
            r#"{"records":[["call-1","outbound",null,"+4930901820","2026-11-30T10:00:00Z"]]}"#,
        );
        assert_eq!(
            (code.as_str(), field.as_str()),
            ("invalid_field", "records[0]")
        );
        // Frames carry a flattened envelope, which serde reads from maps only:
        // on the WebSocket (read directly) and in long-poll batches.
        assert!(serde_json::from_str::<Frame<PhoneFrame>>(r#"[1,null,"pong"]"#).is_err());
        assert!(serde_json::from_str::<Frame<PhoneFrame>>(r#"[1,{"type":"pong"}]"#).is_err());
        assert!(serde_json::from_str::<Frame<PhoneFrame>>(r#"{"v":1,"type":"pong"}"#).is_ok());
        let (code, field) = field_error_of::<PhoneEvents>(r#"{"events":[[1,null,"pong"]]}"#);
        assert_eq!(
            (code.as_str(), field.as_str()),
            ("invalid_field", "events[0]")
        );
    }

    fn field_error_of<T: DeserializeOwned + std::fmt::Debug>(body: &str) -> (String, String) {
        match parse::<T>(body.as_bytes()) {
            Err(ApiError::Validation { code, field, .. }) => (code.to_string(), field),
            other => panic!("{body}: expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn syntax_errors_and_trailing_garbage_are_malformed() {
        assert!(matches!(
            parse::<LoginRequest>(b"{\"email\":"),
            Err(ApiError::MalformedJson(_))
        ));
        assert!(matches!(
            parse::<LoginRequest>(br#"{"email":"a","password":"b"} x"#),
            Err(ApiError::MalformedJson(_))
        ));
    }
}
