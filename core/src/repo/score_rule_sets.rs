//! The `score_rule_sets` table: every rule set an organisation has had, by
//! version (the highest is in force). The set itself is a JSON column,
//! checked by `domain::scoring` before it is stored.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::score_rule_sets;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;
use crate::wire::ScoreRuleSet;

/// The set in force: its version, the set, and when it was stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSet {
    pub version: i64,
    pub set: ScoreRuleSet,
    pub created_at: Micros,
}

/// The organisation's set in force (`NotFound` for an unknown one).
pub fn current(conn: &mut DbConn, org: OrgId) -> Result<StoredSet, RepoError> {
    let (version, rules, created_at): (i64, String, i64) = score_rule_sets::table
        .filter(score_rule_sets::org_id.eq(org))
        .order(score_rule_sets::version.desc())
        .select((
            score_rule_sets::version,
            score_rule_sets::rules,
            score_rule_sets::created_at,
        ))
        .first(conn)?;
    let set = serde_json::from_str(&rules)
        .map_err(|e| RepoError::Corrupt(format!("score rules {org} v{version}: {e}")))?;
    Ok(StoredSet {
        version,
        set,
        created_at,
    })
}

/// Stores `set` as `version`; `Conflict` when that version exists (two
/// writers raced: the second is refused).
pub fn insert(
    conn: &mut DbConn,
    org: OrgId,
    version: i64,
    set: &ScoreRuleSet,
    by: Option<UserId>,
    now: Micros,
) -> Result<(), RepoError> {
    let rules = serde_json::to_string(set)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable score rules: {e}")))?;
    diesel::insert_into(score_rule_sets::table)
        .values((
            score_rule_sets::org_id.eq(org),
            score_rule_sets::version.eq(version),
            score_rule_sets::rules.eq(rules),
            score_rule_sets::created_at.eq(now),
            score_rule_sets::created_by.eq(by),
        ))
        .execute(conn)?;
    Ok(())
}
