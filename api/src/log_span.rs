//! The span every request is logged in: tracing-actix-web's, except for a
//! vendor phone's events, whose path is the phone's only credential
//! (`/v1/vendor-events/{token}`) and whose query names the other party.
//! Their span carries the route, never the target.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage as _};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

const VENDOR_EVENTS: &str = "/v1/vendor-events/";
const VENDOR_EVENTS_ROUTE: &str = "/v1/vendor-events/{token}";

#[derive(Debug)]
pub struct RootSpan;

impl RootSpanBuilder for RootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        if !request.path().starts_with(VENDOR_EVENTS) {
            return DefaultRootSpanBuilder::on_request_start(request);
        }
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let client_ip = request
            .connection_info()
            .realip_remote_addr()
            .unwrap_or("")
            .to_owned();
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = VENDOR_EVENTS_ROUTE,
            http.client_ip = %client_ip,
            http.target = VENDOR_EVENTS_ROUTE,
            http.status_code = Empty,
            otel.name = %format!("{} {VENDOR_EVENTS_ROUTE}", request.method()),
            otel.kind = "server",
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    use actix_web::test::TestRequest;

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map(|mut b| b.extend_from_slice(buf)).ok();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Self;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    /// What a request's span prints with one event inside it.
    fn logged(uri: &str) -> String {
        let logs = Captured::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(logs.clone())
            .with_ansi(false)
            .finish();
        let _guard = tracing::subscriber::set_default(subscriber);
        let request = TestRequest::get().uri(uri).to_srv_request();
        let span = RootSpan::on_request_start(&request);
        span.in_scope(|| tracing::info!("handled"));
        let bytes = logs.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    #[test]
    fn a_vendor_events_token_and_query_never_reach_the_log() {
        let line = logged("/v1/vendor-events/dbv_SECRET?event=incoming&remote=%2B4930123456");
        assert!(line.contains("/v1/vendor-events/{token}"), "{line}");
        assert!(
            !line.contains("SECRET") && !line.contains("4930123456"),
            "{line}"
        );
    }
}
