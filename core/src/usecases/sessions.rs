//! Login sessions and refresh-token rotation. A session is one refresh
//! token family. Each refresh consumes the presented token with a
//! conditional UPDATE, so of two concurrent refreshes exactly one wins;
//! presenting a consumed token again is treated as theft and revokes the
//! whole family, including the winner's new token and every access token
//! that carries the session id.

use super::Services;
use super::call_list_handback::{self, Why};
use crate::ids::{OrgId, SessionId, UserId};
use crate::repo::users::{self, UserRow};
use crate::repo::{RepoError, sessions};
use crate::time::{Micros, now_micros};

/// Starts a session with its first refresh token.
pub async fn start(
    services: &Services,
    org: OrgId,
    user: UserId,
    token_hash: String,
    expires_at: Micros,
) -> Result<SessionId, RepoError> {
    let session = SessionId::new();
    services
        .db
        .write(move |conn| {
            sessions::insert(conn, session, org, user)?;
            sessions::insert_refresh(conn, session, &token_hash, expires_at)
        })
        .await?;
    Ok(session)
}

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

/// Consumes `presented_hash` and issues `new_hash` in the same family.
pub async fn rotate(
    services: &Services,
    presented_hash: String,
    new_hash: String,
    new_expires_at: Micros,
) -> Result<RotateOutcome, RepoError> {
    let outcome = services
        .db
        .write(move |conn| {
            let now = now_micros();
            let consumed = sessions::consume_refresh(conn, &presented_hash, now)?;
            let Some((session, used_at)) = sessions::refresh_token(conn, &presented_hash)? else {
                return Ok(RotateOutcome::Invalid);
            };
            if !consumed {
                if used_at.is_some() {
                    sessions::revoke(conn, session, "refresh_token_reused")?;
                    return Ok(RotateOutcome::Reused);
                }
                return Ok(RotateOutcome::Invalid);
            }
            // A disabled user's token is not consumed: roll back, answer Invalid.
            let user = users::enabled_in_session(conn, session)?.ok_or(RepoError::NotFound)?;
            sessions::insert_refresh(conn, session, &new_hash, new_expires_at)?;
            Ok(RotateOutcome::Rotated {
                session,
                user: Box::new(user),
            })
        })
        .await;
    match outcome {
        Err(RepoError::NotFound) => Ok(RotateOutcome::Invalid),
        other => other,
    }
}

/// Ends the session (logout, or revocation by its owner): its refresh
/// tokens and the access tokens that carry its id stop working, and in
/// the same transaction the user's call-list work is handed back
/// (`call_list_handback`, held for them until they are back).
pub async fn end(
    services: &Services,
    session: SessionId,
    reason: &'static str,
    now: Micros,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            // The hand-back takes the user's row lock: before the session's
            // row, the order a disable takes them in.
            if let Some((org, user)) = sessions::owner(conn, session)? {
                call_list_handback::hand_back_in(conn, org, user, Why::LoggedOut, now)?;
            }
            sessions::revoke(conn, session, reason)
        })
        .await
}
