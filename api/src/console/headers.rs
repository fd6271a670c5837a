//! Security headers. Every response gets `nosniff`, a referrer policy and
//! `frame-ancestors 'none'` (no page of ours may be framed: clickjacking);
//! HTML pages get the console's Content-Security-Policy, which allows no
//! inline script or style, only this origin's assets, and `no-store` so a
//! shared computer's back button shows nothing after sign-out.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;

/// The console's policy: scripts, styles, images, audio and connections
/// only from this origin; forms post only here; no plugins, no framing.
pub const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; font-src 'self'; \
form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// For everything else (JSON, CSV, audio): nothing may run or be framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn add_security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let headers = res.headers_mut();
    let csp = if html { CONSOLE_CSP } else { API_CSP };
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if html {
        headers.insert(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(), microphone=(), geolocation=()"),
        );
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    Ok(res)
}
