//! One-time provisioning codes. Issuing a code replaces the phone's earlier
//! unused codes; redeeming consumes the code with a conditional UPDATE, so of
//! any number of concurrent redeemers exactly one gets the credential (the
//! transactions are in `usecases::provisioning`).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::phone_provisioning_codes;
use crate::ids::{OrgId, PhoneId, UserId};
use crate::time::{Micros, now_micros};

/// Deletes the phone's unused codes: a new code, or a revoke, replaces them.
pub fn delete_unused(conn: &mut DbConn, phone: PhoneId) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        phone_provisioning_codes::table
            .filter(phone_provisioning_codes::phone_id.eq(phone.to_string()))
            .filter(phone_provisioning_codes::used_at.is_null()),
    )
    .execute(conn)?)
}

/// Stores a new code for the phone.
pub fn insert(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    created_by: UserId,
    code_hash: &str,
    expires_at: Micros,
) -> Result<(), RepoError> {
    diesel::insert_into(phone_provisioning_codes::table)
        .values((
            phone_provisioning_codes::code_hash.eq(code_hash),
            phone_provisioning_codes::phone_id.eq(phone.to_string()),
            phone_provisioning_codes::org_id.eq(org.to_string()),
            phone_provisioning_codes::created_by.eq(created_by.to_string()),
            phone_provisioning_codes::created_at.eq(now_micros()),
            phone_provisioning_codes::expires_at.eq(expires_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The (phone id, organisation id) a code names, used or not.
pub fn named_by(conn: &mut DbConn, code_hash: &str) -> Result<Option<(String, String)>, RepoError> {
    Ok(phone_provisioning_codes::table
        .filter(phone_provisioning_codes::code_hash.eq(code_hash))
        .select((
            phone_provisioning_codes::phone_id,
            phone_provisioning_codes::org_id,
        ))
        .first(conn)
        .optional()?)
}

/// Marks the code used if it is unused and unexpired at `now`; `false`
/// when another redeemer won, or it was used or expired.
pub fn consume(conn: &mut DbConn, code_hash: &str, now: Micros) -> Result<bool, RepoError> {
    let consumed = diesel::update(
        phone_provisioning_codes::table
            .filter(phone_provisioning_codes::code_hash.eq(code_hash))
            .filter(phone_provisioning_codes::used_at.is_null())
            .filter(phone_provisioning_codes::expires_at.gt(now)),
    )
    .set(phone_provisioning_codes::used_at.eq(now))
    .execute(conn)?;
    Ok(consumed == 1)
}

/// Deletes codes that expired or were used before `cutoff`.
pub fn purge_expired(conn: &mut DbConn, cutoff: i64) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        phone_provisioning_codes::table.filter(
            phone_provisioning_codes::expires_at
                .lt(cutoff)
                .or(phone_provisioning_codes::used_at.lt(cutoff)),
        ),
    )
    .execute(conn)?)
}
