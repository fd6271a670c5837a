//! The `blocklist_entries` table (docs/blocklist.md): one row per entry of
//! an organisation's blocklist and allow-list, by number or prefix, scoped
//! to the organisation, a team or a user.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::blocklist_entries as entries;
use crate::domain::blocklist::Candidate;
use crate::ids::{BlocklistEntryId, OrgId};
use crate::time::{Micros, to_datetime};
use crate::wire::{
    BlockedBy, BlocklistEntry, BlocklistKind, BlocklistPattern, BlocklistScope, Page,
};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = entries)]
pub struct EntryRow {
    pub id: BlocklistEntryId,
    pub org_id: OrgId,
    pub kind: BlocklistKind,
    pub scope: BlocklistScope,
    pub scope_id: String,
    pub pattern: BlocklistPattern,
    pub value: String,
    pub label: String,
    pub reason: String,
    pub expires_at: Option<Micros>,
    pub created_at: Micros,
    pub created_by: Option<String>,
    pub updated_at: Micros,
}

impl EntryRow {
    pub fn to_wire(&self) -> Result<BlocklistEntry, RepoError> {
        let (team_id, user_id) = match self.scope {
            BlocklistScope::Organisation => (None, None),
            BlocklistScope::Team => (Some(stored_id(&self.scope_id)?), None),
            BlocklistScope::User => (None, Some(stored_id(&self.scope_id)?)),
        };
        Ok(BlocklistEntry {
            id: self.id,
            kind: self.kind,
            scope: self.scope,
            team_id,
            user_id,
            pattern: self.pattern,
            value: self.value.clone(),
            label: self.label.clone(),
            reason: self.reason.clone(),
            expires_at: self.expires_at.map(to_datetime),
            created_at: to_datetime(self.created_at),
            created_by: self.created_by.as_deref().map(stored_id).transpose()?,
            updated_at: to_datetime(self.updated_at),
        })
    }

    pub fn candidate(&self) -> Candidate {
        Candidate {
            id: self.id.to_string(),
            kind: self.kind,
            scope: self.scope,
            scope_id: self.scope_id.clone(),
            pattern: self.pattern,
            value: self.value.clone(),
            expires_at: self.expires_at,
        }
    }

    pub fn blocked_by(&self) -> BlockedBy {
        BlockedBy {
            entry_id: self.id,
            scope: self.scope,
            pattern: self.pattern,
            value: self.value.clone(),
            label: self.label.clone(),
            reason: self.reason.clone(),
        }
    }
}

/// Whose entries a caller reads: every one (`all`), else the
/// organisation's and those of these teams and users.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub all: bool,
    pub team_ids: Vec<String>,
    pub user_ids: Vec<String>,
}

/// The list filters of `GET /v1/blocklist`; `number` finds the entries
/// whose value is one of these match keys (the number and its prefixes).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub kind: Option<BlocklistKind>,
    pub scope: Option<BlocklistScope>,
    pub match_keys: Option<Vec<String>>,
}

type Boxed<'a> = entries::BoxedQuery<
    'a,
    crate::db::DbBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<EntryRow, crate::db::DbBackend>>,
>;

fn reached<'a>(org: OrgId, reach: &Reach) -> Boxed<'a> {
    let query = entries::table
        .filter(entries::org_id.eq(org))
        .select(EntryRow::as_select())
        .into_boxed();
    if reach.all {
        return query;
    }
    query.filter(
        entries::scope
            .eq(BlocklistScope::Organisation)
            .or(entries::scope
                .eq(BlocklistScope::Team)
                .and(entries::scope_id.eq_any(reach.team_ids.clone())))
            .or(entries::scope
                .eq(BlocklistScope::User)
                .and(entries::scope_id.eq_any(reach.user_ids.clone()))),
    )
}

pub fn insert(conn: &mut DbConn, row: &EntryRow) -> Result<(), RepoError> {
    diesel::insert_into(entries::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: BlocklistEntryId,
) -> Result<Option<EntryRow>, RepoError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org))
        .filter(entries::id.eq(id))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

