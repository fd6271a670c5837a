//! Provisioning a phone: an admin issues a one-time code, the phone
//! redeems it for its credential. Issuing replaces the phone's earlier
//! unused codes; redeeming consumes the code with a conditional UPDATE, so
//! of any number of concurrent redeemers exactly one gets the credential.
//! Redeeming revokes the phone's earlier credential, which ends its binding
//! and closes the connection made with it.

use super::{AfterCommit, Services, phones as phone_changes};
use crate::db::DbError;
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::binding_events::By;
use crate::repo::phones::{self, PhoneRow};
use crate::repo::{RepoError, orgs, provisioning, stored_id};
use crate::time::{Micros, now_micros};

#[derive(Debug)]
pub enum IssueError {
    /// A disabled phone is not provisioned; enable it first.
    PhoneDisabled,
    Repo(RepoError),
}

impl From<RepoError> for IssueError {
    fn from(e: RepoError) -> Self {
        Self::Repo(e)
    }
}

impl From<DbError> for IssueError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for IssueError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// Stores a new code for an enabled phone of `org` (under the phone's
/// lock); `NotFound` when there is no such phone.
pub async fn issue(
    services: &Services,
    org: OrgId,
    phone: PhoneId,
    created_by: UserId,
    code_hash: String,
    expires_at: Micros,
) -> Result<(), IssueError> {
    services
        .db
        .write(move |conn| {
            phones::get(conn, org, phone)?;
            phones::lock(conn, &phone.to_string())?;
            if phones::get(conn, org, phone)?.disabled_at.is_some() {
                return Err(IssueError::PhoneDisabled);
            }
            provisioning::delete_unused(conn, phone)?;
            provisioning::insert(conn, org, phone, created_by, &code_hash, expires_at)?;
            Ok(())
        })
        .await
}

/// Consumes the code and stores the phone's new credential (revoking any
/// earlier one). `None` when the code is unknown, used, expired, or its
/// phone disabled; nothing is written then.
pub async fn redeem(
    services: &Services,
    code_hash: String,
    credential_hash: String,
) -> Result<Option<PhoneRow>, RepoError> {
    let outcome = services
        .db
        .write(move |conn| {
            let mut after = AfterCommit::new();
            let now = now_micros();
            // Locks in the order every binding change uses (organisation,
            // phone, then the code row): redeeming revokes credentials
            // and so ends the phone's binding.
            let (phone_raw, org_raw) =
                provisioning::named_by(conn, &code_hash)?.ok_or(RepoError::NotFound)?;
            orgs::lock(conn, &org_raw)?;
            phones::lock(conn, &phone_raw)?;
            if !provisioning::consume(conn, &code_hash, now)? {
                return Err(RepoError::NotFound);
            }
            let phone = phones::find_enabled(conn, &phone_raw)?.ok_or(RepoError::NotFound)?;
            let org: OrgId = stored_id(&phone.org_id)?;
            let phone_id = phone.phone_id()?;
            let by = By::Phone(phone_id);
            phone_changes::revoke_credentials(conn, org, phone_id, by, &mut after)?;
            phones::insert_credential(conn, &phone, &credential_hash, now)?;
            // The previous credential is dead: so is a connection made
            // with it. (The new one cannot have connected yet.)
            after.close_phone(phone_id);
            Ok((Some(phone), after))
        })
        .await;
    // An unknown, used or expired code rolled back whatever it touched.
    let (phone, after) = match outcome {
        Err(RepoError::NotFound) => (None, AfterCommit::new()),
        other => other?,
    };
    after.run(services).await;
    Ok(phone)
}
