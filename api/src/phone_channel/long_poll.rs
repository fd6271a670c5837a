//! The long-poll fallback for phones that cannot hold a WebSocket:
//! `GET /v1/phone/commands?wait=25` answers at once with pending commands,
//! or waits up to `wait` seconds for the next frame; `POST /v1/phone/events`
//! takes what the phone would have sent on the socket. While a poll waits
//! it is the phone's live connection (a newer socket or poll replaces it).
//! Frames other than dials (hangup, binding) reach only a waiting poll;
//! dials are never lost, since they are re-read from the database, and the
//! answer to a posted event (a hangup for an ack of a command that expired
//! or was cancelled) comes back in its result. When the node drains, a
//! waiting poll is answered with a `reconnect` frame and new polls with
//! 503 `node_draining`.

use deskbind_core::wire::ErrorCode;
use std::time::Duration;

use actix_web::web;
use deskbind_core::ids::PhoneId;
use deskbind_core::relay::Relay;
use deskbind_core::wire::{
    Frame, PROTOCOL_VERSION, PhoneCommands, PhoneEventResult, PhoneEventResults, PhoneEvents,
    ServerFrame,
};
use serde::Deserialize;

use super::frames::{self, Sender};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, Json, Query};
use crate::state::AppState;

pub const MAX_WAIT_SECS: u64 = 30;
pub const DEFAULT_WAIT_SECS: u64 = 25;
pub const MAX_EVENTS: usize = 100;

#[derive(Debug, Deserialize)]
pub struct WaitQuery {
    wait: Option<String>,
}

fn wait_param(raw: Option<&str>) -> ApiResult<Duration> {
    let secs = match raw.filter(|r| !r.is_empty()) {
        None => DEFAULT_WAIT_SECS,
        Some(raw) => raw
            .parse::<u64>()
            .ok()
            .filter(|s| *s <= MAX_WAIT_SECS)
            .ok_or_else(|| ApiError::InvalidQuery {
                field: "wait".into(),
                detail: format!("must be a whole number of seconds from 0 to {MAX_WAIT_SECS}"),
            })?,
    };
    Ok(Duration::from_secs(secs))
}

pub async fn commands(
    state: web::Data<AppState>,
    phone: AuthPhone,
    Query(query): Query<WaitQuery>,
) -> ApiResult<web::Json<PhoneCommands>> {
    let wait = wait_param(query.wait.as_deref())?;
    if state.drain.is_draining() {
        return Err(ApiError::NodeDraining);
    }
    let mut attachment = state.relay.attach_phone(phone.phone_id).await;
    // Detaches even when the client goes away mid-wait (actix drops this
    // future): the hub slot and the presence key must not outlive the poll.
    let _guard = Detach {
        relay: state.relay.clone(),
        phone: phone.phone_id,
        conn: attachment.conn,
    };
    let pending = super::pending_frames(&state, phone.phone_id).await;
    let frames = match pending {
        Ok(pending) if !pending.is_empty() => Ok(pending),
        Ok(_) => {
            let mut frames = Vec::new();
            tokio::select! {
                frame = attachment.frames.recv() => {
                    frames.extend(frame.map(|f| *f));
                    while let Ok(more) = attachment.frames.try_recv() {
                        frames.push(*more);
                    }
                }
                // Replaced or revoked: answer now, empty.
                _ = attachment.close.changed() => {}
                // The node is stopping: poll again after the delay, which
                // a load balancer sends to another node.
                () = state.drain.started() => {
                    let after_ms = u64::try_from(state.drain.reconnect_delay().as_millis())
                        .unwrap_or(u64::MAX);
                    frames.push(ServerFrame::Reconnect { after_ms });
                }
                () = tokio::time::sleep(wait) => {}
            }
            Ok(frames)
        }
        Err(e) => Err(e),
    };
    state
        .relay
        .detach_phone(phone.phone_id, attachment.conn)
        .await;
    Ok(web::Json(PhoneCommands {
        items: frames?.into_iter().map(Frame::new).collect(),
    }))
}

struct Detach {
    relay: Relay,
    phone: PhoneId,
    conn: u64,
}

impl Drop for Detach {
    fn drop(&mut self) {
        let (relay, phone, conn) = (self.relay.clone(), self.phone, self.conn);
        // Detaching withdraws the Redis presence (async), so it runs as a
        // task; it only removes this poll's own slot and key.
        actix_web::rt::spawn(async move { relay.detach_phone(phone, conn).await });
    }
}

/// Handles each event in order; one refused event does not stop the rest.
/// Every event counts against the phone's `phone_event_rate_per_minute`
/// (shared with its socket): a batch beyond it is refused whole, 429.
pub async fn events(
    state: web::Data<AppState>,
    phone: AuthPhone,
    Json(body): Json<PhoneEvents>,
) -> ApiResult<web::Json<PhoneEventResults>> {
    if body.events.len() > MAX_EVENTS {
        return Err(ApiError::Validation {
            code: ErrorCode::TooManyEvents,
            field: "events".into(),
            detail: format!("send at most {MAX_EVENTS} events per request"),
        });
    }
    state
        .limits
        .phone_events(&phone.phone_id.to_string(), body.events.len())?;
    if let Some(i) = body.events.iter().position(|e| e.v != PROTOCOL_VERSION) {
        return Err(ApiError::Validation {
            code: ErrorCode::UnsupportedVersion,
            field: format!("events[{i}].v"),
            detail: format!("this server speaks protocol version {PROTOCOL_VERSION}"),
        });
    }
    let from = Sender {
        phone: phone.phone_id,
        org: phone.org_id,
    };
    let mut results = Vec::with_capacity(body.events.len());
    for event in body.events {
        results.push(match frames::handle(&state, from, event.body).await {
            Ok(reply) => PhoneEventResult {
                error: None,
                reply: reply.map(Frame::new),
            },
            Err(error) => PhoneEventResult {
                error: Some(error),
                reply: None,
            },
        });
    }
    Ok(web::Json(PhoneEventResults { results }))
}
