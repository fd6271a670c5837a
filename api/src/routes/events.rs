//! `GET /v1/events`: the user's live stream as server-sent events. Each
//! event's `id` is its sequence number; a client that reconnects with
//! `Last-Event-ID` (or `?after=`) gets everything after it, because events
//! are read from the user's event log, not from the relay: a wake only
//! says "read again". Without a cursor the stream starts at the present
//! with a `resync` event (fetch current state, then follow the stream).

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::ids::{SessionId, UserId};
use deskbind_core::relay::{StreamLease, UserWatch};
use deskbind_core::repo::{app_events, users};
use deskbind_core::wire::{AppEvent, SequencedEvent};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// A comment line this often keeps proxies from closing an idle stream,
/// detects a gone client, and re-reads the log (a lost wake costs at most
/// this long).
pub const KEEPALIVE: Duration = Duration::from_secs(15);
const BATCH: i64 = 200;

#[derive(Debug, Deserialize)]
pub struct StreamQuery {
    after: Option<String>,
}

fn cursor(req: &HttpRequest, query: &StreamQuery) -> ApiResult<Option<i64>> {
    let (field, raw) = match req.headers().get("Last-Event-ID") {
        Some(value) => ("Last-Event-ID", value.to_str().ok().map(str::to_owned)),
        None => ("after", query.after.clone()),
    };
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidQuery {
                field: field.into(),
                detail: "must be the id of an event this stream sent".into(),
            }),
    }
}

pub async fn stream(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    Query(query): Query<StreamQuery>,
) -> ApiResult<HttpResponse> {
    let after = cursor(&req, &query)?;
    // Watch before the first read: a change committed in between wakes us.
    let watch = state.relay.watch_user(auth.user_id);
    // The app counts as connected (no screen-pop push) while this lives.
    let lease = state.relay.app_streams().open(auth.user_id).await;
    let mut out = VecDeque::from([Bytes::from_static(b"retry: 2000\n\n")]);
    // Resume exactly where the client was, or (no cursor, or one that
    // cannot be served exactly) start now with a `resync`.
    let user = auth.user_id.to_string();
    let (after, resync) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            match after {
                Some(after) if !app_events::resume_gap(conn, after)? => Ok((after, false)),
                _ => Ok((app_events::latest(conn, &user)?, true)),
            }
        })
        .await?;
    if resync {
        out.push_back(encode(&SequencedEvent {
            seq: after,
            event: AppEvent::Resync,
        })?);
    }
    let stream = EventStream {
        state,
        session: (auth.session_id, auth.user_id),
        user: auth.user_id.to_string(),
        after,
        watch,
        lease,
        out,
        fresh: true,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/event-stream"))
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        // Not compressed: a compressor would hold events back.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(body))
}

struct EventStream {
    state: actix_web::web::Data<AppState>,
    /// Re-checked at every keep-alive: a logout, a disabled user or a
    /// revoked session ends the stream (the client must authenticate again).
    session: (SessionId, UserId),
    user: String,
    after: i64,
    watch: UserWatch,
    /// Renewed at every keep-alive (the presence TTL is longer), released
    /// when the client goes.
    lease: StreamLease,
    out: VecDeque<Bytes>,
    /// Read the log before waiting (the first time, and after a full batch).
    fresh: bool,
}

impl EventStream {
    /// The next chunk, or `None` when the session ended.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                return Some(chunk);
            }
            if !std::mem::take(&mut self.fresh) {
                tokio::select! {
                    () = self.watch.changed() => {}
                    () = tokio::time::sleep(KEEPALIVE) => {
                        if !self.session_live().await {
                            return None;
                        }
                        self.lease.renew().await;
                        self.out.push_back(Bytes::from_static(b": keep-alive\n\n"));
                    }
                }
            }
            if let Err(e) = self.read().await {
                // The client reconnects with its cursor; nothing is lost.
                tracing::warn!(error = %e, "event stream read failed");
            }
        }
    }

    async fn session_live(&self) -> bool {
        let (session, user) = self.session;
        self.state
            .db
            .run(move |conn| users::principal(conn, session, user).map_err(ApiError::from))
            .await
            // A database hiccup is not a logout.
            .map_or(true, |principal| principal.is_some())
    }

    async fn read(&mut self) -> Result<(), ApiError> {
        let user = self.user.clone();
        let after = self.after;
        let events = self
            .state
            .db
            .run(move |conn| app_events::after(conn, &user, after, BATCH).map_err(ApiError::from))
            .await?;
        self.fresh = events.len() as i64 == BATCH;
        for event in &events {
            self.after = event.seq;
            self.out.push_back(encode(event)?);
        }
        Ok(())
    }
}

/// One SSE event: `id`, `event` (the type) and the JSON `data`.
fn encode(event: &SequencedEvent) -> Result<Bytes, ApiError> {
    let data = serde_json::to_string(&event.event).map_err(ApiError::internal)?;
    Ok(Bytes::from(format!(
        "id: {}\nevent: {}\ndata: {data}\n\n",
        event.seq,
        event.event.kind()
    )))
}
