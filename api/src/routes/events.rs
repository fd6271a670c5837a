//! `GET /v1/events`: the user's live stream as server-sent events. Each
//! event's `id` is its sequence number; a client that reconnects with
//! `Last-Event-ID` (or `?after=`) gets everything after it, because events
//! are read from the user's event log, not from the relay: a wake only
//! says "read again". Without a cursor the stream starts at the present
//! with a `resync` event (fetch current state, then follow the stream).
//!
//! With `?presence=true` the stream also carries `presence` events: live
//! only, without an `id`, for the users the reader may see
//! (docs/presence.md). They come from the relay's presence feed, not the
//! log, so one change costs each stream a channel read, not a query.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::ids::{OrgId, SessionId, TeamId, UserId};
use deskbind_core::relay::{PresenceNote, PresenceSubscription, Received, StreamLease, UserWatch};
use deskbind_core::repo::{app_events, users};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::presence::{self, Reader};
use deskbind_core::wire::{AppEvent, Role, SequencedEvent};
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
    /// Also send `presence` events.
    #[serde(default)]
    presence: bool,
}

/// What a stream that follows presence needs to filter the feed.
struct PresenceFollow {
    feed: PresenceSubscription,
    reader: Reader,
    /// The reader's teams (read when the stream opened).
    teams: Vec<TeamId>,
}

impl PresenceFollow {
    /// The change as this reader may see it, if at all.
    fn visible(&self, note: &PresenceNote) -> Option<AppEvent> {
        let user = note.user();
        let sees = self.reader.role == Role::Admin
            || user == self.reader.user
            || note.teams.iter().any(|t| self.teams.contains(t));
        if !sees {
            return None;
        }
        let mut presence = note.presence.clone();
        if self.reader.hides_status_of(user, note.hide_status_text) {
            presence.status_text = None;
        }
        Some(AppEvent::Presence { presence })
    }
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
    let follow = if query.presence {
        let me = auth.user_id.to_string();
        let teams = state
            .db
            .run(move |conn| {
                users::team_ids_of(conn, std::slice::from_ref(&me)).map_err(ApiError::from)
            })
            .await?
            .into_values()
            .next()
            .unwrap_or_default();
        Some(PresenceFollow {
            feed: state.relay.subscribe_presence(auth.org_id),
            reader: Reader {
                org: auth.org_id,
                user: auth.user_id,
                role: auth.role,
            },
            teams,
        })
    } else {
        None
    };
    // The user's app is connected now (they may have been offline); the
    // stream does not wait for the announcement.
    let services = state.services();
    let (org, me) = (auth.org_id, auth.user_id);
    actix_web::rt::spawn(async move {
        // Opening the app is activity: auto-away counts from here.
        presence::record_activity(&services, org, me, now_micros()).await;
        presence::announce(&services, org, me, now_micros()).await;
    });
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
        org: auth.org_id,
        user: auth.user_id.to_string(),
        after,
        watch,
        lease: Some(lease),
        follow,
        out,
        fresh: true,
        next_keepalive: tokio::time::Instant::now() + KEEPALIVE,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(crate::sse::response(body))
}

struct EventStream {
    state: actix_web::web::Data<AppState>,
    /// Re-checked at every keep-alive: a logout, a disabled user or a
    /// revoked session ends the stream (the client must authenticate again).
    session: (SessionId, UserId),
    org: OrgId,
    user: String,
    after: i64,
    watch: UserWatch,
    /// Renewed at every keep-alive (the presence TTL is longer), released
    /// when the client goes.
    lease: Option<StreamLease>,
    /// Present when the client asked for presence events.
    follow: Option<PresenceFollow>,
    out: VecDeque<Bytes>,
    /// Read the log before waiting (the first time, and after a full batch).
    fresh: bool,
    /// When the next keep-alive is due. One deadline for the stream, not a
    /// timer per wait: presence changes and wakes arriving more often than
    /// the keep-alive must not postpone it (it renews the app's presence
    /// lease and re-checks the session).
    next_keepalive: tokio::time::Instant,
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
                    received = next_presence(self.follow.as_mut()) => {
                        // Live only: no log read, no cursor move.
                        if let Some(chunk) = self.presence_chunk(&received) {
                            self.out.push_back(chunk);
                        }
                        continue;
                    }
                    () = tokio::time::sleep_until(self.next_keepalive) => {
                        self.next_keepalive = tokio::time::Instant::now() + KEEPALIVE;
                        if !self.session_live().await {
                            return None;
                        }
                        if let Some(lease) = &self.lease {
                            lease.renew().await;
                        }
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

    /// An SSE `presence` event without an `id` (the log cursor does not
    /// move): its data a `presence`, or after missed changes a `resync`
    /// (read `GET /v1/presences` again).
    fn presence_chunk(&self, received: &Received) -> Option<Bytes> {
        let event = match received {
            Received::Note(note) => self.follow.as_ref()?.visible(note)?,
            Received::Lagged => AppEvent::Resync,
        };
        match serde_json::to_string(&event) {
            Ok(data) => Some(Bytes::from(format!("event: presence\ndata: {data}\n\n"))),
            Err(e) => {
                tracing::warn!(error = %e, "cannot encode a presence event");
                None
            }
        }
    }

    /// Whether the session may go on. A presence reader's role and teams
    /// are read again too: a demoted user or one who left a team stops
    /// seeing what they no longer may.
    async fn session_live(&mut self) -> bool {
        let (session, user) = self.session;
        let follows = self.follow.is_some();
        let checked = self
            .state
            .db
            .run(move |conn| -> Result<_, ApiError> {
                let Some(row) = users::principal(conn, session, user)? else {
                    return Ok(None);
                };
                let teams = if follows {
                    users::team_ids_of(conn, std::slice::from_ref(&row.id))?
                        .into_values()
                        .next()
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                Ok(Some((row.role().map_err(ApiError::from)?, teams)))
            })
            .await;
        match checked {
            Ok(Some((role, teams))) => {
                if let Some(follow) = self.follow.as_mut() {
                    follow.reader.role = role;
                    follow.teams = teams;
                }
                true
            }
            Ok(None) => false,
            // A database hiccup is not a logout.
            Err(_) => true,
        }
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

/// The next presence change, or never for a stream that does not follow.
async fn next_presence(follow: Option<&mut PresenceFollow>) -> Received {
    match follow {
        Some(follow) => follow.feed.recv().await,
        None => std::future::pending().await,
    }
}

impl Drop for EventStream {
    /// The app may have gone offline: once this node's registration is
    /// gone (in Redis too), the user's presence is announced again.
    fn drop(&mut self) {
        let Some(lease) = self.lease.take() else {
            return;
        };
        let (_, user) = self.session;
        let org = self.org;
        let services = self.state.services();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                lease.release().await;
                presence::announce(&services, org, user, now_micros()).await;
            });
        }
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
