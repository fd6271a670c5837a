//! The `contacts` table: one row per contact, scoped to its organisation.
//! Its numbers are `contact_numbers` (the number search reads them in a
//! subquery); the transactions are in `usecases::contacts`.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError};
use crate::db::dialect::{self, BindValue};
use crate::db::schema::{contact_numbers, contacts};
use crate::ids::{ContactId, OrgId, UserId};
use crate::time::Micros;
use crate::wire::{ContactSource, Page};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = contacts)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct ContactRow {
    pub id: ContactId,
    pub org_id: OrgId,
    pub name: String,
    pub company: Option<String>,
    pub notes: Option<String>,
    pub email: Option<String>,
    /// A JSON array of strings.
    pub tags: String,
    pub external_id: Option<String>,
    pub owner_id: Option<UserId>,
    /// A JSON object of strings.
    pub custom_fields: String,
    pub source: ContactSource,
    /// Kept by scoring alone (`set_scores`), never by an edit's row.
    #[diesel(skip_update)]
    pub score: i64,
    /// `domain::contacts::search_text` of name and company.
    pub search_text: String,
    pub created_at: Micros,
    pub updated_at: Micros,
}

/// What the list and the export filter on; all optional, combined with AND.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Only contacts this user owns (a salesperson when the organisation
    /// restricts them to their own).
    pub visible_owner: Option<UserId>,
    /// The `owner_id` filter.
    pub owner: Option<UserId>,
    /// Lower-cased text that name or company contains.
    pub q: Option<String>,
    /// Digits one of the contact's numbers contains (raw or E.164).
    pub digits: Option<String>,
    /// A tag the contact has, exactly.
    pub tag: Option<String>,
}

type Boxed<'a> = contacts::BoxedQuery<'a, crate::db::DbBackend>;

/// `%`, `_` and the escape character itself, escaped for `LIKE ... ESCAPE '\'`.
fn like_escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn filtered(org: OrgId, filter: &ContactFilter) -> Boxed<'static> {
    let mut query = contacts::table
        .filter(contacts::org_id.eq(org))
        .into_boxed();
    if let Some(me) = filter.visible_owner {
        query = query.filter(contacts::owner_id.eq(me));
    }
    if let Some(owner) = filter.owner {
        query = query.filter(contacts::owner_id.eq(owner));
    }
    if let Some(q) = &filter.q {
        query = query.filter(
            contacts::search_text
                .like(format!("%{}%", like_escaped(q)))
                .escape('\\'),
        );
    }
    if let Some(tag) = &filter.tag {
        // Tags hold no `"` (domain::contacts::tag), so the JSON array
        // contains `"tag"` exactly when the contact has the tag.
        query = query.filter(
            contacts::tags
                .like(format!("%\"{}\"%", like_escaped(tag)))
                .escape('\\'),
        );
    }
    if let Some(digits) = &filter.digits {
        query = query.filter(
            contacts::id.eq_any(
                contact_numbers::table
                    .filter(contact_numbers::org_id.eq(org))
                    .filter(contact_numbers::digits.like(format!("%{digits}%")))
                    .select(contact_numbers::contact_id),
            ),
        );
    }
    query
}

/// One page in creation order (keyset on the id).
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    filter: &ContactFilter,
    page: &PageRequest,
) -> Result<Page<ContactRow>, RepoError> {
    let mut query = filtered(org, filter);
    if let Some(after) = &page.after {
        query = query.filter(contacts::id.gt(after.clone()));
    }
    let rows = query
        .select(ContactRow::as_select())
        .order(contacts::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.to_string(), |r| r))
}

pub fn get(conn: &mut DbConn, org: OrgId, id: ContactId) -> Result<ContactRow, RepoError> {
    Ok(contacts::table
        .filter(contacts::org_id.eq(org))
        .filter(contacts::id.eq(id))
        .select(ContactRow::as_select())
        .first(conn)?)
}

/// The organisation's contacts among `ids` (in no particular order).
pub fn by_ids(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[ContactId],
) -> Result<Vec<ContactRow>, RepoError> {
    Ok(contacts::table
        .filter(contacts::org_id.eq(org))
        .filter(contacts::id.eq_any(ids))
        .select(ContactRow::as_select())
        .load(conn)?)
}

