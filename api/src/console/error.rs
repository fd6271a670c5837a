//! The console's error: an [`ApiError`] (same codes and statuses as the
//! JSON API) rendered as an HTML page, plus the two outcomes only a browser
//! has: "sign in first" (a redirect to the sign-in page that comes back
//! here) and a refused CSRF check.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use deskbind_core::repo::RepoError;
use deskbind_core::wire::ErrorCode;

use crate::error::ApiError;

#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No live console session: go to the sign-in page, then to `next`.
    #[error("sign in required")]
    SignInRequired { next: String },
    /// A state change without this session's CSRF token (or from another
    /// origin).
    #[error("CSRF check failed")]
    CsrfRejected,
    #[error(transparent)]
    Api(#[from] ApiError),
}

pub type ConsoleResult<T> = Result<T, ConsoleError>;

impl From<RepoError> for ConsoleError {
    fn from(e: RepoError) -> Self {
        Self::Api(e.into())
    }
}

impl From<askama::Error> for ConsoleError {
    fn from(e: askama::Error) -> Self {
        Self::Api(ApiError::internal(e))
    }
}

impl ConsoleError {
    pub fn not_found() -> Self {
        Self::Api(ApiError::NotFound)
    }

    pub fn forbidden() -> Self {
        Self::Api(ApiError::forbidden())
    }

    /// A form or query value the page cannot use; the page says which.
    pub fn invalid(field: &str, detail: impl Into<String>) -> Self {
        Self::Api(ApiError::InvalidQuery {
            field: field.into(),
            detail: detail.into(),
        })
    }
}

/// The page every console error renders as.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    detail: Option<String>,
    code: &'a str,
}

impl std::fmt::Debug for ErrorPage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ErrorPage({})", self.status)
    }
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignInRequired { .. } => StatusCode::SEE_OTHER,
            Self::CsrfRejected => StatusCode::FORBIDDEN,
            Self::Api(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (status, title, detail, code) = match self {
            Self::SignInRequired { next } => {
                let to = format!(
                    "/sign-in?next={}",
                    url_escape(next.as_str())
                );
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, to))
                    .finish();
            }
            Self::CsrfRejected => (
                403,
                "This form has expired",
                Some(
                    "The page was open too long or came from elsewhere. Go back, reload it and try again."
                        .to_owned(),
                ),
                ErrorCode::CsrfFailed.as_str(),
            ),
            // Byte ranges and rate limits carry headers the browser acts on.
            Self::Api(e @ (ApiError::RangeNotSatisfiable { .. } | ApiError::RateLimited { .. })) => {
                return e.error_response();
            }
            Self::Api(e) => {
                if let ApiError::Internal(cause) = e {
                    tracing::error!(error = ?cause, "console request failed");
                }
                let problem = e.problem();
                let title = match e {
                    ApiError::NotFound => "Not found",
                    ApiError::Forbidden { .. } => "Not allowed",
                    _ => "Something went wrong",
                };
                (problem.status, title, problem.detail, e.code().as_str())
            }
        };
        let page = ErrorPage {
            status,
            title,
            detail,
            code,
        };
        let body = page
            .render()
            .unwrap_or_else(|_| format!("<!doctype html><title>{status}</title><p>{status}</p>"));
        HttpResponse::build(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        )
        .content_type("text/html; charset=utf-8")
        .body(body)
    }
}

/// Percent-escapes a path for a query value.
pub fn url_escape(raw: &str) -> String {
    serde_urlencoded::to_string([("", raw)])
        .map(|s| s.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}
