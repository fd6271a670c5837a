//! Sessions and refresh tokens. A session is one refresh-token family. Each
//! refresh consumes the presented token with a conditional UPDATE (only an
//! unused, unexpired token of a live session matches), so of two concurrent
//! refreshes exactly one wins; presenting a consumed token again is treated
//! as theft and revokes the whole family, including the winner's new token
//! and every access token that carries the session id.

use diesel::prelude::*;

use super::users::UserRow;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{refresh_tokens, sessions, users};
use crate::ids::{OrgId, RefreshTokenId, SessionId, UserId};
use crate::time::now_micros;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RotateOutcome {
    Rotated {
        session: SessionId,
        user: Box<UserRow>,
    },
    /// The token had already been used: the family is now revoked.
    Reused,
    /// Unknown, expired, or of a revoked session or disabled user.
    Invalid,
}

fn insert_refresh(
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

/// Starts a session with its first refresh token.
pub fn create(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    token_hash: &str,
    expires_at: i64,
) -> Result<SessionId, RepoError> {
    let session = SessionId::new();
    crate::db::write_tx(conn, |conn| {
        diesel::insert_into(sessions::table)
            .values((
                sessions::id.eq(session.to_string()),
                sessions::org_id.eq(org.to_string()),
                sessions::user_id.eq(user.to_string()),
                sessions::created_at.eq(now_micros()),
            ))
            .execute(conn)?;
        insert_refresh(conn, session, token_hash, expires_at)
    })?;
    Ok(session)
}

/// Consumes `presented_hash` and issues `new_hash` in the same family.
pub fn rotate(
    conn: &mut DbConn,
    presented_hash: &str,
    new_hash: &str,
    new_expires_at: i64,
) -> Result<RotateOutcome, RepoError> {
    let outcome = crate::db::write_tx(conn, |conn| {
        let now = now_micros();
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

        let token: Option<(String, Option<i64>)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(presented_hash))
            .select((refresh_tokens::session_id, refresh_tokens::used_at))
            .first(conn)
            .optional()?;
        let Some((session_raw, used_at)) = token else {
            return Ok(RotateOutcome::Invalid);
        };
        let session: SessionId = stored_id(&session_raw)?;

        if consumed == 0 {
            if used_at.is_some() {
                revoke(conn, session, "refresh_token_reused")?;
                return Ok(RotateOutcome::Reused);
            }
            return Ok(RotateOutcome::Invalid);
        }
        let user: Option<UserRow> = sessions::table
            .inner_join(users::table)
            .filter(sessions::id.eq(&session_raw))
            .filter(users::disabled_at.is_null())
            .select(UserRow::as_select())
            .first(conn)
            .optional()?;
        // A disabled user's token is not consumed: roll back, answer Invalid.
        let Some(user) = user else {
            return Err(RepoError::NotFound);
        };
        insert_refresh(conn, session, new_hash, new_expires_at)?;
        Ok(RotateOutcome::Rotated {
            session,
            user: Box::new(user),
        })
    });
    match outcome {
        Err(RepoError::NotFound) => Ok(RotateOutcome::Invalid),
        other => other,
    }
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

/// The user behind an access token, when its session is live and the user
/// enabled; `None` otherwise. Checked on every authenticated request so
/// logout, reuse detection and disabling take effect at once.
pub fn principal(
    conn: &mut DbConn,
    session: SessionId,
    user: UserId,
) -> Result<Option<UserRow>, RepoError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session.to_string()))
        .filter(sessions::user_id.eq(user.to_string()))
        .filter(sessions::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
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
    // Sessions abandoned without logout: old, and no refresh token left.
    let with_tokens = refresh_tokens::table.select(refresh_tokens::session_id);
    let abandoned = diesel::delete(
        sessions::table
            .filter(sessions::created_at.lt(cutoff))
            .filter(sessions::id.ne_all(with_tokens)),
    )
    .execute(conn)?;
    Ok(tokens + revoked + abandoned)
}
