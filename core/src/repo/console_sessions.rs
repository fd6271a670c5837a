//! Browser sessions of the web console. Each row hangs off a login session
//! (`sessions`), so revoking that session or disabling the user ends the
//! browser session exactly as it ends API tokens. `expires_at` is the idle
//! deadline, pushed forward on use but never past the absolute limit the
//! caller computes. The transactions are in `usecases::console_sessions`.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{console_sessions, sessions, users};
use crate::ids::{OrgId, SessionId, UserId};
use crate::time::Micros;

/// What a cookie resolves to: the login session, its CSRF token, its
/// deadlines, and the enabled user it belongs to.
#[derive(Debug, Clone)]
pub struct ConsolePrincipal {
    pub session: SessionId,
    pub csrf_token: String,
    pub created_at: Micros,
    pub last_seen_at: Micros,
    pub expires_at: Micros,
    pub user_id: UserId,
    pub org_id: OrgId,
    /// As stored; the caller parses it into a role.
    pub role: String,
    pub display_name: String,
    pub email: String,
    pub time_zone: String,
}

pub fn insert(
    conn: &mut DbConn,
    session: SessionId,
    token_hash: &str,
    csrf_token: &str,
    now: Micros,
    expires_at: Micros,
) -> Result<(), RepoError> {
    diesel::insert_into(console_sessions::table)
        .values((
            console_sessions::session_id.eq(session.to_string()),
            console_sessions::token_hash.eq(token_hash),
            console_sessions::csrf_token.eq(csrf_token),
            console_sessions::created_at.eq(now),
            console_sessions::last_seen_at.eq(now),
            console_sessions::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The live console session a cookie's hash names: unexpired at `now`, its
/// login session not revoked, its user enabled.
pub fn principal(
    conn: &mut DbConn,
    token_hash: &str,
    now: Micros,
) -> Result<Option<ConsolePrincipal>, RepoError> {
    type Row = (
        (String, String, i64, i64, i64),
        (String, String, String, String, String, String),
    );
    let row: Option<Row> = console_sessions::table
        .inner_join(sessions::table.inner_join(users::table))
        .filter(console_sessions::token_hash.eq(token_hash))
        .filter(console_sessions::expires_at.gt(now))
        .filter(sessions::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .select((
            (
                console_sessions::session_id,
                console_sessions::csrf_token,
                console_sessions::created_at,
                console_sessions::last_seen_at,
                console_sessions::expires_at,
            ),
            (
                users::id,
                users::org_id,
                users::role,
                users::display_name,
                users::email,
                users::time_zone,
            ),
        ))
        .first(conn)
        .optional()?;
    row.map(|(session, user)| {
        let (session, csrf_token, created_at, last_seen_at, expires_at) = session;
        let (user_id, org_id, role, display_name, email, time_zone) = user;
        Ok(ConsolePrincipal {
            session: stored_id(&session)?,
            csrf_token,
            created_at,
            last_seen_at,
            expires_at,
            user_id: stored_id(&user_id)?,
            org_id: stored_id(&org_id)?,
            role,
            display_name,
            email,
            time_zone,
        })
    })
    .transpose()
}

/// Records use at `now` and moves the idle deadline; a session that
/// expired meanwhile stays expired.
pub fn touch(
    conn: &mut DbConn,
    session: SessionId,
    now: Micros,
    expires_at: Micros,
) -> Result<(), RepoError> {
    diesel::update(
        console_sessions::table
            .filter(console_sessions::session_id.eq(session.to_string()))
            .filter(console_sessions::expires_at.gt(now)),
    )
    .set((
        console_sessions::last_seen_at.eq(now),
        console_sessions::expires_at.eq(expires_at),
    ))
    .execute(conn)?;
    Ok(())
}

/// Deletes console sessions that expired before `cutoff`.
pub fn purge_expired(conn: &mut DbConn, cutoff: Micros) -> Result<usize, RepoError> {
    Ok(
        diesel::delete(console_sessions::table.filter(console_sessions::expires_at.lt(cutoff)))
            .execute(conn)?,
    )
}
