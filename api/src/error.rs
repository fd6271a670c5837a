//! The one API error type; it renders as application/problem+json. Its code
//! is an `ErrorCode` (core/src/wire/error_code.rs), which alone decides the
//! HTTP status: variants without a `code` field have a fixed one (`code`
//! below), the others carry the code their rule refuses with. docs/errors.md
//! lists every code, and api/tests/error_codes.rs checks it against the enum.
//! Internal causes are logged with the request's span and never sent to the
//! client.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use deskbind_core::domain::FieldError;
use deskbind_core::repo::RepoError;
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{PROBLEM_CONTENT_TYPE, Problem, problem_type_uri};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON (syntax error, truncated).
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    /// A body was sent with a content type other than JSON.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// An upload without Content-Length (its size must be known up front).
    #[error("length required")]
    LengthRequired,
    /// An upload whose bytes are not a recognised audio format.
    #[error("not audio")]
    NotAudio,
    /// A request field is missing, unknown, or has an invalid value.
    #[error("invalid field {field}: {detail}")]
    Validation {
        code: ErrorCode,
        field: String,
        detail: String,
    },
    /// A query-string parameter is invalid.
    #[error("invalid query parameter {field}: {detail}")]
    InvalidQuery { field: String, detail: String },
    /// A request that is well-formed but cannot be honoured as asked.
    #[error("bad request: {code}")]
    BadRequest { code: ErrorCode, detail: String },
    #[error("unauthorized: {code}")]
    Unauthorized { code: ErrorCode },
    #[error("forbidden: {code}")]
    Forbidden { code: ErrorCode },
    /// The caller may ask, but a policy refuses this request; `code` says which rule.
    #[error("denied: {code}")]
    Denied { code: ErrorCode, detail: String },
    /// A blocklist entry refuses the number; the problem carries the entry.
    #[error("blocked: {code}")]
    Blocked {
        code: ErrorCode,
        detail: String,
        by: Box<deskbind_core::wire::BlockedBy>,
    },
    /// A dial authorisation rule refuses the dial; the problem names the
    /// rule and, for hours, when it would be allowed.
    #[error("dial refused: {code}")]
    DialRefused {
        code: ErrorCode,
        detail: String,
        rule: Box<deskbind_core::wire::DialRuleRef>,
        retry_at: Option<deskbind_core::time::Micros>,
        now: deskbind_core::time::Micros,
    },
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("conflict: {code}")]
    Conflict { code: ErrorCode, detail: String },
    /// A conflict with one contact, whose id the problem carries
    /// (`contact_id`) so the client can show or merge it.
    #[error("conflict: {code} with contact {contact_id}")]
    ContactConflict {
        code: ErrorCode,
        detail: String,
        contact_id: deskbind_core::ids::ContactId,
    },
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The database cannot be reached (or no connection came free in time);
    /// answered at once with `Retry-After` instead of after the pool timeout.
    #[error("database unavailable")]
    DatabaseUnavailable { retry_after_secs: u64 },
    /// A Range that selects no byte of the representation; `len` is its size.
    #[error("range not satisfiable")]
    RangeNotSatisfiable { len: u64 },
    /// A recording on another node's local disk (recordings need S3 or a
    /// shared directory when several nodes serve them).
    #[error("recording on another node")]
    RecordingOnOtherNode,
    /// This node is shutting down: phones and load balancers go elsewhere.
    #[error("node draining")]
    NodeDraining,
    /// A stored recording that is not the audio its header claims.
    #[error("invalid audio: {0}")]
    InvalidAudio(String),
    /// Anything unexpected. The cause is logged, the client sees `internal`.
    #[error("internal error: {0:#}")]
    Internal(anyhow::Error),
}

