//! Prometheus metrics: a process-wide recorder, and a middleware that counts
//! requests and times them by method, route pattern and status. Every label
//! has a bounded set of values: unknown routes are `unmatched`, unknown
//! methods `OTHER`.

use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage as _};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_actix_web::RequestId;

/// The recorder can be installed once per process; every app built in it
/// (tests build many) shares this handle.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!(
                "a metrics recorder was already installed; /metrics shows only what it records"
            );
        }
        handle
    })
}

/// The `method` label: one of RFC 9110's methods (and PATCH), or `OTHER`,
/// so that made-up method tokens cannot add series without bound.
pub fn method_label(method: &Method) -> String {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::HEAD,
        Method::POST,
        Method::PUT,
        Method::DELETE,
        Method::CONNECT,
        Method::OPTIONS,
        Method::TRACE,
        Method::PATCH,
    ];
    if KNOWN.contains(method) {
        method.as_str().to_owned()
    } else {
        "OTHER".to_owned()
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = method_label(req.method());
    let request_id = req.extensions().get::<RequestId>().map(|id| id.to_string());
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "method" => method.clone(), "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "method" => method, "route" => route)
        .record(started.elapsed().as_secs_f64());
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID.clone(), id);
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_up_methods_share_one_label() {
        assert_eq!(method_label(&Method::PATCH), "PATCH");
        for token in ["M1", "get", "PROPFIND", "X-ANYTHING"] {
            let method = Method::from_bytes(token.as_bytes()).unwrap();
            assert_eq!(method_label(&method), "OTHER");
        }
    }
}
