//! Rebuilding every contact's score after the rules changed, as a job of
//! the persisted queue (kind `score_recompute`, docs/scoring.md). Each run
//! is one transaction: claim the job, take the organisation's change lock,
//! score the next batch of contacts (in id order, after the stored cursor)
//! under the rule set in force, store the cursor and progress, and either
//! finish the job or put it back due at once. A worker killed mid-batch
//! commits nothing of it, so the next claim redoes that batch; new calls
//! keep scoring meanwhile (under the same lock, against the version in
//! force), and a contact already rebuilt is not rebuilt again.

use crate::db::{Database, DbConn};
use crate::ids::{OrgId, ScoreRecomputeId};
use crate::repo::jobs::{self, Outcome, SCORE_RECOMPUTE};
use crate::repo::score_recomputes::{self, RecomputeRow};
use crate::repo::{RepoError, contacts, score_rule_sets, stored_id, sync_seq};
use crate::time::Micros;
use crate::usecases::scoring;
use crate::wire::ScoreRecomputeState;

/// Contacts per batch (one transaction each).
pub const BATCH: i64 = 200;

/// Runs one batch of one due recompute; returns whether there was one.
pub async fn run_once(
    db: &Database,
    owner: String,
    now: Micros,
    batch: i64,
) -> Result<bool, RepoError> {
    db.write(move |conn| run_in(conn, &owner, now, batch)).await
}

fn run_in(conn: &mut DbConn, owner: &str, now: Micros, batch: i64) -> Result<bool, RepoError> {
    // The lease outlives no transaction: the claim, the batch and the
    // answer commit together.
    let Some(claimed) =
        jobs::claim_due_of_kind(conn, SCORE_RECOMPUTE, owner, now, now + 60_000_000, 1)?
            .into_iter()
            .next()
    else {
        return Ok(false);
    };
    let job = claimed.job;
    let org: OrgId = stored_id(&job.org_id)?;
    let id: ScoreRecomputeId = stored_id(&job.payload)?;
    sync_seq::lock(conn, &job.org_id)?;
    let mut row = score_recomputes::get(conn, org, id)?;
    let finished = advance(conn, &mut row, batch, now)?;
    score_recomputes::advance(conn, &row, now)?;
    if finished {
        jobs::finish(conn, &job, Outcome::Done, None, now)?;
    } else {
        jobs::retry_at(conn, &job, now, "next batch", false)?;
    }
    Ok(true)
}

/// Scores the next batch; returns whether the recompute has ended.
fn advance(
    conn: &mut DbConn,
    row: &mut RecomputeRow,
    batch: i64,
    now: Micros,
) -> Result<bool, RepoError> {
    if row.state != ScoreRecomputeState::Running {
        return Ok(true);
    }
    if score_rule_sets::current(conn, row.org_id)?.version != row.rule_version {
        row.state = ScoreRecomputeState::Superseded;
        return Ok(true);
    }
    let ids = contacts::ids_after(conn, row.org_id, row.cursor.as_deref(), batch)?;
    scoring::score_contacts(conn, row.org_id, &ids, now)?;
    row.contacts_done += i64::try_from(ids.len()).unwrap_or(i64::MAX);
    if let Some(last) = ids.last() {
        row.cursor = Some(last.to_string());
    }
    let ended = i64::try_from(ids.len()).unwrap_or(0) < batch;
    if ended {
        row.state = ScoreRecomputeState::Done;
        row.contacts_total = row.contacts_done;
    } else {
        row.contacts_total = row.contacts_total.max(row.contacts_done);
    }
    Ok(ended)
}

/// A recompute of the organisation (`NotFound` for another's).
pub async fn get(
    db: &Database,
    org: OrgId,
    id: ScoreRecomputeId,
) -> Result<RecomputeRow, RepoError> {
    db.run(move |conn| score_recomputes::get(conn, org, id))
        .await
}
