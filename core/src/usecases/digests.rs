//! Digests: what a due schedule or an on-request push sends. Building one,
//! queueing its jobs and moving the user's push cursor happen in one
//! transaction, so a digest is queued exactly once per occurrence and
//! covers exactly the records after the previous one.

use std::collections::HashMap;

use super::planner_stats::{self, GrowthTrigger};
use super::push_schedules as schedules;
use crate::db::Database;
use crate::db::{DbConn, write_tx};
use crate::domain::push_message::{Digest, digest_message};
use crate::ids::{OrgId, UserId};
use crate::repo::call_records::Scope;
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

/// Jobs a scheduler run queues before PostgreSQL's statistics on `jobs`
/// are refreshed, and again at each doubling ([`GrowthTrigger`]).
const JOBS_BEFORE_FIRST_ANALYZE: usize = 1_000;

/// Runs the scheduler until no schedule is due at `now`, `batch` schedules
/// per transaction. A run that queues many jobs refreshes PostgreSQL's
/// statistics on them as it goes (decision 0046).
pub async fn enqueue_all_due(
    db: &Database,
    now: Micros,
    batch: i64,
) -> Result<DueReport, RepoError> {
    let mut total = DueReport::default();
    let mut stale_stats = GrowthTrigger::new(JOBS_BEFORE_FIRST_ANALYZE);
    loop {
        let report = db
            .write(move |conn| enqueue_due_locked(conn, now, batch))
            .await?;
        total += report;
        // A burst of digests fills the job queue in seconds; the senders'
        // claims and answers are planned from the queue's statistics.
        if stale_stats.due(total.jobs) {
            planner_stats::refresh(db, "jobs").await;
        }
        if (report.schedules as i64) < batch {
            return Ok(total);
        }
    }
}

/// Processes up to `limit` schedules due at `now` in one transaction:
/// queues each user's digest (skipped when it would be empty: a scheduled
/// digest never says "nothing new") and sets when they are next due.
///
/// The batch is written in a handful of statements, not several per
/// schedule: the devices of every user in one read, each distinct digest
/// (organisation, scope, cursor) read once, every job in multi-row INSERTs
/// and the schedules advanced in one UPDATE per distinct set of values.
pub fn enqueue_due(conn: &mut DbConn, now: Micros, limit: i64) -> Result<DueReport, RepoError> {
    write_tx(conn, |conn| enqueue_due_locked(conn, now, limit))
}

/// [`enqueue_due`] inside the caller's write transaction.
fn enqueue_due_locked(conn: &mut DbConn, now: Micros, limit: i64) -> Result<DueReport, RepoError> {
    let due = push_schedules::claim_due(conn, now, limit)?;
    let mut batch = DueBatch::load(conn, &due)?;
    for schedule in &due {
        batch.plan(conn, schedule, now)?;
    }
    batch.write(conn)
}

/// What a scheduler batch will write, gathered before writing it.
#[derive(Default)]
struct DueBatch {
    report: DueReport,
    /// User → their device ids.
    devices: HashMap<String, Vec<String>>,
    /// Organisation → its change counter when the batch began.
    counters: HashMap<String, i64>,
    /// (organisation, scope, after, through) → (records, serialised
    /// message): users who see the same changes get the same digest.
    digests: HashMap<(String, Scope, i64, i64), (u32, String)>,
    jobs: Vec<jobs::JobRow>,
    /// (pushed_seq, pushed_at, next_due_at) → the users to advance so.
    advances: HashMap<(i64, Option<Micros>, Option<Micros>), Vec<String>>,
}

impl DueBatch {
    fn load(conn: &mut DbConn, due: &[DueSchedule]) -> Result<Self, RepoError> {
        let users: Vec<&str> = due.iter().map(|s| s.row.user_id.as_str()).collect();
        let mut devices: HashMap<String, Vec<String>> = HashMap::new();
        for (user, device) in push_devices::ids_of_users(conn, &users)? {
            devices.entry(user).or_default().push(device);
        }
        Ok(Self {
            report: DueReport {
                schedules: due.len(),
                ..DueReport::default()
            },
            devices,
            ..Self::default()
        })
    }

    fn advance(
        &mut self,
        user: &str,
        pushed_seq: i64,
        pushed_at: Option<Micros>,
        next: Option<Micros>,
    ) {
        self.advances
            .entry((pushed_seq, pushed_at, next))
            .or_default()
            .push(user.to_owned());
    }

    /// Decides one schedule's digest, its jobs and how it advances.
    fn plan(
        &mut self,
        conn: &mut DbConn,
        schedule: &DueSchedule,
        now: Micros,
    ) -> Result<(), RepoError> {
        let row = &schedule.row;
        if schedule.disabled {
            self.advance(&row.user_id, row.pushed_seq, None, None);
            return Ok(());
        }
        let next =
            push_schedules::next_due(&row.rule()?, &schedule.time_zone, now, row.next_due_at);
        let through = match self.counters.get(&row.org_id) {
            Some(seq) => *seq,
            None => {
                let seq = sync_seq::current(conn, &row.org_id)?;
                self.counters.insert(row.org_id.clone(), seq);
                seq
            }
        };
        let org: OrgId = crate::repo::stored_id(&row.org_id)?;
        let user: UserId = crate::repo::stored_id(&row.user_id)?;
        let role = Role::parse(&schedule.role)
            .ok_or_else(|| RepoError::Corrupt(format!("role {:?}", schedule.role)))?;
        let scope = users::visible_ids(conn, Visibility::of(role, user))?;
        let key = (row.org_id.clone(), scope, row.pushed_seq, through);
        let (records, payload) = match self.digests.get(&key) {
            Some(known) => known.clone(),
            None => {
                let digest = call_records::digest(conn, org, &key.1, row.pushed_seq, through)?;
                let payload = serde_json::to_string(&digest_message(&digest))
                    .map_err(|e| RepoError::Corrupt(format!("unserialisable push: {e}")))?;
                self.digests
                    .insert(key.clone(), (digest.records, payload.clone()));
                (digest.records, payload)
            }
        };
        if records == 0 {
            // Nothing in scope changed: the cursor may move, nobody is told.
            self.advance(&row.user_id, through.max(row.pushed_seq), None, next);
            return Ok(());
        }
        let devices = self
            .devices
            .get(&row.user_id)
            .map_or(&[][..], Vec::as_slice);
        if devices.is_empty() {
            // No device to tell: keep the records for the next digest.
            self.advance(&row.user_id, row.pushed_seq, None, next);
            return Ok(());
        }
        let queued = jobs::push_rows(&row.org_id, &row.user_id, devices, DIGEST, &payload, now);
        self.report.digests += 1;
        self.report.jobs += queued.len();
        self.jobs.extend(queued);
        self.advance(&row.user_id, through, Some(now), next);
        Ok(())
    }

    fn write(self, conn: &mut DbConn) -> Result<DueReport, RepoError> {
        jobs::insert_rows(conn, &self.jobs)?;
        for ((pushed_seq, pushed_at, next), users) in &self.advances {
            let users: Vec<&str> = users.iter().map(String::as_str).collect();
            push_schedules::advance_many(conn, &users, *pushed_seq, *pushed_at, *next)?;
        }
        Ok(self.report)
    }
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
        let user = [row.user_id.as_str()];
        push_schedules::advance_many(conn, &user, through, Some(now), row.next_due_at)?;
        Ok((queued, digest.records))
    })
}