/// SQLite's own texts (sqlite3_errstr) for a database it cannot write or
/// read right now: a full disk, a read-only or vanished file, an I/O error.
/// The statement failed and its transaction rolled back, so these are a
/// retryable outage (503), not a bug (500). diesel exposes no extended
/// result code, and the repository errors wrap its error transparently, so
/// the text is what reaches this mapping.
const SQLITE_STORAGE_FAILURES: [&str; 4] = [
    "database or disk is full",
    "attempt to write a readonly database",
    "disk I/O error",
    "unable to open database file",
];

/// `Retry-After` for a storage failure: an operator has to act (free disk),
/// so clients back off longer than for a breaker probe.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;

fn is_storage_failure(message: &str) -> bool {
    SQLITE_STORAGE_FAILURES
        .iter()
        .any(|text| message.starts_with(text))
}

impl ApiError {
    /// Anything unexpected, except a database outage anywhere in the
    /// error's chain, which is a 503 the client can retry.
    pub fn internal(err: impl Into<anyhow::Error>) -> Self {
        let err = err.into();
        match err
            .chain()
            .find_map(|cause| cause.downcast_ref::<deskbind_core::db::breaker::Unavailable>())
        {
            Some(outage) => {
                tracing::warn!(reason = %outage.reason, "answered 503: database unavailable");
                Self::DatabaseUnavailable {
                    retry_after_secs: outage.retry_after.as_secs_f64().ceil().max(1.0) as u64,
                }
            }
            None if err
                .chain()
                .any(|cause| is_storage_failure(&cause.to_string())) =>
            {
                tracing::warn!(error = %format!("{err:#}"), "answered 503: database storage failed");
                Self::DatabaseUnavailable {
                    retry_after_secs: STORAGE_RETRY_AFTER_SECS,
                }
            }
            None => Self::Internal(err),
        }
    }

    pub fn forbidden() -> Self {
        Self::Forbidden {
            code: ErrorCode::Forbidden,
        }
    }

    /// Bad, forged, revoked or wrong-kind credentials.
    pub fn invalid_token() -> Self {
        Self::Unauthorized {
            code: ErrorCode::InvalidToken,
        }
    }

