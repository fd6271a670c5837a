//! NFC binding tokens. The signed token names its row; the numeric code is
//! looked up by hash within the redeemer's organisation. Consuming is a
//! conditional UPDATE inside the binding's transaction, so of any number of
//! concurrent redeemers exactly one gets the token, and a redemption the
//! policy refuses leaves the token unspent.

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::binding_tokens;
use crate::ids::{BindingTokenId, OrgId, PhoneId, UserId};
use crate::time::now_micros;

/// Why a token or code cannot be redeemed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// Unknown here: forged, another organisation's, revoked, or (codes) any failure.
    Invalid,
    Expired,
    Used,
}

/// How the redeemer names the token.
#[derive(Debug, Clone)]
pub enum TokenRef {
    Id(BindingTokenId),
    CodeHash(String),
}

/// Stores a token for the phone and deletes the phone's unspent earlier
/// ones: a phone offers one live token at a time. `Conflict` when the code
/// collides with another of the organisation's codes (the caller retries).
pub fn issue(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    id: BindingTokenId,
    code_hash: &str,
    expires_at: i64,
) -> Result<(), RepoError> {
    crate::db::write_tx(conn, |conn| {
        diesel::delete(
            binding_tokens::table
                .filter(binding_tokens::phone_id.eq(phone.to_string()))
                .filter(binding_tokens::used_at.is_null()),
        )
        .execute(conn)?;
        diesel::insert_into(binding_tokens::table)
            .values((
                binding_tokens::id.eq(id.to_string()),
                binding_tokens::org_id.eq(org.to_string()),
                binding_tokens::phone_id.eq(phone.to_string()),
                binding_tokens::code_hash.eq(code_hash),
                binding_tokens::created_at.eq(now_micros()),
                binding_tokens::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Marks the token spent by `user` and returns its phone. Call inside a
/// write transaction; nothing is written on error.
pub fn consume(
    conn: &mut DbConn,
    org: OrgId,
    token: &TokenRef,
    user: UserId,
) -> Result<Result<PhoneId, TokenProblem>, RepoError> {
    let now = now_micros();
    let (id_filter, code_filter) = match token {
        TokenRef::Id(id) => (Some(id.to_string()), None),
        TokenRef::CodeHash(hash) => (None, Some(hash.clone())),
    };
    let scoped = || {
        let mut q = binding_tokens::table
            .filter(binding_tokens::org_id.eq(org.to_string()))
            .into_boxed();
        if let Some(id) = &id_filter {
            q = q.filter(binding_tokens::id.eq(id.clone()));
        }
        if let Some(hash) = &code_filter {
            q = q.filter(binding_tokens::code_hash.eq(hash.clone()));
        }
        q
    };
    let row: Option<(String, String, i64, Option<i64>)> = scoped()
        .select((
            binding_tokens::id,
            binding_tokens::phone_id,
            binding_tokens::expires_at,
            binding_tokens::used_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, phone, expires_at, used_at)) = row else {
        return Ok(Err(TokenProblem::Invalid));
    };
    if used_at.is_some() {
        return Ok(Err(TokenProblem::Used));
    }
    if expires_at <= now {
        return Ok(Err(TokenProblem::Expired));
    }
    // The read above may be stale under concurrency; this UPDATE decides.
    let won = diesel::update(
        binding_tokens::table
            .filter(binding_tokens::id.eq(&id))
            .filter(binding_tokens::used_at.is_null())
            .filter(binding_tokens::expires_at.gt(now)),
    )
    .set((
        binding_tokens::used_at.eq(now),
        binding_tokens::used_by.eq(user.to_string()),
    ))
    .execute(conn)?;
    if won == 0 {
        return Ok(Err(TokenProblem::Used));
    }
    Ok(Ok(stored_id(&phone)?))
}

/// Deletes tokens that expired or were spent before `cutoff`.
pub fn purge_expired(conn: &mut DbConn, cutoff: i64) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        binding_tokens::table.filter(
            binding_tokens::expires_at
                .lt(cutoff)
                .or(binding_tokens::used_at.lt(cutoff)),
        ),
    )
    .execute(conn)?)
}
