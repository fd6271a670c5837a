//! The `score_events` table: the append-only score ledger. A row is never
//! changed, except that a contact merge moves the merged contact's rows to
//! the surviving contact as archived rows (version 0, never summed).

use diesel::prelude::*;
use diesel::sql_types::Text;

use super::{DbConn, RepoError};
use crate::db::dialect;
use crate::db::schema::score_events;
use crate::ids::{ContactId, OrgId};
use crate::time::Micros;

/// The version of rows moved from a merged contact: kept, never summed.
pub const ARCHIVED_VERSION: i64 = 0;

#[derive(Debug, Clone, PartialEq, Eq, Insertable)]
#[diesel(table_name = score_events)]
pub struct NewScoreEvent {
    pub org_id: String,
    pub contact_id: String,
    pub rule_version: i64,
    pub rule_key: String,
    pub trigger_key: String,
    pub call_record_id: Option<String>,
    pub points: i64,
    pub label: String,
    pub at: Micros,
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = score_events)]
pub struct ScoreEventRow {
    pub seq: i64,
    pub contact_id: String,
    pub rule_version: i64,
    pub rule_key: String,
    pub trigger_key: String,
    pub call_record_id: Option<String>,
    pub points: i64,
    pub label: String,
    pub at: i64,
}

/// Keys per `IN (...)` list.
const KEY_CHUNK: usize = 500;
/// Rows per multi-row INSERT (9 columns each).
const INSERT_CHUNK: usize = 500;

/// The rows of `contacts` scored under `version`.
pub fn of_contacts(
    conn: &mut DbConn,
    contacts: &[String],
    version: i64,
) -> Result<Vec<ScoreEventRow>, RepoError> {
    let mut rows = Vec::new();
    for chunk in contacts.chunks(KEY_CHUNK) {
        rows.extend(
            score_events::table
                .filter(score_events::contact_id.eq_any(chunk))
                .filter(score_events::rule_version.eq(version))
                .select(ScoreEventRow::as_select())
                .load(conn)?,
        );
    }
    Ok(rows)
}

/// Per contact and rule: how many rows of `version` and their points
/// (what incremental scoring needs of the ledger besides a few keys).
pub fn sums_by_rule(
    conn: &mut DbConn,
    contacts: &[String],
    version: i64,
) -> Result<Vec<(String, String, i64, i64)>, RepoError> {
    use diesel::dsl::{count_star, sql};
    let mut rows = Vec::new();
    for chunk in contacts.chunks(KEY_CHUNK) {
        // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both.
        let points = sql::<diesel::sql_types::BigInt>("CAST(COALESCE(SUM(points), 0) AS BIGINT)");
        rows.extend(
            score_events::table
                .filter(score_events::contact_id.eq_any(chunk))
                .filter(score_events::rule_version.eq(version))
                .group_by((score_events::contact_id, score_events::rule_key))
                .select((
                    score_events::contact_id,
                    score_events::rule_key,
                    count_star(),
                    points,
                ))
                .load::<(String, String, i64, i64)>(conn)?,
        );
    }
    Ok(rows)
}

/// The rows of `contacts` under `version` whose trigger key is one of
/// `triggers`.
pub fn with_triggers(
    conn: &mut DbConn,
    contacts: &[String],
    version: i64,
    triggers: &[String],
) -> Result<Vec<ScoreEventRow>, RepoError> {
    let mut rows = Vec::new();
    for owners in contacts.chunks(KEY_CHUNK) {
        for chunk in triggers.chunks(KEY_CHUNK) {
            rows.extend(
                score_events::table
                    .filter(score_events::contact_id.eq_any(owners))
                    .filter(score_events::rule_version.eq(version))
                    .filter(score_events::trigger_key.eq_any(chunk))
                    .select(ScoreEventRow::as_select())
                    .load(conn)?,
            );
        }
    }
    Ok(rows)
}

/// Appends rows in multi-row INSERTs; `Conflict` if one was written
/// already (callers read the written keys first, under the lock).
pub fn insert_many(conn: &mut DbConn, rows: &[NewScoreEvent]) -> Result<(), RepoError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        dialect::insert_batch(conn, diesel::insert_into(score_events::table).values(chunk))?;
    }
    Ok(())
}

/// One page of the contact's rows of `version`, in ledger order, after
/// `after_seq`.
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    version: i64,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ScoreEventRow>, RepoError> {
    Ok(score_events::table
        .filter(score_events::org_id.eq(org))
        .filter(score_events::contact_id.eq(contact))
        .filter(score_events::rule_version.eq(version))
        .filter(score_events::seq.gt(after_seq.unwrap_or(0)))
        .order(score_events::seq.asc())
        .limit(limit)
        .select(ScoreEventRow::as_select())
        .load(conn)?)
}

/// Moves `from`'s rows to `to` as archived rows (their trigger key
/// prefixed with `from`'s id, so they never collide); returns how many.
pub fn archive_to(
    conn: &mut DbConn,
    org: OrgId,
    from: ContactId,
    to: ContactId,
) -> Result<usize, RepoError> {
    let prefix = format!("merged:{from}:");
    Ok(diesel::update(
        score_events::table
            .filter(score_events::org_id.eq(org))
            .filter(score_events::contact_id.eq(from)),
    )
    .set((
        score_events::contact_id.eq(to),
        score_events::rule_version.eq(ARCHIVED_VERSION),
        score_events::trigger_key.eq(prefix.into_sql::<Text>().concat(score_events::trigger_key)),
    ))
    .execute(conn)?)
}

/// Deletes the contact's rows (the contact is deleted).
pub fn delete_of(conn: &mut DbConn, org: OrgId, contact: ContactId) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        score_events::table
            .filter(score_events::org_id.eq(org))
            .filter(score_events::contact_id.eq(contact)),
    )
    .execute(conn)?)
}

/// Per rule: its label, how many rows and their points, for `contact`'s
/// rows under `version` (the console's "why this score").
pub fn totals_by_rule(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    version: i64,
) -> Result<Vec<(String, i64, i64)>, RepoError> {
    use diesel::dsl::{count_star, sql};
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both.
    let points = sql::<diesel::sql_types::BigInt>("CAST(COALESCE(SUM(points), 0) AS BIGINT)");
    let rows: Vec<(String, String, i64, i64)> = score_events::table
        .filter(score_events::org_id.eq(org))
        .filter(score_events::contact_id.eq(contact))
        .filter(score_events::rule_version.eq(version))
        .group_by((score_events::rule_key, score_events::label))
        .select((
            score_events::rule_key,
            score_events::label,
            count_star(),
            points,
        ))
        .order(score_events::rule_key.asc())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(_, label, count, points)| (label, count, points))
        .collect())
}

/// `contact`'s newest `limit` rows under `version`, newest first.
pub fn latest(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    version: i64,
    limit: i64,
) -> Result<Vec<ScoreEventRow>, RepoError> {
    Ok(score_events::table
        .filter(score_events::org_id.eq(org))
        .filter(score_events::contact_id.eq(contact))
        .filter(score_events::rule_version.eq(version))
        .order(score_events::seq.desc())
        .limit(limit)
        .select(ScoreEventRow::as_select())
        .load(conn)?)
}
