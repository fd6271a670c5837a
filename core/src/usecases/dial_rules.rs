//! The organisation's dial authorisation rules (`/v1/dial-rules`,
//! docs/dialing.md, "Dial authorisation"): reading them, and replacing the
//! whole set, which must name the version it replaces (a stale one is
//! refused) and writes `dial_rules.replaced` to the audit log in the same
//! transaction. Commands already queued are not re-checked.

use super::audit::{Entry, by_user};
use crate::db::{Database, DbConn};
use crate::domain::FieldError;
use crate::domain::dial_rules::Rules;
use crate::ids::{OrgId, TeamId, UserId};
use crate::repo::dial_rule_sets::{self, StoredRules};
use crate::repo::{RepoError, orgs, teams};
use crate::time::Micros;
use crate::wire::{AuditAction, DialRuleSet, ErrorCode};

#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The version named is no longer the one stored.
    #[error("dial rules changed")]
    Changed,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for ReplaceError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<crate::db::DbError> for ReplaceError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// The rules stored (`None`: never set; everything is allowed).
pub fn read(conn: &mut DbConn, org: OrgId) -> Result<Option<StoredRules>, RepoError> {
    dial_rule_sets::current(conn, org)
}

/// Replaces the set stored as `version` (0: none yet) with `set`.
pub async fn replace(
    db: &Database,
    org: OrgId,
    by: UserId,
    version: i64,
    set: DialRuleSet,
    now: Micros,
) -> Result<StoredRules, ReplaceError> {
    Rules::parse(&set)?;
    db.write(move |conn| replace_in(conn, org, by, version, set, now))
        .await
}

fn replace_in(
    conn: &mut DbConn,
    org: OrgId,
    by: UserId,
    version: i64,
    set: DialRuleSet,
    now: Micros,
) -> Result<StoredRules, ReplaceError> {
    let rules = Rules::parse(&set)?;
    let named: Vec<TeamId> = rules
        .team_ids()
        .into_iter()
        .filter_map(|t| t.parse().ok())
        .collect();
    let found = teams::existing_ids(conn, org, &named)?;
    if let Some(missing) = named.iter().find(|t| !found.contains(t)) {
        return Err(FieldError::new(
            "team_id",
            ErrorCode::UnknownTeam,
            format!("no team {missing} in this organisation"),
        )
        .into());
    }
    orgs::lock(conn, &org.to_string())?;
    let stored = dial_rule_sets::current(conn, org)?.map_or(0, |s| s.version);
    if stored != version || !dial_rule_sets::replace(conn, org, version, &set, by, now)? {
        return Err(ReplaceError::Changed);
    }
    let as_json = serde_json::to_value(&set)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable dial rules: {e}")))?;
    Entry::about_org(org, AuditAction::DialRulesReplaced, by_user(by))
        .detail("version", version + 1)
        .detail("rules", as_json)
        .record(conn, now)?;
    Ok(StoredRules {
        version: version + 1,
        set,
        updated_at: now,
    })
}