/// The entry with this scope and match, if any (the unique key).
pub fn find(
    conn: &mut DbConn,
    org: OrgId,
    scope: BlocklistScope,
    scope_id: &str,
    pattern: BlocklistPattern,
    value: &str,
) -> Result<Option<EntryRow>, RepoError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org))
        .filter(entries::scope.eq(scope))
        .filter(entries::scope_id.eq(scope_id))
        .filter(entries::pattern.eq(pattern))
        .filter(entries::value.eq(value))
        .select(EntryRow::as_select())
        .first(conn)
        .optional()?)
}

/// Writes the changeable columns of `row` (kind, label, reason, expiry).
pub fn update(conn: &mut DbConn, row: &EntryRow) -> Result<(), RepoError> {
    let n = diesel::update(
        entries::table
            .filter(entries::org_id.eq(row.org_id))
            .filter(entries::id.eq(row.id)),
    )
    .set((
        entries::kind.eq(row.kind),
        entries::label.eq(&row.label),
        entries::reason.eq(&row.reason),
        entries::expires_at.eq(row.expires_at),
        entries::updated_at.eq(row.updated_at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

pub fn delete(conn: &mut DbConn, org: OrgId, id: BlocklistEntryId) -> Result<bool, RepoError> {
    let n = diesel::delete(
        entries::table
            .filter(entries::org_id.eq(org))
            .filter(entries::id.eq(id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// Deletes these entries of the organisation; how many went.
pub fn delete_many(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[BlocklistEntryId],
) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        entries::table
            .filter(entries::org_id.eq(org))
            .filter(entries::id.eq_any(ids)),
    )
    .execute(conn)?)
}

/// Deletes up to `limit` entries (of any organisation) that expired
/// before `cutoff`, oldest first; returns how many.
pub fn purge_expired(conn: &mut DbConn, cutoff: Micros, limit: i64) -> Result<usize, RepoError> {
    let ids: Vec<String> = entries::table
        .filter(entries::expires_at.lt(cutoff))
        .order(entries::expires_at.asc())
        .limit(limit)
        .select(entries::id)
        .load(conn)?;
    if ids.is_empty() {
        return Ok(0);
    }
    Ok(diesel::delete(
        entries::table
            .filter(entries::id.eq_any(&ids))
            .filter(entries::expires_at.lt(cutoff)),
    )
    .execute(conn)?)
}

/// How many entries the organisation has (the limit counts expired ones
/// too until housekeeping purges them).
pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org))
        .count()
        .get_result(conn)?)
}

/// Every entry of the organisation whose value is one of `keys` (a
/// number and its prefixes, for one or several numbers), by the
/// (org_id, value) index. The caller decides which apply.
pub fn candidates(
    conn: &mut DbConn,
    org: OrgId,
    keys: &[String],
) -> Result<Vec<EntryRow>, RepoError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    Ok(entries::table
        .filter(entries::org_id.eq(org))
        .filter(entries::value.eq_any(keys))
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// The organisation-scope entries of one kind (the dial policy's view).
pub fn of_organisation(
    conn: &mut DbConn,
    org: OrgId,
    kind: BlocklistKind,
) -> Result<Vec<EntryRow>, RepoError> {
    Ok(entries::table
        .filter(entries::org_id.eq(org))
        .filter(entries::scope.eq(BlocklistScope::Organisation))
        .filter(entries::kind.eq(kind))
        .order(entries::id.asc())
        .select(EntryRow::as_select())
        .load(conn)?)
}

/// One page of the entries `reach` covers, in id order.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    reach: &Reach,
    filter: &Filter,
    page: &PageRequest,
) -> Result<Page<EntryRow>, RepoError> {
    let mut query = reached(org, reach);
    if let Some(kind) = filter.kind {
        query = query.filter(entries::kind.eq(kind));
    }
    if let Some(scope) = filter.scope {
        query = query.filter(entries::scope.eq(scope));
    }
    if let Some(keys) = &filter.match_keys {
        query = query.filter(entries::value.eq_any(keys.clone()));
    }
    if let Some(after) = &page.after {
        query = query.filter(entries::id.gt(after.clone()));
    }
    let rows = query
        .order(entries::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.to_string(), |r| r))
}

/// Every entry `reach` covers, in id order (the export; bounded by the
/// per-organisation limit).
pub fn all(conn: &mut DbConn, org: OrgId, reach: &Reach) -> Result<Vec<EntryRow>, RepoError> {
    Ok(reached(org, reach).order(entries::id.asc()).load(conn)?)
}
