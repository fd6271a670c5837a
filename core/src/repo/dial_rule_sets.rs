//! The `dial_rule_sets` table: the organisation's dial authorisation rules
//! (one JSON document, checked by `domain::dial_rules` before it is
//! stored) and their version, which every replacement compares and bumps.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::dial_rule_sets;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;
use crate::wire::DialRuleSet;

/// The rules in force, their version and when they were stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRules {
    pub version: i64,
    pub set: DialRuleSet,
    pub updated_at: Micros,
}

/// The organisation's rules (`None`: never set, everything allowed).
pub fn current(conn: &mut DbConn, org: OrgId) -> Result<Option<StoredRules>, RepoError> {
    let row: Option<(i64, String, i64)> = dial_rule_sets::table
        .filter(dial_rule_sets::org_id.eq(org.to_string()))
        .select((
            dial_rule_sets::version,
            dial_rule_sets::rules,
            dial_rule_sets::updated_at,
        ))
        .first(conn)
        .optional()?;
    row.map(|(version, rules, updated_at)| {
        let set = serde_json::from_str(&rules)
            .map_err(|e| RepoError::Corrupt(format!("dial rules {org} v{version}: {e}")))?;
        Ok(StoredRules {
            version,
            set,
            updated_at,
        })
    })
    .transpose()
}

/// Stores `set` as version `read + 1` if the stored version is still
/// `read` (0: none stored); `false` when another change came first.
pub fn replace(
    conn: &mut DbConn,
    org: OrgId,
    read: i64,
    set: &DialRuleSet,
    by: UserId,
    now: Micros,
) -> Result<bool, RepoError> {
    let rules = serde_json::to_string(set)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable dial rules: {e}")))?;
    let org_id = org.to_string();
    if read == 0 {
        let inserted = diesel::insert_into(dial_rule_sets::table)
            .values((
                dial_rule_sets::org_id.eq(&org_id),
                dial_rule_sets::version.eq(1_i64),
                dial_rule_sets::rules.eq(rules),
                dial_rule_sets::updated_at.eq(now),
                dial_rule_sets::updated_by.eq(by.to_string()),
            ))
            .execute(conn);
        return match inserted.map_err(RepoError::from) {
            Ok(_) => Ok(true),
            Err(RepoError::Conflict) => Ok(false),
            Err(e) => Err(e),
        };
    }
    let updated = diesel::update(
        dial_rule_sets::table
            .filter(dial_rule_sets::org_id.eq(&org_id))
            .filter(dial_rule_sets::version.eq(read)),
    )
    .set((
        dial_rule_sets::version.eq(read + 1),
        dial_rule_sets::rules.eq(rules),
        dial_rule_sets::updated_at.eq(now),
        dial_rule_sets::updated_by.eq(by.to_string()),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}
