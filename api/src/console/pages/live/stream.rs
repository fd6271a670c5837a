//! `GET /live/events`: the live board as server-sent events. Each `board`
//! event's data is the board fragment's HTML, which api/assets/live.js
//! puts in place. The stream waits on the organisation's relay wake
//! (published after commit by the dial and binding use cases and by phones
//! connecting or leaving, through Redis to every node), on its presence
//! changes (live-only notes, docs/presence.md) and on a keep-alive tick;
//! each time it re-checks the console session (signed out, expired,
//! disabled or no longer a manager: an `end` event, then the stream
//! closes), reads the board, and sends it if it changed. A person has at
//! most `limit::MAX_STREAMS_PER_USER` streams on a node; opening another
//! ends their oldest with an `end` event saying so.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::auth::secrets;
use deskbind_core::relay::{OrgWatch, PresenceSubscription};
use deskbind_core::repo::console_sessions;
use deskbind_core::time::now_micros;
use deskbind_core::wire::Role;
use tokio::time::Instant;

use super::board::{self, Viewer};
use super::limit::{self, Permit};
use super::{BoardFragment, viewer};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::{ConsoleUser, SESSION_COOKIE};
use crate::error::ApiError;
use crate::state::AppState;

/// The fallback re-read (a lost wake costs at most this long), the session
/// re-check, and a comment that keeps proxies from closing an idle stream.
pub const KEEPALIVE: Duration = Duration::from_secs(15);
/// Wakes closer together than this are answered by one read: a burst of
/// changes costs one render per stream.
const MIN_GAP: Duration = Duration::from_millis(200);

pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
) -> ConsoleResult<HttpResponse> {
    let viewer = viewer(&user)?;
    let token_hash = req
        .cookie(SESSION_COOKIE)
        .map(|c| secrets::hash_secret(c.value()))
        .ok_or_else(ConsoleError::forbidden)?;
    let permit = limit::acquire(user.auth.user_id);
    // Watch before the first read: a change committed in between wakes us.
    let watch = state.relay.watch_org(viewer.org);
    let presence = state.relay.subscribe_presence(viewer.org);
    let stream = BoardStream {
        state,
        token_hash,
        viewer,
        watch,
        presence,
        out: VecDeque::from([Bytes::from_static(b"retry: 3000\n\n")]),
        last: String::new(),
        fresh: true,
        ended: false,
        last_read: Instant::now(),
        permit,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(crate::sse::response(body))
}

struct BoardStream {
    state: web::Data<AppState>,
    /// The cookie's hash: the session is looked up again on every read.
    token_hash: String,
    viewer: Viewer,
    watch: OrgWatch,
    /// Presence changes (a person set DND, a line rang) wake it too.
    presence: PresenceSubscription,
    out: VecDeque<Bytes>,
    /// The last board sent: an unchanged board is not sent again.
    last: String,
    /// Read before waiting (the first time).
    fresh: bool,
    ended: bool,
    last_read: Instant,
    /// This stream's place among the user's; ends the stream if a newer
    /// one took it.
    permit: Permit,
}

/// Why a read happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Start,
    Wake,
    Tick,
}

impl BoardStream {
    /// The next chunk, or `None` once the stream has ended.
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                return Some(chunk);
            }
            if self.ended {
                return None;
            }
            let reason = if std::mem::take(&mut self.fresh) {
                Reason::Start
            } else {
                tokio::select! {
                    () = self.watch.changed() => Reason::Wake,
                    _ = self.presence.recv() => Reason::Wake,
                    () = tokio::time::sleep(KEEPALIVE) => Reason::Tick,
                    () = self.permit.evicted.cancelled() => {
                        self.out.push_back(Bytes::from_static(
                            b"event: end\ndata: replaced: this board is open in too many tabs\n\n",
                        ));
                        self.ended = true;
                        continue;
                    }
                }
            };
            if reason == Reason::Wake {
                tokio::time::sleep_until(self.last_read + MIN_GAP).await;
            }
            self.last_read = Instant::now();
            self.read(reason).await;
        }
    }

    /// Re-checks the session, then queues the board if it changed (or a
    /// keep-alive comment on a tick when it did not).
    async fn read(&mut self, reason: Reason) {
        match self.session().await {
            Ok(Some(viewer)) => self.viewer = viewer,
            Ok(None) => {
                self.out.push_back(Bytes::from_static(
                    b"event: end\ndata: signed-out: the session ended\n\n",
                ));
                self.ended = true;
                return;
            }
            // A database hiccup is not a sign-out: try again next time.
            Err(e) => tracing::warn!(error = %e, "live board cannot check its session"),
        }
        match self.render().await {
            Ok(html) if html != self.last => {
                self.out.push_back(encode("board", &html));
                self.last = html;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = ?e, "live board read failed"),
        }
        if reason == Reason::Tick && self.out.is_empty() {
            self.out.push_back(Bytes::from_static(b": keep-alive\n\n"));
        }
    }

    /// The viewer as the session now says, or `None` when the session is
    /// over or may no longer see the board.
    async fn session(&self) -> Result<Option<Viewer>, ApiError> {
        let hash = self.token_hash.clone();
        let principal = self
            .state
            .db
            .run(move |conn| console_sessions::principal(conn, &hash, now_micros()))
            .await?;
        Ok(principal.and_then(|p| {
            let role = Role::parse(&p.role)?;
            let same = p.user_id == self.viewer.user && p.org_id == self.viewer.org;
            (same && matches!(role, Role::Admin | Role::Manager)).then(|| Viewer {
                role,
                time_zone: p.time_zone,
                ..self.viewer.clone()
            })
        }))
    }

    async fn render(&self) -> ConsoleResult<String> {
        let board = board::load(&self.state, &self.viewer).await?;
        Ok(BoardFragment { board: &board }.render()?)
    }
}

/// One SSE event; every line of `data` gets its own `data:` field.
pub(crate) fn encode(event: &str, data: &str) -> Bytes {
    let mut out = format!("event: {event}\n");
    for line in data.lines() {
        out.push_str("data: ");
        out.push_str(line);
        out.push('\n');
    }
    out.push('\n');
    Bytes::from(out)
}

#[cfg(test)]
mod tests {
    use super::encode;

    #[test]
    fn every_line_of_the_data_is_a_data_field() {
        let chunk = encode("board", "<p>a</p>\r\n<p>b</p>");
        assert_eq!(
            &chunk[..],
            b"event: board\ndata: <p>a</p>\ndata: <p>b</p>\n\n"
        );
    }
}
