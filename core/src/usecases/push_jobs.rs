//! The push job queue as the sender works it: claiming due jobs with a
//! lease, recording how a send ended (only while the claim still holds),
//! and purging finished jobs. See `repo::jobs` for the lease rules.

use std::collections::HashMap;

use super::digests::DIGEST;
use super::{presence, push_devices};
use crate::db::{Database, DbConn};
use crate::repo::RepoError;
use crate::repo::jobs::{self, Claimed, JobRow, Outcome};
use crate::repo::push_devices as repo_devices;
use crate::time::Micros;

/// A claimed job and its device as the claim read it (`None`: gone).
#[derive(Debug, Clone)]
pub struct ClaimedSend {
    pub claimed: Claimed,
    pub device: Option<repo_devices::PushDeviceRow>,
}

/// Claims up to `limit` due jobs for `owner` until `lease_until`, earliest
/// first, in one transaction, with their devices: the sender needs each
/// one's token, and one read per claim beats one per send.
pub async fn claim(
    db: &Database,
    owner: String,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> Result<Vec<ClaimedSend>, RepoError> {
    db.write(move |conn| {
        let claimed = jobs::claim_due(conn, &owner, now, lease_until, limit)?;
        let claimed = hold_back_for_dnd(conn, claimed, now)?;
        let mut ids: Vec<&str> = claimed
            .iter()
            .filter_map(|c| c.job.device_id.as_deref())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let devices: HashMap<String, repo_devices::PushDeviceRow> =
            repo_devices::get_many(conn, &ids)?
                .into_iter()
                .map(|d| (d.id.clone(), d))
                .collect();
        Ok(claimed
            .into_iter()
            .map(|claimed| ClaimedSend {
                device: claimed
                    .job
                    .device_id
                    .as_ref()
                    .and_then(|id| devices.get(id).cloned()),
                claimed,
            })
            .collect())
    })
    .await
}

/// How long a push to a user in an open-ended DND waits before it looks
/// again.
pub const DND_RECHECK: Micros = 60_000_000;

/// Hands back the claimed pushes whose user is in DND, due when it ends
/// (or a minute later for an open-ended one); the user's own digests go
/// out regardless (docs/presence.md).
fn hold_back_for_dnd(
    conn: &mut DbConn,
    claimed: Vec<Claimed>,
    now: Micros,
) -> Result<Vec<Claimed>, RepoError> {
    let mut kept = Vec::with_capacity(claimed.len());
    let mut dnd: HashMap<String, Option<Option<Micros>>> = HashMap::new();
    for c in claimed {
        let Some(user) = c.job.user_id.clone().filter(|_| c.job.topic != DIGEST) else {
            kept.push(c);
            continue;
        };
        let until = match dnd.get(&user) {
            Some(known) => *known,
            None => {
                let found = presence::dnd_until_in(conn, &user, now)?;
                dnd.insert(user, found);
                found
            }
        };
        match until {
            None => kept.push(c),
            Some(until) => {
                let run_at = until.unwrap_or(now + DND_RECHECK);
                jobs::defer(conn, &c.job.id, run_at)?;
            }
        }
    }
    Ok(kept)
}

/// Records the outcome, if this claim still holds the job; returns whether
/// it did.
pub async fn finish(
    db: &Database,
    job: JobRow,
    outcome: Outcome,
    error: Option<String>,
    now: Micros,
) -> Result<bool, RepoError> {
    db.run(move |conn| jobs::finish(conn, &job, outcome, error.as_deref(), now))
        .await
}

/// How one send ended, as the sender hands it to [`record`].
#[derive(Debug, Clone)]
pub enum Verdict {
    /// FCM took it: the job is `sent` and the device's last send noted.
    Sent { device_id: String },
    /// The job ends with `outcome` (nothing was or will be delivered).
    Finished {
        outcome: Outcome,
        error: Option<String>,
    },
    /// FCM said the token is dead: the job is dropped and the device
    /// removed, its token remembered.
    Unregistered { device_id: String, token: String },
    /// Another attempt at `run_at`.
    Retry {
        run_at: Micros,
        error: String,
        maybe_delivered: bool,
    },
}

/// A claimed job and how its send ended.
#[derive(Debug, Clone)]
pub struct Answer {
    pub job: JobRow,
    pub verdict: Verdict,
}

/// Records many sends' answers in one write transaction: the `sent` ones
/// in one UPDATE per claim attempt and one for their devices, the rare rest
/// one by one. Each is written only if its claim still holds the job (see
/// `repo::jobs`); returns how many were not (their leases ran out, and the
/// claim in force decides). Two writes per send became one per batch: on
/// SQLite one turn of the write lock, on PostgreSQL one commit.
pub async fn record(db: &Database, answers: Vec<Answer>, now: Micros) -> Result<usize, RepoError> {
    if answers.is_empty() {
        return Ok(0);
    }
    db.write(move |conn| record_in(conn, &answers, now)).await
}

fn record_in(conn: &mut DbConn, answers: &[Answer], now: Micros) -> Result<usize, RepoError> {
    let mut lost = 0;
    // (owner, attempt) → the sent jobs of that claim.
    let mut sent: HashMap<(&str, i64), Vec<&str>> = HashMap::new();
    let mut delivered_to: Vec<&str> = Vec::new();
    for answer in answers {
        let job = &answer.job;
        let kept = match &answer.verdict {
            Verdict::Sent { device_id } => {
                let owner = job.lease_owner.as_deref().unwrap_or_default();
                sent.entry((owner, job.attempts))
                    .or_default()
                    .push(job.id.as_str());
                delivered_to.push(device_id);
                continue;
            }
            Verdict::Finished { outcome, error } => {
                jobs::finish(conn, job, *outcome, error.as_deref(), now)?
            }
            Verdict::Unregistered { device_id, token } => {
                let kept =
                    jobs::finish(conn, job, Outcome::Dropped, Some("token unregistered"), now)?;
                push_devices::bury_in(conn, device_id, token, now)?;
                kept
            }
            Verdict::Retry {
                run_at,
                error,
                maybe_delivered,
            } => jobs::retry_at(conn, job, *run_at, error, *maybe_delivered)?,
        };
        lost += usize::from(!kept);
    }
    for ((owner, attempts), ids) in &sent {
        let recorded = jobs::finish_many(conn, owner, *attempts, ids, Outcome::Sent, now)?;
        lost += ids.len().saturating_sub(recorded);
    }
    delivered_to.sort_unstable();
    delivered_to.dedup();
    repo_devices::mark_sent_many(conn, &delivered_to, now)?;
    Ok(lost)
}

/// Puts the job back for another attempt at `run_at`, if this claim still
/// holds it; returns whether it did.
pub async fn retry_at(
    db: &Database,
    job: JobRow,
    run_at: Micros,
    error: String,
    maybe_delivered: bool,
) -> Result<bool, RepoError> {
    db.run(move |conn| jobs::retry_at(conn, &job, run_at, &error, maybe_delivered))
        .await
}

/// Deletes finished jobs older than `before`; returns how many.
pub async fn purge_finished(db: &Database, before: Micros) -> Result<usize, RepoError> {
    db.run(move |conn| jobs::purge_finished(conn, before)).await
}
