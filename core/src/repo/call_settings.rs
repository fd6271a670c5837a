//! The `call_settings` table: an organisation's call options. No row means
//! the defaults (private calls not allowed).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::call_settings;
use crate::ids::OrgId;
use crate::time::Micros;

/// Whether the organisation lets users mark their calls private.
pub fn allow_private(conn: &mut DbConn, org: OrgId) -> Result<bool, RepoError> {
    let stored: Option<i64> = call_settings::table
        .find(org.to_string())
        .select(call_settings::allow_private)
        .first(conn)
        .optional()?;
    Ok(stored.is_some_and(|a| a != 0))
}

/// Stores the organisation's settings (insert or replace); call under the
/// organisation's lock so two writers do not both insert.
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    allow_private: bool,
    now: Micros,
) -> Result<(), RepoError> {
    let allow = i64::from(allow_private);
    let updated = diesel::update(call_settings::table.find(org.to_string()))
        .set((
            call_settings::allow_private.eq(allow),
            call_settings::updated_at.eq(now),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(call_settings::table)
            .values((
                call_settings::org_id.eq(org.to_string()),
                call_settings::allow_private.eq(allow),
                call_settings::updated_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(())
}