    /// The stable machine code; its status is the response's.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MalformedJson(_) => ErrorCode::MalformedJson,
            Self::UnsupportedMediaType => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::LengthRequired => ErrorCode::LengthRequired,
            Self::NotAudio => ErrorCode::NotAudio,
            Self::Validation { code, .. } => *code,
            Self::InvalidQuery { .. } => ErrorCode::InvalidQuery,
            Self::BadRequest { code, .. } => *code,
            Self::Unauthorized { code } => *code,
            Self::Forbidden { code } => *code,
            Self::Denied { code, .. } | Self::Blocked { code, .. } => *code,
            Self::DialRefused { code, .. } => *code,
            Self::NotFound => ErrorCode::NotFound,
            Self::MethodNotAllowed => ErrorCode::MethodNotAllowed,
            Self::Conflict { code, .. } | Self::ContactConflict { code, .. } => *code,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::Unavailable(_) | Self::DatabaseUnavailable { .. } => ErrorCode::Unavailable,
            Self::RangeNotSatisfiable { .. } => ErrorCode::RangeNotSatisfiable,
            Self::RecordingOnOtherNode => ErrorCode::RecordingOnOtherNode,
            Self::NodeDraining => ErrorCode::NodeDraining,
            Self::InvalidAudio(_) => ErrorCode::InvalidAudio,
            Self::Internal(_) => ErrorCode::Internal,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            Self::MalformedJson(_) => "Malformed JSON",
            Self::UnsupportedMediaType => "Unsupported media type",
            Self::PayloadTooLarge { .. } => "Payload too large",
            Self::LengthRequired => "Length required",
            Self::NotAudio => "Not audio",
            // The code decides the status, so the title follows the status.
            Self::Validation { code, .. }
            | Self::BadRequest { code, .. }
            | Self::Unauthorized { code }
            | Self::Forbidden { code }
            | Self::Denied { code, .. }
            | Self::Blocked { code, .. }
            | Self::DialRefused { code, .. }
            | Self::Conflict { code, .. }
            | Self::ContactConflict { code, .. } => title_of_status(code.status()),
            Self::InvalidQuery { .. } => "Invalid query parameter",
            Self::NotFound => "Not found",
            Self::MethodNotAllowed => "Method not allowed",
            Self::RateLimited { .. } => "Too many requests",
            Self::Unavailable(_)
            | Self::DatabaseUnavailable { .. }
            | Self::RecordingOnOtherNode
            | Self::NodeDraining => "Service unavailable",
            Self::RangeNotSatisfiable { .. } => "Range not satisfiable",
            Self::InvalidAudio(_) => "Invalid audio",
            Self::Internal(_) => "Internal server error",
        }
    }

    /// What the client may read. Internal causes never appear here.
    fn detail(&self) -> Option<String> {
        match self {
            Self::MalformedJson(d) => Some(d.clone()),
            Self::PayloadTooLarge { limit } => {
                Some(format!("the body must be at most {limit} bytes"))
            }
            Self::UnsupportedMediaType => Some("send the body as application/json".into()),
            Self::LengthRequired => {
                Some("send Content-Length: the size must be known before the upload".into())
            }
            Self::NotAudio => Some("the bytes are not WAV, MP3, Ogg/Opus, AMR or M4A audio".into()),
            Self::Validation { detail, .. } | Self::InvalidQuery { detail, .. } => {
                Some(detail.clone())
            }
            Self::BadRequest { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::ContactConflict { detail, .. }
            | Self::Denied { detail, .. }
            | Self::Blocked { detail, .. }
            | Self::DialRefused { detail, .. } => Some(detail.clone()),
            Self::RateLimited { retry_after_secs } => {
                Some(format!("retry after {retry_after_secs} s"))
            }
            Self::Unavailable(d) => Some(d.clone()),
            Self::DatabaseUnavailable { retry_after_secs } => Some(format!(
                "the database cannot be reached or written right now; retry after {retry_after_secs} s"
            )),
            Self::RangeNotSatisfiable { len } => Some(format!(
                "the range selects none of the {len} bytes; ask for bytes 0-{}",
                len.saturating_sub(1)
            )),
            Self::RecordingOnOtherNode => Some(
                "this file (a recording or a call archive) is on another node's local \
                 disk; with several nodes, files need S3 (DESKBIND_S3_BUCKET) or a \
                 recordings directory shared by every node"
                    .into(),
            ),
            Self::NodeDraining => {
                Some("this node is shutting down; connect again (another node will answer)".into())
            }
            Self::InvalidAudio(d) => Some(d.clone()),
            _ => None,
        }
    }

    pub fn problem(&self) -> Problem {
        let code = self.code().as_str();
        Problem {
            kind: problem_type_uri(code),
            title: self.title().to_owned(),
            status: self.status_code().as_u16(),
            code: code.to_string(),
            detail: self.detail(),
            field: match self {
                Self::Validation { field, .. } | Self::InvalidQuery { field, .. } => {
                    Some(field.clone())
                }
                _ => None,
            },
            retry_after: match self {
                Self::RateLimited { retry_after_secs }
                | Self::DatabaseUnavailable { retry_after_secs } => Some(*retry_after_secs),
                Self::NodeDraining => Some(1),
                Self::DialRefused {
                    retry_at: Some(at),
                    now,
                    ..
                } => Some(((at - now).max(0) as u64).div_ceil(1_000_000)),
                _ => None,
            },
            blocked_by: match self {
                Self::Blocked { by, .. } => Some(by.as_ref().clone()),
                _ => None,
            },
            contact_id: match self {
                Self::ContactConflict { contact_id, .. } => Some(contact_id.to_string()),
                _ => None,
            },
            rule: match self {
                Self::DialRefused { rule, .. } => Some(rule.as_ref().clone()),
                _ => None,
            },
            retry_at: match self {
                Self::DialRefused { retry_at, .. } => {
                    retry_at.map(deskbind_core::time::to_datetime)
                }
                _ => None,
            },
        }
    }
}

