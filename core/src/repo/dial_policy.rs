//! The `dial_policies` table: when the organisation's dial policy was last
//! set and by whom. The policy's numbers and prefixes themselves are
//! organisation-scope blocklist entries since decision 0019
//! (`usecases::dial_policy`).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::dial_policies;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;

/// When the policy was last set (`None`: never).
pub fn updated_at(conn: &mut DbConn, org: OrgId) -> Result<Option<Micros>, RepoError> {
    Ok(dial_policies::table
        .filter(dial_policies::org_id.eq(org.to_string()))
        .select(dial_policies::updated_at)
        .first(conn)
        .optional()?)
}

/// Records that `by` set the policy at `now`. Call under the
/// organisation's lock (two first settings would collide on the key).
pub fn touch(conn: &mut DbConn, org: OrgId, by: UserId, now: Micros) -> Result<(), RepoError> {
    let org_id = org.to_string();
    let updated = diesel::update(dial_policies::table.filter(dial_policies::org_id.eq(&org_id)))
        .set((
            dial_policies::updated_at.eq(now),
            dial_policies::updated_by.eq(by.to_string()),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(dial_policies::table)
            .values((
                dial_policies::org_id.eq(&org_id),
                dial_policies::updated_at.eq(now),
                dial_policies::updated_by.eq(by.to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
