//! CSRF protection for every console state change. Two checks, both must
//! pass: the request's `Origin` (or, without one, `Referer`) is this
//! server, and the form carries this session's synchronizer token in its
//! `_csrf` field (or the `X-CSRF-Token` header, for script-sent requests),
//! compared in constant time. The session cookie is also SameSite=Lax.
//! [`ConsoleForm`] does both before the handler runs, so no handler can
//! forget.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::StreamExt as _;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ConsoleError;
use super::session::ConsoleUser;
use crate::error::ApiError;

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "_csrf";
/// The header a script may carry it in instead.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The largest console form accepted.
pub const MAX_FORM_BYTES: usize = 64 * 1024;
/// The largest import form (a CSV file of up to 1,000 rows pasted or read
/// into a text field; urlencoding can triple its size).
pub const IMPORT_FORM_BYTES: usize = 6 * 1024 * 1024;

/// Whether the request says it came from a page of this server. A request
/// with neither `Origin` nor `Referer` passes (some privacy settings strip
/// both); the token check still applies.
pub fn same_origin(req: &HttpRequest) -> bool {
    let info = req.connection_info();
    let host = info.host();
    let claimed = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match claimed {
        None => true,
        Some(origin) => {
            let rest = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            match rest {
                Some(rest) => rest.split('/').next() == Some(host),
                None => false,
            }
        }
    }
}

/// Constant-time equality, so the token cannot be guessed byte by byte.
pub fn tokens_match(expected: &str, presented: &str) -> bool {
    let (a, b) = (expected.as_bytes(), presented.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A signed-in user's urlencoded form whose CSRF checks passed, of at
/// most `LIMIT` bytes.
#[derive(Debug)]
pub struct ConsoleForm<T, const LIMIT: usize = MAX_FORM_BYTES> {
    pub user: ConsoleUser,
    pub form: T,
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for ConsoleForm<T, LIMIT> {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = ConsoleUser::from_request(req, payload);
        let body = web::Payload::from_request(req, payload);
        let origin_ok = same_origin(req);
        let header_token = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let too_large = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .is_some_and(|n| n > LIMIT);
        Box::pin(async move {
            let user = user.await?;
            if too_large {
                return Err(ApiError::PayloadTooLarge { limit: LIMIT }.into());
            }
            let body = body
                .await
                .map_err(|_| ApiError::PayloadTooLarge { limit: LIMIT })?;
            let body = read_limited(body, LIMIT).await?;
            let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&body)
                .map_err(|_| ConsoleError::invalid("form", "not a urlencoded form"))?;
            let presented = pairs
                .iter()
                .find(|(k, _)| k == CSRF_FIELD)
                .map(|(_, v)| v.clone())
                .or(header_token)
                .unwrap_or_default();
            if !origin_ok || !tokens_match(&user.csrf_token, &presented) {
                tracing::warn!(user = %user.auth.user_id, origin_ok, "console form refused: CSRF check failed");
                return Err(ConsoleError::CsrfRejected);
            }
            let form = serde_urlencoded::from_bytes::<T>(&body)
                .map_err(|e| ConsoleError::invalid("form", e.to_string()))?;
            Ok(ConsoleForm { user, form })
        })
    }
}

/// The body, refused once it passes `limit` bytes (a body without a
/// `Content-Length` is cut off there too).
async fn read_limited(mut body: web::Payload, limit: usize) -> Result<web::BytesMut, ApiError> {
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|_| ApiError::PayloadTooLarge { limit })?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::tokens_match;

    #[test]
    fn tokens_match_only_when_equal_and_not_empty() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "ab"));
        assert!(!tokens_match("", ""));
    }
}
