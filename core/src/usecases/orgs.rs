//! Creating organisations and their first admin (the `init-admin` command
//! and test fixtures). An organisation is born with its call-record change
//! sequence, which record sync numbers its changes from, and with the
//! default disposition catalogue (`usecases::dispositions`).

use crate::db::{DbConn, write_tx};
use crate::ids::OrgId;
use crate::repo::users::{self, UserRow};
use crate::repo::{RepoError, orgs, sync_seq};

/// Creates the organisation; call inside a write transaction.
pub fn create(conn: &mut DbConn, name: &str) -> Result<OrgId, RepoError> {
    let id = orgs::insert(conn, name)?;
    sync_seq::create(conn, &id.to_string())?;
    super::dispositions::seed_defaults_in(conn, id, crate::time::now_micros())?;
    super::score_rules::seed_in(conn, id, crate::time::now_micros())?;
    Ok(id)
}

/// Adds an admin to the oldest organisation named `org_name`, creating it
/// when there is none, in one transaction. `Conflict` when the e-mail
/// address is taken.
pub fn add_admin(
    conn: &mut DbConn,
    org_name: &str,
    admin: impl FnOnce(OrgId) -> UserRow,
) -> Result<OrgId, RepoError> {
    write_tx(conn, |conn| {
        let org = match orgs::find_by_name(conn, org_name)? {
            Some(org) => org,
            None => create(conn, org_name)?,
        };
        users::insert(conn, &admin(org))?;
        Ok(org)
    })
}
