//! The `presence_reported` table: the presence state last reported to
//! webhooks per user (`presence.changed`, docs/integrations.md). Writing a
//! row is how a presence change gets a transaction for its outbox row.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::presence_reported;
use crate::time::Micros;

/// What was reported last for one user.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = presence_reported)]
pub struct Reported {
    pub user_id: String,
    pub state: String,
    /// When the reported state was observed.
    pub changed_at: i64,
}

/// The `presence_reported` rows of `user_ids` that exist, by user id.
pub fn of_users(
    conn: &mut DbConn,
    user_ids: &[String],
) -> Result<HashMap<String, Reported>, RepoError> {
    let rows: Vec<Reported> = presence_reported::table
        .filter(presence_reported::user_id.eq_any(user_ids))
        .select(Reported::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(|r| (r.user_id.clone(), r)).collect())
}

/// Stores `state`, observed at `at`, as the one reported for `user`. Call
/// with the user's row lock held (two first reports would both insert).
pub fn put(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    state: &str,
    at: Micros,
) -> Result<(), RepoError> {
    let updated = diesel::update(presence_reported::table.find(user_id))
        .set((
            presence_reported::state.eq(state),
            presence_reported::changed_at.eq(at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(presence_reported::table)
            .values((
                presence_reported::user_id.eq(user_id),
                presence_reported::org_id.eq(org_id),
                presence_reported::state.eq(state),
                presence_reported::changed_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Forgets what was reported for the organisation's users.
pub fn forget_org(conn: &mut DbConn, org_id: &str) -> Result<usize, RepoError> {
    Ok(
        diesel::delete(presence_reported::table.filter(presence_reported::org_id.eq(org_id)))
            .execute(conn)?,
    )
}
