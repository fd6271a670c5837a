//! NFC binding tokens. The signed token names its row; the numeric code is
//! looked up by hash within the redeemer's organisation. Spending is a
//! conditional UPDATE inside the binding's transaction, under the
//! organisation's lock, so of any number of concurrent redeemers exactly one gets the
//! token, and a redemption the policy refuses leaves the token unspent.

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

/// Stores a token for the phone. `Conflict` when the code collides with
/// another of the organisation's codes.
pub fn insert(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    id: BindingTokenId,
    code_hash: &str,
    expires_at: i64,
) -> Result<(), RepoError> {
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
}

/// A token row as the redeemer names it.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: String,
    pub phone_id: PhoneId,
    expires_at: i64,
    used_at: Option<i64>,
}

/// The organisation's token that `token` names, if any.
pub fn find(
    conn: &mut DbConn,
    org: OrgId,
    token: &TokenRef,
) -> Result<Option<TokenRow>, RepoError> {
    let query = binding_tokens::table
        .filter(binding_tokens::org_id.eq(org.to_string()))
        .select((
            binding_tokens::id,
            binding_tokens::phone_id,
            binding_tokens::expires_at,
            binding_tokens::used_at,
        ))
        .into_boxed();
    let query = match token {
        TokenRef::Id(id) => query.filter(binding_tokens::id.eq(id.to_string())),
        TokenRef::CodeHash(hash) => query.filter(binding_tokens::code_hash.eq(hash.clone())),
    };
    let row: Option<(String, String, i64, Option<i64>)> = query.first(conn).optional()?;
    row.map(|(id, phone, expires_at, used_at)| {
        Ok(TokenRow {
            id,
            phone_id: stored_id(&phone)?,
            expires_at,
            used_at,
        })
    })
    .transpose()
}

/// Marks the token spent by `user`. Call inside the binding's write
/// transaction (under the organisation's lock); nothing is written on error.
pub fn spend(
    conn: &mut DbConn,
    token: &TokenRow,
    user: UserId,
    now: i64,
) -> Result<Result<(), TokenProblem>, RepoError> {
    if token.used_at.is_some() {
        return Ok(Err(TokenProblem::Used));
    }
    if token.expires_at <= now {
        return Ok(Err(TokenProblem::Expired));
    }
    // The read may be stale; this conditional UPDATE decides.
    let won = diesel::update(
        binding_tokens::table
            .filter(binding_tokens::id.eq(&token.id))
            .filter(binding_tokens::used_at.is_null())
            .filter(binding_tokens::expires_at.gt(now)),
    )
    .set((
        binding_tokens::used_at.eq(now),
        binding_tokens::used_by.eq(user.to_string()),
    ))
    .execute(conn)?;
    if won == 1 {
        return Ok(Ok(()));
    }
    // Spent meanwhile, or deleted by a newer token of the phone.
    let still_there: Option<String> = binding_tokens::table
        .filter(binding_tokens::id.eq(&token.id))
        .select(binding_tokens::id)
        .first(conn)
        .optional()?;
    Ok(Err(if still_there.is_some() {
        TokenProblem::Used
    } else {
        TokenProblem::Invalid
    }))
}

/// Deletes the phone's unspent tokens (its credential was revoked).
pub fn revoke_for_phone(conn: &mut DbConn, phone: PhoneId) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        binding_tokens::table
            .filter(binding_tokens::phone_id.eq(phone.to_string()))
            .filter(binding_tokens::used_at.is_null()),
    )
    .execute(conn)?)
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
