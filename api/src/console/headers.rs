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

/// The policy pages are served with, built once at start: with recordings
/// on S3 the player follows a redirect to the bucket, so its origin (the
/// configured endpoint, or AWS's) is allowed as a media source too.
#[derive(Debug, Clone)]
pub struct ConsolePolicy(pub HeaderValue);

impl ConsolePolicy {
    pub fn for_settings(settings: &deskbind_core::config::Settings) -> Self {
        let media = match (&settings.s3_bucket, &settings.s3_endpoint) {
            (None, _) => None,
            (Some(_), Some(endpoint)) => Some(origin_of(endpoint)),
            (Some(_), None) => Some("https://*.amazonaws.com".to_owned()),
        };
        let policy = match media {
            Some(origin) if !origin.is_empty() => CONSOLE_CSP.replacen(
                "media-src 'self' blob:",
                &format!("media-src 'self' blob: {origin}"),
                1,
            ),
            _ => CONSOLE_CSP.to_owned(),
        };
        Self(
            HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static(CONSOLE_CSP)),
        )
    }
}

/// `scheme://host[:port]` of a URL; empty when it has none a policy can name.
fn origin_of(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return String::new();
    };
    if !matches!(scheme, "http" | "https") {
        return String::new();
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty()
        || host
            .chars()
            .any(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']')))
    {
        return String::new();
    }
    format!("{scheme}://{host}")
}
/// For everything else (JSON, CSV, audio): nothing may run or be framed.
pub const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

pub async fn add_security_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let policy = req
        .app_data::<actix_web::web::Data<ConsolePolicy>>()
        .map(|p| p.0.clone())
        .unwrap_or_else(|| HeaderValue::from_static(CONSOLE_CSP));
    let mut res = next.call(req).await?;
    let html = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"));
    let headers = res.headers_mut();
    let csp = if html {
        policy
    } else {
        HeaderValue::from_static(API_CSP)
    };
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
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

#[cfg(test)]
mod tests {
    use super::*;
    use deskbind_core::config::Settings;

    #[test]
    fn the_bucket_origin_is_a_media_source_only_with_s3() {
        let local = ConsolePolicy::for_settings(&Settings::default());
        assert_eq!(local.0.to_str().unwrap(), CONSOLE_CSP);
        let s3 = ConsolePolicy::for_settings(&Settings {
            s3_bucket: Some("recordings".into()),
            s3_endpoint: Some("http://127.0.0.1:9000/path".into()),
            ..Settings::default()
        });
        assert!(
            s3.0.to_str()
                .unwrap()
                .contains("media-src 'self' blob: http://127.0.0.1:9000;")
        );
        let aws = ConsolePolicy::for_settings(&Settings {
            s3_bucket: Some("recordings".into()),
            ..Settings::default()
        });
        assert!(aws.0.to_str().unwrap().contains("https://*.amazonaws.com;"));
    }

    #[test]
    fn an_endpoint_that_is_not_a_plain_origin_adds_nothing() {
        assert_eq!(origin_of("http://a b;script-src *"), "");
        assert_eq!(origin_of("no-scheme"), "");
        assert_eq!(origin_of("x; script-src *://h"), "");
        assert_eq!(
            origin_of("https://s3.example:443/x?y"),
            "https://s3.example:443"
        );
    }
}
