//! Digests: what a due schedule or an on-request push sends. Building one,
//! queueing its jobs and moving the user's push cursor happen in one
//! transaction, so a digest is queued exactly once per occurrence and
//! covers exactly the records after the previous one.

use super::push_schedules as schedules;
use crate::db::Database;
use crate::db::{DbConn, write_tx};
use crate::domain::push_message::{Digest, digest_message};
use crate::ids::{OrgId, UserId};
use crate::repo::push_schedules::{self, DueSchedule, ScheduleRow};
use crate::repo::users::Visibility;
use crate::repo::{RepoError, call_records, jobs, push_devices, sync_seq, users};
use crate::time::Micros;
use crate::wire::Role;

/// The job topic of digests.
pub const DIGEST: &str = "digest";

/// What one scheduler pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DueReport {
    /// Schedules that were due and are now advanced.
    pub schedules: usize,
    /// Digests queued (schedules with records and at least one device).
    pub digests: usize,
    /// Jobs queued (one per device).
    pub jobs: usize,
}

impl std::ops::AddAssign for DueReport {
    fn add_assign(&mut self, other: Self) {
        self.schedules += other.schedules;
        self.digests += other.digests;
        self.jobs += other.jobs;
    }
}

/// Runs the scheduler until no schedule is due at `now`, `batch` schedules
/// per transaction.
pub async fn enqueue_all_due(
    db: &Database,
    now: Micros,
    batch: i64,
) -> Result<DueReport, RepoError> {
    let mut total = DueReport::default();
    loop {
        let report = db.run(move |conn| enqueue_due(conn, now, batch)).await?;
        total += report;
        if (report.schedules as i64) < batch {
            return Ok(total);
        }
    }
}

/// Processes up to `limit` schedules due at `now` in one transaction:
/// queues each user's digest (skipped when it would be empty: a scheduled
/// digest never says "nothing new") and sets when they are next due.
pub fn enqueue_due(conn: &mut DbConn, now: Micros, limit: i64) -> Result<DueReport, RepoError> {
    write_tx(conn, |conn| {
        let due = push_schedules::claim_due(conn, now, limit)?;
        let mut report = DueReport {
            schedules: due.len(),
            ..DueReport::default()
        };
        let mut counters = std::collections::HashMap::new();
        for schedule in &due {
            let org = &schedule.row.org_id;
            let through = match counters.get(org) {
                Some(seq) => *seq,
                None => {
                    let seq = sync_seq::current(conn, org)?;
                    counters.insert(org.clone(), seq);
                    seq
                }
            };
            let queued = digest_for(conn, schedule, through, now)?;
            if queued > 0 {
                report.digests += 1;
                report.jobs += queued;
            }
        }
        Ok(report)
    })
}

/// Builds and queues one user's digest covering changes up to `through`,
/// advances their cursor and next due time; returns the jobs queued.
fn digest_for(
    conn: &mut DbConn,
    schedule: &DueSchedule,
    through: i64,
    now: Micros,
) -> Result<usize, RepoError> {
    let row = &schedule.row;
    let next = if schedule.disabled {
        None
    } else {
        push_schedules::next_due(&row.rule()?, &schedule.time_zone, now, row.next_due_at)
    };
    if schedule.disabled {
        push_schedules::advance(conn, &row.user_id, row.pushed_seq, None, next)?;
        return Ok(0);
    }
    let org: OrgId = crate::repo::stored_id(&row.org_id)?;
    let user: UserId = crate::repo::stored_id(&row.user_id)?;
    let role = Role::parse(&schedule.role)
        .ok_or_else(|| RepoError::Corrupt(format!("role {:?}", schedule.role)))?;
    let digest = digest_of(conn, org, user, role, row.pushed_seq, through)?;
    if digest.records == 0 {
        // Nothing in scope changed: the cursor may move, nobody is told.
        push_schedules::advance(conn, &row.user_id, through.max(row.pushed_seq), None, next)?;
        return Ok(0);
    }
    let queued = queue(conn, row, &digest, now)?;
    if queued == 0 {
        // No device to tell: keep the records for the next digest.
        push_schedules::advance(conn, &row.user_id, row.pushed_seq, None, next)?;
    } else {
        push_schedules::advance(conn, &row.user_id, through, Some(now), next)?;
    }
    Ok(queued)
}

/// The user's digest of changes `(after, through]` within what their role
/// lets them see.
fn digest_of(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    role: Role,
    after: i64,
    through: i64,
) -> Result<Digest, RepoError> {
    let scope = users::visible_ids(conn, Visibility::of(role, user))?;
    call_records::digest(conn, org, &scope, after, through)
}

/// Queues the digest for each of the user's devices; returns how many.
fn queue(
    conn: &mut DbConn,
    row: &ScheduleRow,
    digest: &Digest,
    now: Micros,
) -> Result<usize, RepoError> {
    let devices = push_devices::ids_of(conn, &row.user_id)?;
    jobs::enqueue_push_to(
        conn,
        &row.org_id,
        &row.user_id,
        &devices,
        DIGEST,
        &digest_message(digest),
        now,
    )
}

/// `POST /v1/push/request`: queues the user's current digest now, even if
/// empty, without touching when the next scheduled one is due. Returns
/// `(devices, records)`; `NotFound` when the user has no device.
pub async fn request_now(
    db: &Database,
    org: OrgId,
    user: UserId,
    now: Micros,
) -> Result<(usize, u32), RepoError> {
    db.run(move |conn| request_now_in(conn, org, user, now))
        .await
}

fn request_now_in(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    now: Micros,
) -> Result<(usize, u32), RepoError> {
    write_tx(conn, |conn| {
        let person = users::get(conn, org, user, Visibility::Org)?;
        schedules::ensure(conn, org, user, &person.time_zone, now)?;
        push_schedules::lock(conn, &user.to_string())?;
        let row = push_schedules::get(conn, user)?.ok_or(RepoError::NotFound)?;
        let role = person.role()?;
        let through = sync_seq::current(conn, &row.org_id)?;
        let digest = digest_of(conn, org, user, role, row.pushed_seq, through)?;
        let queued = queue(conn, &row, &digest, now)?;
        if queued == 0 {
            return Err(RepoError::NotFound);
        }
        push_schedules::advance(conn, &row.user_id, through, Some(now), row.next_due_at)?;
        Ok((queued, digest.records))
    })
}
