//! The organisation's dial policy: one `dial_rules` row per blocked prefix
//! or do-not-call number, and a `dial_policies` row saying when it was set.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::{dial_policies, dial_rules};
use crate::domain::dial_policy::DialRules;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;

const BLOCKED_PREFIX: &str = "blocked_prefix";
const DO_NOT_CALL: &str = "do_not_call";

/// The rules in force and when they were last set (`None`: never).
pub fn get(conn: &mut DbConn, org: OrgId) -> Result<(DialRules, Option<Micros>), RepoError> {
    let rows: Vec<(String, String)> = dial_rules::table
        .filter(dial_rules::org_id.eq(org.to_string()))
        .select((dial_rules::kind, dial_rules::value))
        .load(conn)?;
    let mut rules = DialRules::default();
    for (kind, value) in rows {
        match kind.as_str() {
            BLOCKED_PREFIX => rules.blocked_prefixes.insert(value),
            DO_NOT_CALL => rules.do_not_call.insert(value),
            other => return Err(RepoError::Corrupt(format!("dial rule kind {other:?}"))),
        };
    }
    let updated_at = dial_policies::table
        .filter(dial_policies::org_id.eq(org.to_string()))
        .select(dial_policies::updated_at)
        .first(conn)
        .optional()?;
    Ok((rules, updated_at))
}

/// Replaces the whole policy. Call inside a write transaction holding the
/// organisation's lock (two replacements at once would collide on the rule
/// keys).
pub fn replace(
    conn: &mut DbConn,
    org: OrgId,
    rules: &DialRules,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    let org_id = org.to_string();
    diesel::delete(dial_rules::table.filter(dial_rules::org_id.eq(&org_id))).execute(conn)?;
    // One statement per row: MultiConnection has no batch insert.
    let rows = rules
        .blocked_prefixes
        .iter()
        .map(|v| (BLOCKED_PREFIX, v))
        .chain(rules.do_not_call.iter().map(|v| (DO_NOT_CALL, v)));
    for (kind, value) in rows {
        diesel::insert_into(dial_rules::table)
            .values((
                dial_rules::org_id.eq(&org_id),
                dial_rules::kind.eq(kind),
                dial_rules::value.eq(value),
            ))
            .execute(conn)?;
    }
    let updated = diesel::update(dial_policies::table.filter(dial_policies::org_id.eq(&org_id)))
        .set((
            dial_policies::updated_at.eq(now),
            dial_policies::updated_by.eq(by.to_string()),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(dial_policies::table)
            .values((
                dial_policies::org_id.eq(&org_id),
                dial_policies::updated_at.eq(now),
                dial_policies::updated_by.eq(by.to_string()),
            ))
            .execute(conn)?;
    }
    Ok(())
}
