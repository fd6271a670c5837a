//! The relay's LAN side: the phones call their Action URLs here
//! (`GET /phones/{phone id}/events?event=…`), the URL deskbind's
//! vendor-config hands out in relay mode. Only the phone's own configured
//! address is heard for it, and its MAC when one is configured; the phone
//! is answered once the event is on disk. `GET /status` shows each phone's
//! link, last event and last error, to the relay's own host only.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use deskbind_core::ids::PhoneId;
use deskbind_core::vendor::VendorEvent;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::agent::PhoneEventMsg;
use crate::config::PhoneConfig;
use crate::status::SharedStatus;

/// The longest request line the relay reads (an Action URL is short).
const MAX_TARGET: usize = 2048;
/// Connections open at once, at most (phones open one per event).
pub const MAX_CONNECTIONS: usize = 256;
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection's whole life, event stored and answered included.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(20);
/// How long an event may wait to be stored before the phone gets 503.
const STORE_TIMEOUT: Duration = Duration::from_secs(10);
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// Where one phone's events go.
#[derive(Debug, Clone)]
pub struct PhoneRoute {
    pub config: Arc<PhoneConfig>,
    pub events: mpsc::Sender<PhoneEventMsg>,
}

#[derive(Debug, Clone)]
pub struct Lan {
    pub phones: Arc<HashMap<PhoneId, PhoneRoute>>,
    pub statuses: Arc<Vec<SharedStatus>>,
    /// Limits the connections open at once ([`MAX_CONNECTIONS`]).
    pub connections: Arc<Semaphore>,
}

impl Lan {
    /// Serves `listener` until `shutdown` turns true.
    pub async fn serve(self, listener: TcpListener, mut shutdown: watch::Receiver<bool>) {
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                _ = shutdown.changed() => return,
            };
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors, usually: retrying at once would spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(ACCEPT_PAUSE).await;
                    continue;
                }
            };
            let Ok(permit) = self.connections.clone().try_acquire_owned() else {
                // Too many open: the phone's next event opens a new one.
                continue;
            };
            let lan = self.clone();
            let service = service_fn(move |req| {
                let lan = lan.clone();
                async move { Ok::<_, Infallible>(lan.handle(req, peer).await) }
            });
            tokio::spawn(async move {
                let connection = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEADER_READ_TIMEOUT)
                    // Phones send one GET per event; nothing is kept open.
                    .keep_alive(false)
                    .max_buf_size(16 * 1024)
                    .serve_connection(TokioIo::new(stream), service);
                let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
                drop(permit);
            });
        }
    }

    async fn handle(
        &self,
        req: Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        if req.method() != Method::GET {
            return text(StatusCode::METHOD_NOT_ALLOWED, "only GET\n");
        }
        let path = req.uri().path();
        if path == "/status" {
            return self.status(peer);
        }
        let Some(id) = path
            .strip_prefix("/phones/")
            .and_then(|rest| rest.strip_suffix("/events"))
        else {
            return text(StatusCode::NOT_FOUND, "not found\n");
        };
        let query = req.uri().query().unwrap_or("");
        if query.len() > MAX_TARGET {
            return text(StatusCode::URI_TOO_LONG, "too long\n");
        }
        let Some(route) = id
            .parse::<PhoneId>()
            .ok()
            .and_then(|id| self.phones.get(&id))
        else {
            return text(StatusCode::NOT_FOUND, "no such phone on this relay\n");
        };
        if peer.ip().to_canonical() != route.config.address.ip().to_canonical() {
            tracing::warn!(phone = %route.config.name, %peer, "event from an address that is not the phone's: ignored");
            return text(StatusCode::FORBIDDEN, "not this phone's address\n");
        }
        let event = match VendorEvent::from_raw_query(query) {
            Ok(event) => event,
            Err(e) => {
                tracing::warn!(phone = %route.config.name, error = ?e, "event not understood");
                return text(StatusCode::BAD_REQUEST, "event not understood\n");
            }
        };
        if let Some(mac) = &route.config.mac
            && event.mac.as_deref() != Some(mac.as_str())
        {
            tracing::warn!(phone = %route.config.name, "event with another MAC: ignored");
            return text(StatusCode::FORBIDDEN, "not this phone's MAC\n");
        }
        let (reply, saved) = oneshot::channel();
        if route
            .events
            .try_send(PhoneEventMsg { event, reply })
            .is_err()
        {
            return text(StatusCode::SERVICE_UNAVAILABLE, "busy\n");
        }
        match tokio::time::timeout(STORE_TIMEOUT, saved).await {
            Ok(Ok(true)) => text(StatusCode::OK, "OK\n"),
            _ => text(StatusCode::SERVICE_UNAVAILABLE, "not stored\n"),
        }
    }

    fn status(&self, peer: SocketAddr) -> Response<Full<Bytes>> {
        if !peer.ip().is_loopback() {
            return text(StatusCode::FORBIDDEN, "only from the relay's host\n");
        }
        let phones: Vec<_> = self.statuses.iter().map(SharedStatus::snapshot).collect();
        let body =
            serde_json::to_vec_pretty(&serde_json::json!({ "phones": phones })).unwrap_or_default();
        let mut response = Response::new(Full::new(Bytes::from(body)));
        response.headers_mut().insert(
            hyper::header::CONTENT_TYPE,
            hyper::header::HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn text(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}
