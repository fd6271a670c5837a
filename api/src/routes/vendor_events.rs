//! `GET /v1/vendor-events/{token}`: a vendor phone's Action URL in direct
//! mode (docs/vendor-phones.md). Phones cannot sign or retry, so every
//! request is answered `200 OK` whatever became of it (a token cannot be
//! probed); refusals are logged and counted, never written. A flood is cut
//! per token, and an address sending unknown tokens is blocked before the
//! database (`vendor_event_limits`). Only a failure of the server itself
//! answers 503.

use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::usecases::vendor_events::{self, Outcome, PresentedToken, Refusal};
use deskbind_core::vendor::{TrackerConfig, VendorEvent};

use crate::extract::peer_ip;
use crate::state::AppState;

/// The most query bytes an Action URL may carry.
const MAX_QUERY: usize = 2048;

fn ok() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body("OK\n")
}

fn counted(outcome: &str) {
    metrics::counter!("deskbind_vendor_events_total", "outcome" => outcome.to_owned()).increment(1);
}

pub async fn receive(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> HttpResponse {
    let ip = peer_ip(&req);
    let token = PresentedToken::new(&token);
    let limits = &state.limits.vendor_events;
    if !limits.admit(&ip, &token.hash) {
        counted("rate_limited");
        tracing::debug!(ip, "vendor event rate-limited");
        return ok();
    }
    let query = req.query_string();
    if query.len() > MAX_QUERY {
        counted("malformed");
        return ok();
    }
    let event = match VendorEvent::from_raw_query(query) {
        Ok(event) => event,
        Err(e) => {
            counted("malformed");
            tracing::debug!(ip, error = ?e, "vendor event not understood");
            return ok();
        }
    };
    let kind = event.kind;
    match vendor_events::accept(&state.services(), TrackerConfig::default(), &token, event).await {
        Ok(outcome) => {
            counted(outcome.label());
            let unknown = outcome == Outcome::Refused(Refusal::UnknownToken);
            limits.found(&ip, &token.hash, !unknown);
            match outcome {
                Outcome::Accepted { records } => {
                    tracing::info!(event = %kind, records, "vendor event accepted")
                }
                Outcome::Repeat => tracing::debug!(event = %kind, "vendor event repeated"),
                Outcome::Refused(why) => {
                    tracing::info!(ip, event = %kind, refusal = ?why, "vendor event refused")
                }
            }
        }
        Err(e) => {
            counted("error");
            tracing::error!(error = %e, event = %kind, "vendor event failed");
            return HttpResponse::ServiceUnavailable().finish();
        }
    }
    ok()
}