/// The title of a problem whose variant carries its code: what each variant
/// said before the code decided the status (`Validation` is the only 422 one).
fn title_of_status(status: u16) -> &'static str {
    match status {
        400 => "Bad request",
        401 => "Unauthorized",
        403 => "Forbidden",
        409 => "Conflict",
        410 => "Gone",
        422 => "Invalid request field",
        _ => "Error",
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.code().status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((
            header::CONTENT_TYPE,
            HeaderValue::from_static(PROBLEM_CONTENT_TYPE),
        ));
        if let Self::RateLimited { retry_after_secs }
        | Self::DatabaseUnavailable { retry_after_secs } = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        if let Self::NodeDraining = self {
            response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
        }
        if let Self::RangeNotSatisfiable { len } = self {
            response.insert_header((header::CONTENT_RANGE, format!("bytes */{len}")));
        }
        if let Self::Unauthorized { .. } = self {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        response.json(self.problem())
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        Self::Validation {
            code: e.code,
            field: e.field.to_owned(),
            detail: e.message,
        }
    }
}

impl From<RepoError> for ApiError {
    fn from(e: RepoError) -> Self {
        match e {
            RepoError::NotFound => Self::NotFound,
            // Callers that expect a conflict map it to a specific code first.
            RepoError::Conflict => Self::Conflict {
                code: ErrorCode::Conflict,
                detail: "conflicts with an existing resource".into(),
            },
            other => Self::internal(other),
        }
    }
}

impl From<diesel::result::Error> for ApiError {
    fn from(e: diesel::result::Error) -> Self {
        RepoError::from(e).into()
    }
}

impl From<deskbind_core::db::DbError> for ApiError {
    fn from(e: deskbind_core::db::DbError) -> Self {
        Self::internal(e)
    }
}

