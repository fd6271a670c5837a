//! Reading the ledger that explains a contact's score (docs/scoring.md,
//! "The ledger"): its rows under the rule-set version the score was built
//! with, which sum to `score`. One place for `GET
//! /v1/contacts/{id}/score-events` and the console's contact page, so the
//! two never disagree on which rows explain the score. The caller checks
//! that the reader may see the contact first.

use crate::db::DbConn;
use crate::ids::{ContactId, OrgId};
use crate::repo::score_events::{self, ScoreEventRow};
use crate::repo::{RepoError, contacts};

/// Points one rule gave the contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleTotal {
    /// The rule's label when it scored.
    pub label: String,
    pub count: i64,
    pub points: i64,
}

/// A contact's score explained: per rule, and its newest rows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Explained {
    pub totals: Vec<RuleTotal>,
    /// Newest first.
    pub latest: Vec<ScoreEventRow>,
}

/// The version the contact's score sums (none when never scored).
fn built_version(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
) -> Result<Option<i64>, RepoError> {
    Ok(contacts::scores(conn, org, &[contact])?
        .into_iter()
        .next()
        .and_then(|(_, _, version)| version))
}

/// Up to `limit` rows after `after_seq`, oldest first.
pub fn page(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    after_seq: Option<i64>,
    limit: i64,
) -> Result<Vec<ScoreEventRow>, RepoError> {
    match built_version(conn, org, contact)? {
        Some(v) => score_events::page(conn, org, contact, v, after_seq, limit),
        None => Ok(Vec::new()),
    }
}

/// Points per rule and the newest `latest` rows.
pub fn explain(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    latest: i64,
) -> Result<Explained, RepoError> {
    let Some(v) = built_version(conn, org, contact)? else {
        return Ok(Explained::default());
    };
    let totals = score_events::totals_by_rule(conn, org, contact, v)?
        .into_iter()
        .map(|(label, count, points)| RuleTotal {
            label,
            count,
            points,
        })
        .collect();
    Ok(Explained {
        totals,
        latest: score_events::latest(conn, org, contact, v, latest)?,
    })
}
