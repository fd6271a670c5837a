//! Phones and their credentials. Changes that span tables (disabling ends
//! the binding, revoking ends it too) are in `usecases::phones`.

use std::collections::HashSet;

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{phone_credentials, phones};
use crate::ids::{CredentialId, OrgId, PhoneId};
use crate::time::{Micros, now_micros, to_datetime};
use crate::vendor::Driving;
use crate::wire::{Page, Phone, PhoneHolder};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = phones)]
pub struct PhoneRow {
    pub id: String,
    pub org_id: String,
    pub number_e164: String,
    pub extension: String,
    pub label: String,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// The vendor driver (`vendor::Vendor`), or `None` for deskbind's own
    /// protocol.
    pub driver: Option<String>,
}

impl PhoneRow {
    pub fn phone_id(&self) -> Result<PhoneId, RepoError> {
        stored_id(&self.id)
    }

    pub fn to_wire(
        &self,
        provisioned: bool,
        holder: Option<PhoneHolder>,
    ) -> Result<Phone, RepoError> {
        let driving = Driving::of(self.driver.as_deref());
        Ok(Phone {
            id: self.phone_id()?,
            number: self.number_e164.clone(),
            extension: self.extension.clone(),
            label: self.label.clone(),
            vendor: self.vendor.clone(),
            model: self.model.clone(),
            driver: driving.driver,
            capabilities: driving.capabilities().to_vec(),
            disabled: self.disabled_at.is_some(),
            provisioned,
            holder,
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        })
    }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = phones)]
pub struct PhoneChanges {
    pub number_e164: Option<String>,
    pub extension: Option<String>,
    pub label: Option<String>,
    pub vendor: Option<Option<String>>,
    pub model: Option<Option<String>>,
    pub disabled_at: Option<Option<i64>>,
    pub updated_at: Option<i64>,
    pub driver: Option<Option<String>>,
}

pub fn insert(conn: &mut DbConn, row: &PhoneRow) -> Result<(), RepoError> {
    diesel::insert_into(phones::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, org: OrgId, id: PhoneId) -> Result<PhoneRow, RepoError> {
    Ok(phones::table
        .filter(phones::org_id.eq(org.to_string()))
        .filter(phones::id.eq(id.to_string()))
        .select(PhoneRow::as_select())
        .first(conn)?)
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    page: &PageRequest,
) -> Result<Page<PhoneRow>, RepoError> {
    let mut query = phones::table
        .filter(phones::org_id.eq(org.to_string()))
        .select(PhoneRow::as_select())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(phones::id.gt(after.clone()));
    }
    let rows = query
        .order(phones::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// The phones of `org` among `ids` (unknown or foreign ids are left out).
pub fn by_ids(conn: &mut DbConn, org: OrgId, ids: &[String]) -> Result<Vec<PhoneRow>, RepoError> {
    Ok(phones::table
        .filter(phones::org_id.eq(org.to_string()))
        .filter(phones::id.eq_any(ids))
        .select(PhoneRow::as_select())
        .load(conn)?)
}

/// Which of `ids` hold a live credential.
pub fn provisioned_among(conn: &mut DbConn, ids: &[String]) -> Result<HashSet<String>, RepoError> {
    let live: Vec<String> = phone_credentials::table
        .filter(phone_credentials::phone_id.eq_any(ids))
        .filter(phone_credentials::revoked_at.is_null())
        .select(phone_credentials::phone_id)
        .load(conn)?;
    Ok(live.into_iter().collect())
}

/// Applies `changes` to the phone of `org`; `NotFound` when there is none.
pub fn apply(
    conn: &mut DbConn,
    org: OrgId,
    id: PhoneId,
    changes: &PhoneChanges,
) -> Result<(), RepoError> {
    let n = diesel::update(
        phones::table
            .filter(phones::org_id.eq(org.to_string()))
            .filter(phones::id.eq(id.to_string())),
    )
    .set(changes)
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// Takes the phone's row lock (PostgreSQL; SQLite's write transaction already
/// serialises), so credential and code changes of one phone never interleave.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(phones::table.filter(phones::id.eq(id)))
        .set(phones::updated_at.eq(phones::updated_at))
        .execute(conn)?;
    Ok(())
}

/// The phone with this id if it is enabled, whatever its organisation (a
/// provisioning code names its phone).
pub fn find_enabled(conn: &mut DbConn, id: &str) -> Result<Option<PhoneRow>, RepoError> {
    Ok(phones::table
        .filter(phones::id.eq(id))
        .filter(phones::disabled_at.is_null())
        .select(PhoneRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks every live credential of the phone revoked; returns how many.
pub fn revoke_live_credentials(
    conn: &mut DbConn,
    org: OrgId,
    id: PhoneId,
) -> Result<usize, RepoError> {
    Ok(diesel::update(
        phone_credentials::table
            .filter(phone_credentials::org_id.eq(org.to_string()))
            .filter(phone_credentials::phone_id.eq(id.to_string()))
            .filter(phone_credentials::revoked_at.is_null()),
    )
    .set(phone_credentials::revoked_at.eq(now_micros()))
    .execute(conn)?)
}

/// Stores a new live credential of the phone.
pub fn insert_credential(
    conn: &mut DbConn,
    phone: &PhoneRow,
    secret_hash: &str,
    now: Micros,
) -> Result<(), RepoError> {
    diesel::insert_into(phone_credentials::table)
        .values((
            phone_credentials::id.eq(CredentialId::new().to_string()),
            phone_credentials::phone_id.eq(&phone.id),
            phone_credentials::org_id.eq(&phone.org_id),
            phone_credentials::secret_hash.eq(secret_hash),
            phone_credentials::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Whether `secret_hash` is a live credential of the phone. Phone requests
/// recheck it inside their transaction, after the lock a revoke also takes
/// (organisation for binds, phone for token issue): a revoke may have
/// committed since the request was authenticated.
pub fn credential_is_live(
    conn: &mut DbConn,
    phone: &str,
    secret_hash: &str,
) -> Result<bool, RepoError> {
    let hit: Option<String> = phone_credentials::table
        .filter(phone_credentials::phone_id.eq(phone))
        .filter(phone_credentials::secret_hash.eq(secret_hash))
        .filter(phone_credentials::revoked_at.is_null())
        .select(phone_credentials::id)
        .first(conn)
        .optional()?;
    Ok(hit.is_some())
}

/// The phone a credential belongs to, when the credential is live and the
/// phone enabled.
pub fn principal(conn: &mut DbConn, secret_hash: &str) -> Result<Option<PhoneRow>, RepoError> {
    Ok(phone_credentials::table
        .inner_join(phones::table)
        .filter(phone_credentials::secret_hash.eq(secret_hash))
        .filter(phone_credentials::revoked_at.is_null())
        .filter(phones::disabled_at.is_null())
        .select(PhoneRow::as_select())
        .first(conn)
        .optional()?)
}
