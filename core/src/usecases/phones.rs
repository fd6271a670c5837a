//! Admins changing phones: registering, editing, disabling, revoking the
//! credential.
//! Disabling and revoking end the phone's binding in the same transaction
//! (under the organisation's lock, then the phone's), so a disabled or
//! revoked phone is locked out and free at once; after the commit its live
//! connection is closed on whichever node holds it.

use super::{AfterCommit, Services, bindings, vendor_events};
use crate::db::{DbConn, DbError};
use crate::domain::FieldError;
use crate::domain::phone_models::{self, KindChange, PhoneKind};
use crate::ids::{OrgId, PhoneId};
use crate::repo::binding_events::By;
use crate::repo::phones::{self, PhoneChanges, PhoneRow};
use crate::repo::{RepoError, binding_tokens, orgs, provisioning};
use crate::time::now_micros;
use crate::wire::BindingEndReason;

/// Registers a phone; `Conflict` when its number and extension are taken.
pub async fn register(services: &Services, row: PhoneRow) -> Result<PhoneRow, RepoError> {
    services
        .db
        .write(move |conn| phones::insert(conn, &row).map(|()| row))
        .await
}

/// Why a phone change was refused.
#[derive(Debug, thiserror::Error)]
pub enum PhoneChangeError {
    /// The vendor and model do not go together (`unknown_phone_model`).
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// `Conflict` when the new number is taken.
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for PhoneChangeError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for PhoneChangeError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// Applies `changes`; disabling a phone also ends its binding and revokes
/// its credentials. A new vendor or model is checked against the other as
/// stored, under the phone's lock (`domain::phone_models`).
pub async fn update(
    services: &Services,
    org: OrgId,
    id: PhoneId,
    mut changes: PhoneChanges,
    kind: KindChange,
    by: By,
) -> Result<PhoneRow, PhoneChangeError> {
    changes.updated_at = Some(now_micros());
    let disabling = matches!(changes.disabled_at, Some(Some(_)));
    let (row, after) = services
        .db
        .write(move |conn| {
            let mut after = AfterCommit::new();
            if disabling {
                // It ends bindings: the organisation's lock comes first.
                orgs::lock(conn, &org.to_string())?;
            }
            let driver_changes = settle_kind(conn, org, id, &kind, &mut changes)?;
            phones::apply(conn, org, id, &changes)?;
            // A vendor phone disabled, or driven otherwise, stops reporting
            // with its old token (and tracker).
            if disabling || driver_changes {
                phones::lock(conn, &id.to_string())?;
                vendor_events::end_direct_mode_in(conn, org, id, now_micros())?;
            }
            // The live board shows labels, numbers and disabled phones.
            after.wake_org(org);
            if disabling {
                let reason = BindingEndReason::PhoneDisabled;
                bindings::end_for_phone(conn, id, reason, by, &mut after)?;
                revoke_only(conn, org, id)?;
                after.close_phone(id);
            }
            let row = phones::get(conn, org, id)?;
            Ok::<_, PhoneChangeError>((row, after))
        })
        .await?;
    after.run(services).await;
    Ok(row)
}

/// Puts into `changes` the driver, vendor and model `kind` leads to,
/// checked together with what is stored, under the phone's lock; `true`
/// when the driver changes.
fn settle_kind(
    conn: &mut DbConn,
    org: OrgId,
    id: PhoneId,
    kind: &KindChange,
    changes: &mut PhoneChanges,
) -> Result<bool, PhoneChangeError> {
    if kind.is_empty() {
        return Ok(false);
    }
    let stored = phones::get(conn, org, id)?;
    phones::lock(conn, &stored.id)?;
    let stored = phones::get(conn, org, id)?;
    let current = PhoneKind {
        driver: stored.driver,
        vendor: stored.vendor,
        model: stored.model,
    };
    let settled = phone_models::settle(&current, kind.clone())?;
    let driver_changes = settled.driver != current.driver;
    changes.driver = Some(settled.driver);
    changes.vendor = Some(settled.vendor);
    changes.model = Some(settled.model);
    Ok(driver_changes)
}

/// An admin revokes the phone's credential: it must be provisioned again,
/// its binding ends and its connection closes.
pub async fn revoke(services: &Services, org: OrgId, id: PhoneId, by: By) -> Result<(), RepoError> {
    let after = services
        .db
        .write(move |conn| {
            let mut after = AfterCommit::new();
            orgs::lock(conn, &org.to_string())?;
            phones::get(conn, org, id)?;
            phones::lock(conn, &id.to_string())?;
            revoke_credentials(conn, org, id, by, &mut after)?;
            // Closed even when nothing was live: a connection may outlive
            // its credential's row by a moment on another node.
            after.close_phone(id);
            after.wake_org(org);
            Ok::<_, RepoError>(after)
        })
        .await?;
    after.run(services).await;
    Ok(())
}

/// Revokes every live credential of the phone and deletes its unused
/// provisioning codes and NFC binding tokens; a revoked credential also
/// ends the phone's binding. Call inside a write transaction holding the
/// organisation's and the phone's locks; returns how many credentials were
/// revoked.
pub fn revoke_credentials(
    conn: &mut DbConn,
    org: OrgId,
    id: PhoneId,
    by: By,
    after: &mut AfterCommit,
) -> Result<usize, RepoError> {
    let revoked = revoke_only(conn, org, id)?;
    if revoked > 0 {
        bindings::end_for_phone(conn, id, BindingEndReason::CredentialRevoked, by, after)?;
    }
    Ok(revoked)
}

/// [`revoke_credentials`] without ending the binding (the caller ends it
/// with its own reason).
fn revoke_only(conn: &mut DbConn, org: OrgId, id: PhoneId) -> Result<usize, RepoError> {
    provisioning::delete_unused(conn, id)?;
    let revoked = phones::revoke_live_credentials(conn, org, id)?;
    binding_tokens::revoke_for_phone(conn, id)?;
    Ok(revoked)
}
