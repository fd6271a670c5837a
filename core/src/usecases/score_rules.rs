//! The organisation's score rules (`/v1/score-rules`, docs/scoring.md):
//! reading the set in force, and replacing it, which stores the next
//! version, starts a recompute of every contact (a `score_recompute` job)
//! and writes `score_rules.replaced` to the audit log, in one transaction.

use super::audit::{Entry, by_user};
use crate::db::{Database, DbConn};
use crate::domain::scoring::{self, RuleError};
use crate::ids::{OrgId, ScoreRecomputeId, UserId};
use crate::repo::score_recomputes::{self, RecomputeRow};
use crate::repo::score_rule_sets::{self, StoredSet};
use crate::repo::{RepoError, contacts, jobs, orgs, sync_seq};
use crate::time::Micros;
use crate::wire::{AuditAction, ScoreRecomputeState, ScoreRuleSet};

#[derive(Debug, thiserror::Error)]
pub enum ReplaceError {
    #[error(transparent)]
    Invalid(#[from] RuleError),
    /// `version` is no longer the set in force.
    #[error("score rules changed")]
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

/// Gives a new organisation the seed rules; call in its transaction.
pub fn seed_in(conn: &mut DbConn, org: OrgId, now: Micros) -> Result<(), RepoError> {
    score_rule_sets::insert(conn, org, 1, &scoring::seed_rules(), None, now)
}

pub async fn current(db: &Database, org: OrgId) -> Result<StoredSet, RepoError> {
    db.run(move |conn| score_rule_sets::current(conn, org))
        .await
}

/// Replaces the set in force (which must be `version`) with `set`.
pub async fn replace(
    db: &Database,
    org: OrgId,
    by: UserId,
    version: i64,
    set: ScoreRuleSet,
    now: Micros,
) -> Result<(StoredSet, RecomputeRow), ReplaceError> {
    scoring::validate(&set)?;
    db.write(move |conn| replace_in(conn, org, by, version, set, now))
        .await
}

fn replace_in(
    conn: &mut DbConn,
    org: OrgId,
    by: UserId,
    version: i64,
    set: ScoreRuleSet,
    now: Micros,
) -> Result<(StoredSet, RecomputeRow), ReplaceError> {
    let org_id = org.to_string();
    orgs::lock(conn, &org_id)?;
    // Scoring serialises on the change lock: the new version and the
    // recompute's starting point are seen by every later batch at once.
    sync_seq::lock(conn, &org_id)?;
    if score_rule_sets::current(conn, org)?.version != version {
        return Err(ReplaceError::Changed);
    }
    let next = version + 1;
    score_rule_sets::insert(conn, org, next, &set, Some(by), now).map_err(|e| match e {
        RepoError::Conflict => ReplaceError::Changed,
        other => other.into(),
    })?;
    let recompute = RecomputeRow {
        id: ScoreRecomputeId::new(),
        org_id: org,
        rule_version: next,
        state: ScoreRecomputeState::Running,
        contacts_total: contacts::count(conn, org)?,
        contacts_done: 0,
        cursor: None,
        created_at: now,
        finished_at: None,
    };
    score_recomputes::insert(conn, &recompute)?;
    jobs::enqueue_recompute(conn, &org_id, &recompute.id.to_string(), now)?;
    let rules = serde_json::to_value(&set)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable score rules: {e}")))?;
    Entry::about_org(org, AuditAction::ScoreRulesReplaced, by_user(by))
        .detail("version", next)
        .detail("rules", rules)
        .detail("recompute_id", recompute.id.to_string())
        .record(conn, now)?;
    Ok((
        StoredSet {
            version: next,
            set,
            created_at: now,
        },
        recompute,
    ))
}
