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

/// Drops the rules of a team that is being deleted (its class rules,
/// calling hours and callee rule), as a new version with an audit entry,
/// so the stored set never names a team that does not exist. Call inside
/// the deletion's transaction; it takes the organisation's lock.
pub fn forget_team_in(
    conn: &mut DbConn,
    org: OrgId,
    team: TeamId,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    orgs::lock(conn, &org.to_string())?;
    let Some(stored) = dial_rule_sets::current(conn, org)? else {
        return Ok(());
    };
    let mut set = stored.set;
    let before = (
        set.classes.len(),
        set.calling_hours.len(),
        set.callee_hours.len(),
    );
    set.classes.retain(|r| r.team_id != Some(team));
    set.calling_hours.retain(|r| r.team_id != Some(team));
    set.callee_hours.retain(|r| r.team_id != Some(team));
    if before
        == (
            set.classes.len(),
            set.calling_hours.len(),
            set.callee_hours.len(),
        )
    {
        return Ok(());
    }
    if !dial_rule_sets::replace(conn, org, stored.version, &set, by, now)? {
        // The lock is held: nobody else can have moved the version.
        return Err(RepoError::Corrupt(format!(
            "dial rules of {org} changed under the lock"
        )));
    }
    let as_json = serde_json::to_value(&set)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable dial rules: {e}")))?;
    Entry::about_org(org, AuditAction::DialRulesReplaced, by_user(by))
        .detail("version", stored.version + 1)
        .detail("rules", as_json)
        .detail("reason", format!("team {team} deleted"))
        .record(conn, now)?;
    Ok(())
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
    // Under the organisation's lock, which deleting a team takes too: a
    // team cannot vanish between this check and the write.
    orgs::lock(conn, &org.to_string())?;
    let found = teams::existing_ids(conn, org, &named)?;
    if let Some(missing) = named.iter().find(|t| !found.contains(t)) {
        return Err(FieldError::new(
            "team_id",
            ErrorCode::UnknownTeam,
            format!("no team {missing} in this organisation"),
        )
        .into());
    }
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