/// Maps a unique-constraint conflict to a specific code; other errors pass.
pub fn conflict_as(code: ErrorCode, detail: &'static str) -> impl Fn(RepoError) -> ApiError {
    move |e| match e {
        RepoError::Conflict => ApiError::Conflict {
            code,
            detail: detail.into(),
        },
        other => other.into(),
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody as _;

    fn render(err: ApiError) -> (u16, Option<String>, String) {
        let response = err.error_response();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response
            .into_body()
            .try_into_bytes()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        (status, content_type, body)
    }

    #[test]
    fn validation_wire_format_is_pinned() {
        let (status, content_type, body) = render(ApiError::Validation {
            code: ErrorCode::InvalidEmail,
            field: "email".into(),
            detail: "not a valid email address".into(),
        });
        assert_eq!(status, 422);
        assert_eq!(content_type.as_deref(), Some("application/problem+json"));
        assert_eq!(
            body,
            r#"{"type":"urn:deskbind:problem:invalid_email","title":"Invalid request field","status":422,"code":"invalid_email","detail":"not a valid email address","field":"email"}"#
        );
    }

    #[test]
    fn internal_errors_never_leak_their_cause() {
        let (status, _, body) = render(ApiError::internal(anyhow::anyhow!(
            "connection refused to 10.0.0.7:5432"
        )));
        assert_eq!(status, 500);
        assert_eq!(
            body,
            r#"{"type":"urn:deskbind:problem:internal","title":"Internal server error","status":500,"code":"internal"}"#
        );
    }

    #[test]
    fn a_full_or_unwritable_sqlite_database_is_a_503_not_a_bug() {
        for text in SQLITE_STORAGE_FAILURES {
            let failure = diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::Unknown,
                Box::new(text.to_owned()),
            );
            let wrapped = anyhow::Error::new(failure).context("inserting a call record");
            let (status, _, body) = render(ApiError::internal(wrapped));
            assert_eq!(status, 503, "{text}");
            assert!(body.contains(r#""code":"unavailable""#), "{body}");
        }
        let other = diesel::result::Error::DatabaseError(
            diesel::result::DatabaseErrorKind::Unknown,
            Box::new("no such column: x".to_owned()),
        );
        let (status, _, _) = render(ApiError::internal(other));
        assert_eq!(status, 500);
    }

    #[test]
    fn rate_limited_carries_retry_after() {
        let response = ApiError::RateLimited {
            retry_after_secs: 7,
        }
        .error_response();
        assert_eq!(response.status().as_u16(), 429);
        assert_eq!(
            response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()),
            Some("7")
        );
        let (_, _, body) = render(ApiError::RateLimited {
            retry_after_secs: 7,
        });
        assert!(
            body.contains(r#""code":"rate_limited""#) && body.contains(r#""retry_after":7"#),
            "{body}"
        );
    }

    #[test]
    fn a_database_outage_under_any_wrapper_is_a_503_with_retry_after() {
        use deskbind_core::db::DbError;
        use deskbind_core::db::breaker::Unavailable;
        let outage = || {
            DbError::Unavailable(Unavailable {
                retry_after: std::time::Duration::from_millis(300),
                reason: "connection refused".into(),
            })
        };
        let wrapped = [
            ApiError::from(outage()),
            ApiError::from(RepoError::Db(outage())),
            ApiError::from(RepoError::from(outage())),
        ];
        for err in wrapped {
            let response = err.error_response();
            assert_eq!(response.status().as_u16(), 503);
            assert_eq!(
                response
                    .headers()
                    .get(header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok()),
                Some("1")
            );
        }
    }

    #[test]
    fn status_table_is_explicit() {
        let table: Vec<(ApiError, u16, &str)> = vec![
            (ApiError::MalformedJson("x".into()), 400, "malformed_json"),
            (
                ApiError::InvalidQuery {
                    field: "limit".into(),
                    detail: "x".into(),
                },
                400,
                "invalid_query",
            ),
            (
                ApiError::BadRequest {
                    code: ErrorCode::InvalidProvisioningCode,
                    detail: "x".into(),
                },
                400,
                "invalid_provisioning_code",
            ),
            (
                ApiError::Unauthorized {
                    code: ErrorCode::InvalidToken,
                },
                401,
                "invalid_token",
            ),
            (ApiError::forbidden(), 403, "forbidden"),
            (
                ApiError::Denied {
                    code: ErrorCode::NotGranted,
                    detail: "x".into(),
                },
                403,
                "not_granted",
            ),
            (ApiError::NotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (
                ApiError::Conflict {
                    code: ErrorCode::EmailTaken,
                    detail: "x".into(),
                },
                409,
                "email_taken",
            ),
            (
                ApiError::PayloadTooLarge { limit: 1 },
                413,
                "payload_too_large",
            ),
            (
                ApiError::UnsupportedMediaType,
                415,
                "unsupported_media_type",
            ),
            (
                ApiError::Validation {
                    code: ErrorCode::MissingField,
                    field: "f".into(),
                    detail: "x".into(),
                },
                422,
                "missing_field",
            ),
            (
                ApiError::RateLimited {
                    retry_after_secs: 1,
                },
                429,
                "rate_limited",
            ),
            (ApiError::internal(anyhow::anyhow!("x")), 500, "internal"),
            (ApiError::Unavailable("db".into()), 503, "unavailable"),
            (
                ApiError::DatabaseUnavailable {
                    retry_after_secs: 1,
                },
                503,
                "unavailable",
            ),
        ];
        for (err, status, code) in table {
            assert_eq!(
                (err.status_code().as_u16(), err.code().as_str()),
                (status, code)
            );
        }
    }
}
