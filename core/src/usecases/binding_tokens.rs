//! A phone issuing an NFC binding token (and its numeric code). A phone
//! offers one live token at a time: a new one deletes its unspent earlier
//! ones, under the phone's lock, which a credential revoke also takes.
//! Spending a token is part of the bind (`usecases::bindings`).

use super::Services;
use crate::ids::{BindingTokenId, OrgId, PhoneId};
use crate::repo::{RepoError, binding_tokens, phones};
use crate::time::Micros;

/// What the new token is.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: BindingTokenId,
    pub code_hash: String,
    pub expires_at: Micros,
}

/// Stores the token for the phone. `Conflict` when its code collides with
/// another of the organisation's codes (the caller retries with another);
/// `NotFound` when the asking credential was revoked meanwhile.
pub async fn issue(
    services: &Services,
    org: OrgId,
    phone: PhoneId,
    credential_hash: String,
    token: NewToken,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            phones::lock(conn, &phone.to_string())?;
            if !phones::credential_is_live(conn, &phone.to_string(), &credential_hash)? {
                return Err(RepoError::NotFound);
            }
            binding_tokens::revoke_for_phone(conn, phone)?;
            binding_tokens::insert(
                conn,
                org,
                phone,
                token.id,
                &token.code_hash,
                token.expires_at,
            )
        })
        .await
}
