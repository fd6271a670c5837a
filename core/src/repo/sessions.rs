//! Sessions and refresh tokens. A session is one refresh-token family. Each
//! refresh consumes the presented token with a conditional UPDATE (only an
//! unused, unexpired token of a live session matches), so of two concurrent
//! refreshes exactly one wins; presenting a consumed token again is treated
//! as theft and revokes the whole family, including the winner's new token
//! and every access token that carries the session id. The transactions
//! are in `usecases::sessions`.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{console_sessions, refresh_tokens, sessions};
use crate::ids::{OrgId, RefreshTokenId, SessionId, UserId};
use crate::time::{Micros, now_micros};

/// Adds a refresh token to the session's family.
pub fn insert_refresh(
    conn: &mut DbConn,
    session: SessionId,
    token_hash: &str,
    expires_at: i64,
) -> Result<(), RepoError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(RefreshTokenId::new().to_string()),
            refresh_tokens::session_id.eq(session.to_string()),
            refresh_tokens::token_hash.eq(token_hash),
            refresh_tokens::created_at.eq(now_micros()),
            refresh_tokens::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Stores a new session (its first refresh token follows in the same
/// transaction).
pub fn insert(
    conn: &mut DbConn,
    session: SessionId,
    org: OrgId,
    user: UserId,
) -> Result<(), RepoError> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::id.eq(session.to_string()),
            sessions::org_id.eq(org.to_string()),
            sessions::user_id.eq(user.to_string()),
            sessions::created_at.eq(now_micros()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Marks the presented token used if it is unused, unexpired and of a live
/// session; `false` otherwise (the conditional UPDATE decides races).
pub fn consume_refresh(
    conn: &mut DbConn,
    presented_hash: &str,
    now: Micros,
) -> Result<bool, RepoError> {
    let live_sessions = sessions::table
        .filter(sessions::revoked_at.is_null())
        .select(sessions::id);
    let consumed = diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(presented_hash))
            .filter(refresh_tokens::used_at.is_null())
            .filter(refresh_tokens::expires_at.gt(now))
            .filter(refresh_tokens::session_id.eq_any(live_sessions)),
    )
    .set(refresh_tokens::used_at.eq(now))
    .execute(conn)?;
    Ok(consumed == 1)
}

/// The session a refresh token belongs to and when it was used, if the
/// token exists.
pub fn refresh_token(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<(SessionId, Option<Micros>)>, RepoError> {
    let token: Option<(String, Option<i64>)> = refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(token_hash))
        .select((refresh_tokens::session_id, refresh_tokens::used_at))
        .first(conn)
        .optional()?;
    token
        .map(|(session, used_at)| Ok((stored_id(&session)?, used_at)))
        .transpose()
}

pub fn revoke(conn: &mut DbConn, session: SessionId, reason: &str) -> Result<(), RepoError> {
    diesel::update(
        sessions::table
            .filter(sessions::id.eq(session.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now_micros()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?;
    Ok(())
}

/// The organisation and user a session belongs to, if it exists.
pub fn owner(conn: &mut DbConn, session: SessionId) -> Result<Option<(OrgId, UserId)>, RepoError> {
    let row: Option<(String, String)> = sessions::table
        .filter(sessions::id.eq(session.to_string()))
        .select((sessions::org_id, sessions::user_id))
        .first(conn)
        .optional()?;
    row.map(|(org, user)| Ok((stored_id(&org)?, stored_id(&user)?)))
        .transpose()
}

pub fn revoke_all_for_user(
    conn: &mut DbConn,
    user: UserId,
    reason: &str,
) -> Result<usize, RepoError> {
    Ok(diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user.to_string()))
            .filter(sessions::revoked_at.is_null()),
    )
    .set((
        sessions::revoked_at.eq(now_micros()),
        sessions::revoked_reason.eq(reason),
    ))
    .execute(conn)?)
}

/// Live sessions of a user (for tests and operators).
pub fn live_count(conn: &mut DbConn, user: UserId) -> Result<i64, RepoError> {
    Ok(sessions::table
        .filter(sessions::user_id.eq(user.to_string()))
        .filter(sessions::revoked_at.is_null())
        .count()
        .get_result(conn)?)
}

/// Deletes refresh tokens that expired before `cutoff`, and sessions revoked
/// before it; returns how many rows went.
pub fn purge_expired(conn: &mut DbConn, cutoff: i64) -> Result<usize, RepoError> {
    let tokens =
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(cutoff)))
            .execute(conn)?;
    let revoked =
        diesel::delete(sessions::table.filter(sessions::revoked_at.lt(cutoff))).execute(conn)?;
    // Sessions abandoned without logout: old, and no refresh token or
    // console session left.
    let with_tokens = refresh_tokens::table.select(refresh_tokens::session_id);
    let in_browsers = console_sessions::table.select(console_sessions::session_id);
    let abandoned = diesel::delete(
        sessions::table
            .filter(sessions::created_at.lt(cutoff))
            .filter(sessions::id.ne_all(with_tokens))
            .filter(sessions::id.ne_all(in_browsers)),
    )
    .execute(conn)?;
    Ok(tokens + revoked + abandoned)
}
