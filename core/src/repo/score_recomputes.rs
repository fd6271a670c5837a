//! The `score_recomputes` table: one row per rule change, the progress of
//! rebuilding the organisation's contacts under the new version.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::score_recomputes;
use crate::ids::{OrgId, ScoreRecomputeId};
use crate::time::Micros;
use crate::wire::ScoreRecomputeState;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = score_recomputes)]
#[diesel(treat_none_as_default_value = false)]
pub struct RecomputeRow {
    pub id: ScoreRecomputeId,
    pub org_id: OrgId,
    pub rule_version: i64,
    pub state: ScoreRecomputeState,
    pub contacts_total: i64,
    pub contacts_done: i64,
    pub cursor: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &RecomputeRow) -> Result<(), RepoError> {
    diesel::insert_into(score_recomputes::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn get(conn: &mut DbConn, org: OrgId, id: ScoreRecomputeId) -> Result<RecomputeRow, RepoError> {
    Ok(score_recomputes::table
        .filter(score_recomputes::org_id.eq(org))
        .filter(score_recomputes::id.eq(id))
        .select(RecomputeRow::as_select())
        .first(conn)?)
}

/// Records a batch: the last contact done, how many are done, and the
/// state (a finished one gets `finished_at`).
pub fn advance(conn: &mut DbConn, row: &RecomputeRow, now: Micros) -> Result<(), RepoError> {
    let finished = (row.state != ScoreRecomputeState::Running).then_some(now);
    diesel::update(score_recomputes::table.filter(score_recomputes::id.eq(row.id)))
        .set((
            score_recomputes::state.eq(row.state),
            score_recomputes::contacts_done.eq(row.contacts_done),
            score_recomputes::contacts_total.eq(row.contacts_total),
            score_recomputes::cursor.eq(&row.cursor),
            score_recomputes::finished_at.eq(finished),
        ))
        .execute(conn)?;
    Ok(())
}

/// The organisation's newest recompute, if its rules ever changed.
pub fn latest(conn: &mut DbConn, org: OrgId) -> Result<Option<RecomputeRow>, RepoError> {
    Ok(score_recomputes::table
        .filter(score_recomputes::org_id.eq(org))
        .order((
            score_recomputes::created_at.desc(),
            score_recomputes::rule_version.desc(),
        ))
        .select(RecomputeRow::as_select())
        .first(conn)
        .optional()?)
}
