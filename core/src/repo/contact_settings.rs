//! The `contact_settings` table: who sees which contacts in an organisation
//! (no row: everyone sees every contact).

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::contact_settings;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;
use crate::wire::ContactVisibility;

/// The visibility in force and when it was last set (`None`: never).
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
) -> Result<(ContactVisibility, Option<Micros>), RepoError> {
    let row: Option<(ContactVisibility, Micros)> = contact_settings::table
        .filter(contact_settings::org_id.eq(org))
        .select((contact_settings::visibility, contact_settings::updated_at))
        .first(conn)
        .optional()?;
    Ok(match row {
        Some((visibility, at)) => (visibility, Some(at)),
        None => (ContactVisibility::Organisation, None),
    })
}

/// Sets the visibility. Call inside a write transaction holding the
/// organisation's lock (two first settings at once would collide on the key).
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    visibility: ContactVisibility,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    let updated = diesel::update(contact_settings::table.filter(contact_settings::org_id.eq(org)))
        .set((
            contact_settings::visibility.eq(visibility),
            contact_settings::updated_at.eq(now),
            contact_settings::updated_by.eq(by),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(contact_settings::table)
            .values((
                contact_settings::org_id.eq(org),
                contact_settings::visibility.eq(visibility),
                contact_settings::updated_at.eq(now),
                contact_settings::updated_by.eq(by),
            ))
            .execute(conn)?;
    }
    Ok(())
}
