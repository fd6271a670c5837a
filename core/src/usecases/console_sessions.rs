//! Browser sessions of the web console. Signing in starts a login session
//! (the same `sessions` row API tokens hang off, so revocation and
//! disabling act on both) and a console session holding the cookie's hash
//! and a CSRF token. Each request resolves the cookie and, at most once a
//! minute, moves the idle deadline; the absolute deadline never moves.
//! Every function takes `now` so the deadlines can be tested without
//! waiting.

use crate::db::Database;
use crate::ids::{OrgId, SessionId, UserId};
use crate::repo::console_sessions::{self, ConsolePrincipal};
use crate::repo::{RepoError, sessions};
use crate::time::{Micros, seconds};

/// How often a session's idle deadline is written: sooner would write on
/// every page view for nothing.
pub const TOUCH_EVERY_SECS: i64 = 60;

/// The two deadlines of a console session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub idle_secs: i64,
    pub max_secs: i64,
}

impl Lifetimes {
    fn deadline(&self, created_at: Micros, now: Micros) -> Micros {
        (now + seconds(self.idle_secs)).min(created_at + seconds(self.max_secs))
    }
}

/// What signing in stores: the hash of the cookie's secret and the CSRF
/// token (both made by the caller, which holds the randomness).
#[derive(Debug)]
pub struct NewConsoleSession {
    pub org: OrgId,
    pub user: UserId,
    pub token_hash: String,
    pub csrf_token: String,
}

/// Starts a login session and its console session.
pub async fn start(
    db: &Database,
    new: NewConsoleSession,
    lifetimes: Lifetimes,
    now: Micros,
) -> Result<SessionId, RepoError> {
    let session = SessionId::new();
    db.write(move |conn| {
        sessions::insert(conn, session, new.org, new.user)?;
        console_sessions::insert(
            conn,
            session,
            &new.token_hash,
            &new.csrf_token,
            now,
            lifetimes.deadline(now, now),
        )
    })
    .await?;
    Ok(session)
}

/// The live session a cookie's hash names, its idle deadline moved to
/// `now + idle` (written at most every [`TOUCH_EVERY_SECS`]).
pub async fn resolve(
    db: &Database,
    token_hash: String,
    lifetimes: Lifetimes,
    now: Micros,
) -> Result<Option<ConsolePrincipal>, RepoError> {
    let found = db
        .run(move |conn| console_sessions::principal(conn, &token_hash, now))
        .await?;
    let Some(mut principal) = found else {
        return Ok(None);
    };
    if now - principal.last_seen_at >= seconds(TOUCH_EVERY_SECS) {
        let expires_at = lifetimes.deadline(principal.created_at, now);
        let session = principal.session;
        db.write(move |conn| console_sessions::touch(conn, session, now, expires_at))
            .await?;
        principal.last_seen_at = now;
        principal.expires_at = expires_at;
    }
    Ok(Some(principal))
}

/// Signs out: the login session is revoked, so the cookie and any token
/// of the session stop working at once.
pub async fn end(db: &Database, session: SessionId) -> Result<(), RepoError> {
    db.write(move |conn| sessions::revoke(conn, session, "console_sign_out"))
        .await
}
