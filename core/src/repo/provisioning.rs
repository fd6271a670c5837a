//! One-time provisioning codes. Issuing a code replaces the phone's earlier
//! unused codes; redeeming consumes the code with a conditional UPDATE, so of
//! any number of concurrent redeemers exactly one gets the credential.

use diesel::prelude::*;

use super::binding_events::By;
use super::phones::PhoneRow;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{phone_credentials, phone_provisioning_codes, phones};
use crate::ids::{CredentialId, OrgId, PhoneId, UserId};
use crate::time::now_micros;

/// Stores a new code for an enabled phone of `org`; `NotFound` otherwise.
pub fn issue(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    created_by: UserId,
    code_hash: &str,
    expires_at: i64,
) -> Result<(), RepoError> {
    crate::db::write_tx(conn, |conn| {
        super::phones::get(conn, org, phone)?;
        super::phones::lock(conn, &phone.to_string())?;
        if super::phones::get(conn, org, phone)?.disabled_at.is_some() {
            return Err(RepoError::NotFound);
        }
        diesel::delete(
            phone_provisioning_codes::table
                .filter(phone_provisioning_codes::phone_id.eq(phone.to_string()))
                .filter(phone_provisioning_codes::used_at.is_null()),
        )
        .execute(conn)?;
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
    })
}

/// Consumes the code and stores the phone's new credential (revoking any
/// earlier one). `None` when the code is unknown, used, expired, or its phone
/// disabled; nothing is written then.
pub fn redeem(
    conn: &mut DbConn,
    code_hash: &str,
    credential_hash: &str,
) -> Result<Option<PhoneRow>, RepoError> {
    let outcome = crate::db::write_tx(conn, |conn| {
        let now = now_micros();
        // Locks in the order every binding change uses (organisation, phone,
        // then the code row): redeeming revokes credentials and so ends the
        // phone's binding.
        let (phone_raw, org_raw): (String, String) = phone_provisioning_codes::table
            .filter(phone_provisioning_codes::code_hash.eq(code_hash))
            .select((
                phone_provisioning_codes::phone_id,
                phone_provisioning_codes::org_id,
            ))
            .first(conn)?;
        super::orgs::lock(conn, &org_raw)?;
        super::phones::lock(conn, &phone_raw)?;
        let consumed = diesel::update(
            phone_provisioning_codes::table
                .filter(phone_provisioning_codes::code_hash.eq(code_hash))
                .filter(phone_provisioning_codes::used_at.is_null())
                .filter(phone_provisioning_codes::expires_at.gt(now)),
        )
        .set(phone_provisioning_codes::used_at.eq(now))
        .execute(conn)?;
        if consumed == 0 {
            return Err(RepoError::NotFound);
        }
        let phone: PhoneRow = phones::table
            .filter(phones::id.eq(&phone_raw))
            .filter(phones::disabled_at.is_null())
            .select(PhoneRow::as_select())
            .first(conn)?;
        let org: OrgId = stored_id(&phone.org_id)?;
        let phone_id = phone.phone_id()?;
        super::phones::revoke_credentials(conn, org, phone_id, By::Phone(phone_id))?;
        diesel::insert_into(phone_credentials::table)
            .values((
                phone_credentials::id.eq(CredentialId::new().to_string()),
                phone_credentials::phone_id.eq(&phone.id),
                phone_credentials::org_id.eq(&phone.org_id),
                phone_credentials::secret_hash.eq(credential_hash),
                phone_credentials::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(phone)
    });
    match outcome {
        Ok(phone) => Ok(Some(phone)),
        Err(RepoError::NotFound) => Ok(None),
        Err(other) => Err(other),
    }
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
