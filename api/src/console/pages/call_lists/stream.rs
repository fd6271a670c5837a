//! `GET /call-lists/{id}/events`: the list page's report as server-sent
//! events, the live board's mechanism (pages/live/stream.rs): each
//! `board` event's data is the re-rendered report fragment, which
//! api/assets/live.js puts in place. It wakes on the organisation's relay
//! wake (dials moving, which settle attempts, and the list pages' own
//! imports, moves and reassignments, on any node) and on a tick, because
//! leases and skips from the app publish no wake. Each read re-checks the
//! console session and the list (signed out, no longer a manager, or the
//! list out of reach: an `end` event, then the stream closes). The
//! streams count against the live board's per-person limit.

use std::collections::VecDeque;
use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::auth::secrets;
use deskbind_core::ids::CallListId;
use deskbind_core::relay::OrgWatch;
use deskbind_core::repo::console_sessions;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::call_lists::Manager;
use deskbind_core::wire::Role;
use tokio::time::Instant;

use super::manager;
use super::report::{self, ReportFragment};
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::pages::live::limit::{self, Permit};
use crate::console::pages::live::stream::encode;
use crate::console::session::{ConsoleUser, SESSION_COOKIE};
use crate::error::ApiError;
use crate::extract::path_id;
use crate::state::AppState;

/// The fallback re-read: leases and skips change counts without a wake.
const TICK: Duration = Duration::from_secs(5);
/// A keep-alive comment at least this often keeps proxies from closing.
const KEEPALIVE: Duration = Duration::from_secs(15);
/// Wakes closer together than this are answered by one read.
const MIN_GAP: Duration = Duration::from_millis(500);

pub async fn events(
    state: web::Data<AppState>,
    req: HttpRequest,
    user: ConsoleUser,
    id: web::Path<String>,
) -> ConsoleResult<HttpResponse> {
    let by = manager(&user)?;
    let id: CallListId = path_id(&id)?;
    // Another organisation's list is 404 here too, before any stream.
    deskbind_core::usecases::call_lists::get(&state.services(), by, id).await?;
    let token_hash = req
        .cookie(SESSION_COOKIE)
        .map(|c| secrets::hash_secret(c.value()))
        .ok_or_else(ConsoleError::forbidden)?;
    let permit = limit::acquire(user.auth.user_id);
    // Watch before the first read: a change committed in between wakes us.
    let watch = state.relay.watch_org(by.org);
    let stream = ReportStream {
        state,
        token_hash,
        by,
        list: id,
        zone: user.time_zone,
        watch,
        out: VecDeque::from([Bytes::from_static(b"retry: 3000\n\n")]),
        last: String::new(),
        fresh: true,
        ended: false,
        last_read: Instant::now(),
        last_sent: Instant::now(),
        permit,
    };
    let body = futures_util::stream::unfold(stream, |mut s| async move {
        let chunk = s.next_chunk().await?;
        Some((Ok::<_, actix_web::Error>(chunk), s))
    });
    Ok(crate::sse::response(body))
}

struct ReportStream {
    state: web::Data<AppState>,
    /// The cookie's hash: the session is looked up again on every read.
    token_hash: String,
    by: Manager,
    list: CallListId,
    zone: String,
    watch: OrgWatch,
    out: VecDeque<Bytes>,
    /// The last fragment sent: an unchanged report is not sent again.
    last: String,
    fresh: bool,
    ended: bool,
    last_read: Instant,
    last_sent: Instant,
    permit: Permit,
}

impl ReportStream {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        loop {
            if let Some(chunk) = self.out.pop_front() {
                self.last_sent = Instant::now();
                return Some(chunk);
            }
            if self.ended {
                return None;
            }
            if !std::mem::take(&mut self.fresh) {
                tokio::select! {
                    () = self.watch.changed() => {
                        tokio::time::sleep_until(self.last_read + MIN_GAP).await;
                    }
                    () = tokio::time::sleep(TICK) => {}
                    () = self.permit.evicted.cancelled() => {
                        self.end("replaced: this page is open in too many tabs");
                        continue;
                    }
                }
            }
            self.last_read = Instant::now();
            self.read().await;
            if self.out.is_empty() && self.last_sent.elapsed() >= KEEPALIVE {
                self.out.push_back(Bytes::from_static(b": keep-alive\n\n"));
            }
        }
    }

    fn end(&mut self, why: &str) {
        self.out
            .push_back(Bytes::from(format!("event: end\ndata: {why}\n\n")));
        self.ended = true;
    }

    /// Re-checks the session and the list, then queues the report if it
    /// changed.
    async fn read(&mut self) {
        match self.role_now().await {
            // An admin made a manager sees only their own lists from now on.
            Ok(Some(role)) => self.by.role = role,
            Ok(None) => return self.end("signed-out: the session ended"),
            // A database hiccup is not a sign-out: try again next time.
            Err(e) => {
                tracing::warn!(error = %e, "call-list report stream cannot check its session")
            }
        }
        let read = report::load(&self.state, self.by, self.list, &self.zone).await;
        match read.and_then(|r| Ok(ReportFragment { report: &r }.render()?)) {
            Ok(html) if html != self.last => {
                self.out.push_back(encode("board", &html));
                self.last = html;
            }
            Ok(_) => {}
            Err(ConsoleError::Api(ApiError::NotFound)) => {
                self.end("signed-out: the list is no longer yours to follow");
            }
            Err(e) => tracing::warn!(error = ?e, "call-list report read failed"),
        }
    }

    /// The user's role while the session is live and they are still a
    /// manager or admin; `None` otherwise.
    async fn role_now(&self) -> Result<Option<Role>, ApiError> {
        let hash = self.token_hash.clone();
        let principal = self
            .state
            .db
            .run(move |conn| console_sessions::principal(conn, &hash, now_micros()))
            .await?;
        Ok(principal.and_then(|p| {
            let role = Role::parse(&p.role)?;
            let same = p.user_id == self.by.user && p.org_id == self.by.org;
            (same && matches!(role, Role::Admin | Role::Manager)).then_some(role)
        }))
    }
}
