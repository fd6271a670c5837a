//! The `api_keys` table: an organisation's keys for integrations, found by
//! the SHA-256 of the presented key.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::api_keys;
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{ApiKey, ApiKeyScope, Page};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = api_keys)]
pub struct ApiKeyRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub scopes: String,
    pub prefix: String,
    pub secret_hash: String,
    pub created_by: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
}

impl ApiKeyRow {
    /// The stored scopes; a name this build does not know is corrupt data.
    pub fn scope_list(&self) -> Result<Vec<ApiKeyScope>, RepoError> {
        self.scopes
            .split_whitespace()
            .map(|s| {
                ApiKeyScope::parse(s)
                    .ok_or_else(|| RepoError::Corrupt(format!("api key scope {s:?}")))
            })
            .collect()
    }

    pub fn to_wire(&self) -> Result<ApiKey, RepoError> {
        Ok(ApiKey {
            id: stored_id(&self.id)?,
            name: self.name.clone(),
            scopes: self.scope_list()?,
            prefix: self.prefix.clone(),
            created_at: to_datetime(self.created_at),
            created_by: stored_id(&self.created_by)?,
            last_used_at: self.last_used_at.map(to_datetime),
            revoked_at: self.revoked_at.map(to_datetime),
            revoked_by: self.revoked_by.as_deref().map(stored_id).transpose()?,
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &ApiKeyRow) -> Result<(), RepoError> {
    diesel::insert_into(api_keys::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Keys of the organisation that are not revoked.
pub fn count_active(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(api_keys::table
        .filter(api_keys::org_id.eq(org.to_string()))
        .filter(api_keys::revoked_at.is_null())
        .count()
        .get_result(conn)?)
}

pub fn get(conn: &mut DbConn, org: OrgId, id: ApiKeyId) -> Result<ApiKeyRow, RepoError> {
    Ok(api_keys::table
        .filter(api_keys::org_id.eq(org.to_string()))
        .filter(api_keys::id.eq(id.to_string()))
        .select(ApiKeyRow::as_select())
        .first(conn)?)
}

/// The organisation's keys, revoked ones included, oldest first.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    page: &PageRequest,
) -> Result<Page<ApiKeyRow>, RepoError> {
    let mut query = api_keys::table
        .filter(api_keys::org_id.eq(org.to_string()))
        .select(ApiKeyRow::as_select())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(api_keys::id.gt(after.clone()));
    }
    let rows = query
        .order(api_keys::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// The key with this secret hash that is not revoked, if any.
pub fn active_by_hash(conn: &mut DbConn, hash: &str) -> Result<Option<ApiKeyRow>, RepoError> {
    Ok(api_keys::table
        .filter(api_keys::secret_hash.eq(hash))
        .filter(api_keys::revoked_at.is_null())
        .select(ApiKeyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Marks the key revoked unless it is already; whether this call did it.
pub fn revoke(
    conn: &mut DbConn,
    org: OrgId,
    id: ApiKeyId,
    by: UserId,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        api_keys::table
            .filter(api_keys::org_id.eq(org.to_string()))
            .filter(api_keys::id.eq(id.to_string()))
            .filter(api_keys::revoked_at.is_null()),
    )
    .set((
        api_keys::revoked_at.eq(now),
        api_keys::revoked_by.eq(by.to_string()),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// Records a use at `now` unless one was recorded after `not_before`: at
/// most one write per key in that interval, however busy the key is.
pub fn touch(
    conn: &mut DbConn,
    id: ApiKeyId,
    now: Micros,
    not_before: Micros,
) -> Result<(), RepoError> {
    diesel::update(
        api_keys::table
            .filter(api_keys::id.eq(id.to_string()))
            .filter(
                api_keys::last_used_at
                    .is_null()
                    .or(api_keys::last_used_at.lt(not_before)),
            ),
    )
    .set(api_keys::last_used_at.eq(now))
    .execute(conn)?;
    Ok(())
}
