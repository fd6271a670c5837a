use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::organisations;
use crate::ids::OrgId;
use crate::time::now_micros;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct OrgRow {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

/// Stores the organisation row only; `usecases::orgs::create` adds what an
/// organisation needs besides.
pub fn insert(conn: &mut DbConn, name: &str) -> Result<OrgId, RepoError> {
    let id = OrgId::new();
    diesel::insert_into(organisations::table)
        .values(OrgRow {
            id: id.to_string(),
            name: name.to_owned(),
            created_at: now_micros(),
        })
        .execute(conn)?;
    Ok(id)
}

/// Takes the organisation's row lock (PostgreSQL; SQLite's write transaction
/// already serialises). Every transaction that changes bindings takes it
/// first, so binding changes of one organisation never overlap: what a bind
/// reads stays true until it commits, and audit entries commit in `seq`
/// order, so a reader paging the log never passes an entry still being
/// written. Lock order everywhere: organisation, then phone, then other rows.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(organisations::table.filter(organisations::id.eq(id)))
        .set(organisations::name.eq(organisations::name))
        .execute(conn)?;
    Ok(())
}

/// The oldest organisation with exactly this name.
pub fn find_by_name(conn: &mut DbConn, name: &str) -> Result<Option<OrgId>, RepoError> {
    let id: Option<String> = organisations::table
        .filter(organisations::name.eq(name))
        .order(organisations::id.asc())
        .select(organisations::id)
        .first(conn)
        .optional()?;
    id.map(|raw| stored_id(&raw)).transpose()
}

/// Every organisation's id, in id order (the retention purge walks them).
pub fn all_ids(conn: &mut DbConn) -> Result<Vec<String>, RepoError> {
    Ok(organisations::table
        .order(organisations::id.asc())
        .select(organisations::id)
        .load(conn)?)
}