pub fn by_external_id(
    conn: &mut DbConn,
    org: OrgId,
    external_id: &str,
) -> Result<Option<ContactRow>, RepoError> {
    Ok(contacts::table
        .filter(contacts::org_id.eq(org))
        .filter(contacts::external_id.eq(external_id))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?)
}

/// `Conflict` when the external id is taken in the organisation.
pub fn insert(conn: &mut DbConn, row: &ContactRow) -> Result<(), RepoError> {
    diesel::insert_into(contacts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Inserts several rows in one statement (new provisional contacts).
pub fn insert_many(conn: &mut DbConn, rows: &[ContactRow]) -> Result<(), RepoError> {
    crate::db::dialect::insert_batch(conn, diesel::insert_into(contacts::table).values(rows))?;
    Ok(())
}

/// Writes every column of a stored row; `Conflict` as for [`insert`].
pub fn update(conn: &mut DbConn, row: &ContactRow) -> Result<(), RepoError> {
    let n = diesel::update(
        contacts::table
            .filter(contacts::org_id.eq(row.org_id))
            .filter(contacts::id.eq(row.id)),
    )
    .set(row)
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// Deletes the contact row (its numbers first: `contact_numbers`).
pub fn delete(conn: &mut DbConn, org: OrgId, id: ContactId) -> Result<(), RepoError> {
    let n = diesel::delete(
        contacts::table
            .filter(contacts::org_id.eq(org))
            .filter(contacts::id.eq(id)),
    )
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// Each of `ids`' score and the rule-set version it was built under (for
/// the organisation's contacts among them).
pub fn scores(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[ContactId],
) -> Result<Vec<(ContactId, i64, Option<i64>)>, RepoError> {
    Ok(contacts::table
        .filter(contacts::org_id.eq(org))
        .filter(contacts::id.eq_any(ids))
        .select((contacts::id, contacts::score, contacts::score_version))
        .load(conn)?)
}

/// Scores per UPDATE in [`set_scores`]: three binds each, far below both
/// databases' limits.
const SCORES_CHUNK: usize = 500;

/// Stores the scores the ledger sums to, and the rule-set version they
/// were built under: one UPDATE per 500 contacts (`score = CASE id WHEN ..
/// THEN .. END`) instead of one per contact, which was a tenth of an
/// ingest batch's time on PostgreSQL.
pub fn set_scores(
    conn: &mut DbConn,
    scores: &[(ContactId, i64)],
    version: i64,
) -> Result<(), RepoError> {
    let backend = dialect::backend_of(conn);
    for chunk in scores.chunks(SCORES_CHUNK) {
        let ids: Vec<String> = chunk.iter().map(|(id, _)| id.to_string()).collect();
        let mut binds = Vec::with_capacity(3 * chunk.len() + 1);
        let mut cases = String::new();
        for (id, (_, score)) in ids.iter().zip(chunk) {
            binds.push(BindValue::Text(id));
            binds.push(BindValue::BigInt(*score));
            let (when, then) = (binds.len() - 1, binds.len());
            cases.push_str(&format!(
                " WHEN {} THEN {}",
                dialect::placeholder(backend, when),
                dialect::placeholder(backend, then)
            ));
        }
        binds.push(BindValue::BigInt(version));
        let version_at = dialect::placeholder(backend, binds.len());
        let mut list = Vec::with_capacity(ids.len());
        for id in &ids {
            binds.push(BindValue::Text(id));
            list.push(dialect::placeholder(backend, binds.len()));
        }
        let sql = format!(
            "UPDATE contacts SET score = CASE id{cases} ELSE score END, \
             score_version = {version_at} WHERE id IN ({})",
            list.join(", ")
        );
        dialect::execute_raw(conn, &sql, &binds)?;
    }
    Ok(())
}

/// Up to `limit` of the organisation's contact ids after `after`, in id
/// order (a recompute walks them).
pub fn ids_after(
    conn: &mut DbConn,
    org: OrgId,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<ContactId>, RepoError> {
    let mut query = contacts::table
        .filter(contacts::org_id.eq(org))
        .select(contacts::id)
        .order(contacts::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(contacts::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// How many contacts the organisation has.
pub fn count(conn: &mut DbConn, org: OrgId) -> Result<i64, RepoError> {
    Ok(contacts::table
        .filter(contacts::org_id.eq(org))
        .count()
        .get_result(conn)?)
}

#[cfg(test)]
mod tests {
    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(super::like_escaped(r"50%_a\b"), r"50\%\_a\\b");
    }
}
