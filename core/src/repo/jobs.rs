//! The persisted job queue (today: push sends, one job per device and
//! message). Workers claim due jobs with a lease; a job whose lease ran out
//! without an outcome goes back to whoever claims next, so a killed worker
//! loses nothing. A claim marks the job in flight; a claim that finds it
//! still in flight from an earlier holder counts a possible duplicate (that
//! holder may have reached FCM before dying). PostgreSQL claims with `FOR
//! UPDATE SKIP LOCKED`; SQLite's single writer serialises claims.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::dialect;
use crate::db::schema::{jobs, push_devices};
use crate::domain::push_message::PushMessage;
use crate::ids::JobId;
use crate::time::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = jobs)]
#[diesel(treat_none_as_default_value = false)]
pub struct JobRow {
    pub id: String,
    pub kind: String,
    pub org_id: String,
    pub user_id: Option<String>,
    pub device_id: Option<String>,
    pub topic: String,
    pub payload: String,
    pub run_at: i64,
    pub attempts: i64,
    pub lease_owner: Option<String>,
    pub lease_until: Option<i64>,
    pub in_flight: i64,
    pub possible_duplicates: i64,
    pub outcome: Option<String>,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// The request that queued the job (`x-request-id`), for the worker's logs.
    pub request_id: Option<String>,
}

impl JobRow {
    pub fn message(&self) -> Result<PushMessage, RepoError> {
        serde_json::from_str(&self.payload)
            .map_err(|e| RepoError::Corrupt(format!("job {} payload: {e}", self.id)))
    }
}

/// What a push job is about (digest, dial, binding), for logs and metrics.
pub const PUSH: &str = "push";

/// Queues `message` for each of the user's devices; returns how many jobs.
/// Call inside the transaction of the change it reports. (It reads the
/// user's device ids itself, by table and not through `push_devices`, so
/// the event log can queue its pushes without a use case.)
pub fn enqueue_push(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    topic: &str,
    message: &PushMessage,
    now: Micros,
) -> Result<usize, RepoError> {
    enqueue_push_at(conn, org_id, user_id, topic, message, now, now)
}

/// [`enqueue_push`] due at `run_at` instead of at once (a reminder).
pub fn enqueue_push_at(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    topic: &str,
    message: &PushMessage,
    run_at: Micros,
    now: Micros,
) -> Result<usize, RepoError> {
    let devices: Vec<String> = push_devices::table
        .filter(push_devices::user_id.eq(user_id))
        .order(push_devices::id.asc())
        .select(push_devices::id)
        .load(conn)?;
    let due = Due { run_at, now };
    enqueue_due(conn, org_id, user_id, &devices, topic, message, due)
}

/// When a queued push runs, and when it was queued.
#[derive(Debug, Clone, Copy)]
struct Due {
    run_at: Micros,
    now: Micros,
}

fn enqueue_due(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    devices: &[String],
    topic: &str,
    message: &PushMessage,
    due: Due,
) -> Result<usize, RepoError> {
    if devices.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::to_string(message)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable push: {e}")))?;
    let mut rows = push_rows(org_id, user_id, devices, topic, &payload, due.now);
    for row in &mut rows {
        row.run_at = due.run_at;
    }
    insert_rows(conn, &rows)?;
    Ok(rows.len())
}

/// Drops the organisation's jobs of `topic` that no worker holds yet (a
/// reminder that was moved or cancelled); returns how many.
pub fn drop_pending_for_topic(
    conn: &mut DbConn,
    org_id: &str,
    topic: &str,
    why: &str,
    now: Micros,
) -> Result<usize, RepoError> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::org_id.eq(org_id))
            .filter(jobs::topic.eq(topic))
            .filter(jobs::outcome.is_null())
            .filter(jobs::lease_owner.is_null()),
    )
    .set((
        jobs::outcome.eq(Outcome::Dropped.as_str()),
        jobs::last_error.eq(why),
        jobs::finished_at.eq(now),
    ))
    .execute(conn)?)
}

/// Queues `message` once for each of `devices` (the user's); returns how
/// many jobs.
pub fn enqueue_push_to(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    devices: &[String],
    topic: &str,
    message: &PushMessage,
    now: Micros,
) -> Result<usize, RepoError> {
    let due = Due { run_at: now, now };
    enqueue_due(conn, org_id, user_id, devices, topic, message, due)
}

/// The jobs (not yet stored) that send `payload` (a serialised
/// [`PushMessage`]) once to each of `devices` (the user's).
pub fn push_rows(
    org_id: &str,
    user_id: &str,
    devices: &[String],
    topic: &str,
    payload: &str,
    now: Micros,
) -> Vec<JobRow> {
    let request_id = crate::request_id::current();
    devices
        .iter()
        .map(|device| JobRow {
            id: JobId::new().to_string(),
            kind: PUSH.into(),
            org_id: org_id.to_owned(),
            user_id: Some(user_id.to_owned()),
            device_id: Some(device.clone()),
            topic: topic.to_owned(),
            payload: payload.to_owned(),
            run_at: now,
            attempts: 0,
            lease_owner: None,
            lease_until: None,
            in_flight: 0,
            possible_duplicates: 0,
            outcome: None,
            last_error: None,
            created_at: now,
            finished_at: None,
            request_id: request_id.clone(),
        })
        .collect()
}

/// Keys per `IN (...)` list.
const KEY_CHUNK: usize = 500;

/// Rows per multi-row job INSERT (18 columns each).
const INSERT_CHUNK: usize = 500;

/// Stores jobs made by [`push_rows`], in multi-row INSERTs.
pub fn insert_rows(conn: &mut DbConn, rows: &[JobRow]) -> Result<(), RepoError> {
    for chunk in rows.chunks(INSERT_CHUNK) {
        dialect::insert_batch(conn, diesel::insert_into(jobs::table).values(chunk))?;
    }
    Ok(())
}

/// A job as claimed.
#[derive(Debug, Clone)]
pub struct Claimed {
    pub job: JobRow,
    /// The previous holder died (or timed out) mid-send: this send may
    /// be a duplicate.
    pub taken_over: bool,
}

/// Claims up to `limit` due jobs for `owner` until `lease_until`, earliest
/// first. Call inside a write transaction (the rows stay locked on
/// PostgreSQL until it commits).
pub fn claim_due(
    conn: &mut DbConn,
    owner: &str,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> Result<Vec<Claimed>, RepoError> {
    claim_due_of_kind(conn, PUSH, owner, now, lease_until, limit)
}

/// [`claim_due`] for the jobs of `kind` (each kind has its own worker).
pub fn claim_due_of_kind(
    conn: &mut DbConn,
    kind: &str,
    owner: &str,
    now: Micros,
    lease_until: Micros,
    limit: i64,
) -> Result<Vec<Claimed>, RepoError> {
    Ok(
        dialect::claim_due_jobs(conn, kind, owner, now, lease_until, limit)?
            .into_iter()
            .map(|(job, was_in_flight)| Claimed {
                // Still in flight: the last holder died mid-send.
                taken_over: was_in_flight == 1,
                job,
            })
            .collect(),
    )
}

/// Hands a job just claimed back to the queue, due at `run_at`, as if the
/// claim had not happened (a push held back while its user is in DND,
/// docs/presence.md). Call in the claim's transaction.
pub fn defer(conn: &mut DbConn, id: &str, run_at: Micros) -> Result<(), RepoError> {
    diesel::update(jobs::table.filter(jobs::id.eq(id)))
        .set((
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::attempts.eq(jobs::attempts - 1),
            jobs::in_flight.eq(0),
            jobs::run_at.eq(run_at),
        ))
        .execute(conn)?;
    Ok(())
}

/// How a claimed job ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Sent,
    /// Not sent and never will be (device gone, token dead, message refused).
    Dropped,
    /// Gave up after the last retry.
    Failed,
    /// A job that is not a send (a score recompute) ran to its end.
    Done,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Dropped => "dropped",
            Self::Failed => "failed",
            Self::Done => "done",
        }
    }
}

/// What an answer writes: the lease always ends; a finished job gets its
/// outcome, a retried one a new `run_at`. `None` leaves a column alone.
#[derive(AsChangeset)]
#[diesel(table_name = jobs)]
struct Answer<'a> {
    outcome: Option<&'a str>,
    run_at: Option<Micros>,
    last_error: Option<Option<&'a str>>,
    in_flight: i64,
    lease_owner: Option<Option<String>>,
    lease_until: Option<Option<i64>>,
    finished_at: Option<Micros>,
}

/// Writes `answer` if the claim that produced it is still in force (same
/// owner and attempt): never for a holder whose lease ran out, even one that
/// claimed the job again since. Returns whether it was written.
fn answer(conn: &mut DbConn, job: &JobRow, answer: &Answer<'_>) -> Result<bool, RepoError> {
    let owner = job.lease_owner.clone().unwrap_or_default();
    let updated = diesel::update(
        jobs::table
            .filter(jobs::id.eq(&job.id))
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::attempts.eq(job.attempts))
            .filter(jobs::outcome.is_null()),
    )
    .set(answer)
    .execute(conn)?;
    Ok(updated == 1)
}

/// Records the outcome, if this claim still holds the job; returns whether
/// it did.
pub fn finish(
    conn: &mut DbConn,
    job: &JobRow,
    outcome: Outcome,
    error: Option<&str>,
    now: Micros,
) -> Result<bool, RepoError> {
    answer(
        conn,
        job,
        &Answer {
            outcome: Some(outcome.as_str()),
            run_at: None,
            last_error: Some(error),
            in_flight: 0,
            lease_owner: Some(None),
            lease_until: Some(None),
            finished_at: Some(now),
        },
    )
}

/// Records `outcome` (without an error) for the jobs `ids` that `owner`
/// claimed on attempt `attempts` and that claim still holds, in one UPDATE
/// per chunk (the sender batches its sends' answers); returns how many it
/// recorded. A job whose claim ran out is left alone, as in [`finish`].
pub fn finish_many(
    conn: &mut DbConn,
    owner: &str,
    attempts: i64,
    ids: &[&str],
    outcome: Outcome,
    now: Micros,
) -> Result<usize, RepoError> {
    let mut recorded = 0;
    for chunk in ids.chunks(KEY_CHUNK) {
        recorded += diesel::update(
            jobs::table
                .filter(jobs::id.eq_any(chunk))
                .filter(jobs::lease_owner.eq(owner))
                .filter(jobs::attempts.eq(attempts))
                .filter(jobs::outcome.is_null()),
        )
        .set((
            jobs::outcome.eq(outcome.as_str()),
            jobs::last_error.eq(None::<String>),
            jobs::in_flight.eq(0),
            jobs::lease_owner.eq(None::<String>),
            jobs::lease_until.eq(None::<i64>),
            jobs::finished_at.eq(now),
        ))
        .execute(conn)?;
    }
    Ok(recorded)
}

/// Puts the job back for another attempt at `run_at`, if this claim still
/// holds it. When the request may have reached FCM (`maybe_delivered`, a
/// timeout) it stays marked in flight, so the next attempt counts as a
/// possible duplicate.
pub fn retry_at(
    conn: &mut DbConn,
    job: &JobRow,
    run_at: Micros,
    error: &str,
    maybe_delivered: bool,
) -> Result<bool, RepoError> {
    answer(
        conn,
        job,
        &Answer {
            outcome: None,
            run_at: Some(run_at),
            last_error: Some(Some(error)),
            in_flight: i64::from(maybe_delivered),
            lease_owner: Some(None),
            lease_until: Some(None),
            finished_at: None,
        },
    )
}

/// Drops the device's pending jobs (the device was removed).
pub fn drop_pending_for_device(
    conn: &mut DbConn,
    device_id: &str,
    why: &str,
) -> Result<usize, RepoError> {
    Ok(diesel::update(
        jobs::table
            .filter(jobs::device_id.eq(device_id))
            .filter(jobs::outcome.is_null()),
    )
    .set((
        jobs::outcome.eq(Outcome::Dropped.as_str()),
        jobs::last_error.eq(why),
        jobs::in_flight.eq(0),
        jobs::lease_owner.eq(None::<String>),
        jobs::lease_until.eq(None::<i64>),
        jobs::finished_at.eq(crate::time::now_micros()),
    ))
    .execute(conn)?)
}

/// Deletes finished jobs older than `before`; returns how many.
pub fn purge_finished(conn: &mut DbConn, before: Micros) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        jobs::table
            .filter(jobs::outcome.is_not_null())
            .filter(jobs::finished_at.lt(before)),
    )
    .execute(conn)?)
}

/// A score recompute job (`usecases::score_recompute`).
pub const SCORE_RECOMPUTE: &str = "score_recompute";

/// Queues the job that runs recompute `recompute_id` of `org_id`.
pub fn enqueue_recompute(
    conn: &mut DbConn,
    org_id: &str,
    recompute_id: &str,
    now: Micros,
) -> Result<(), RepoError> {
    let row = JobRow::pending(
        SCORE_RECOMPUTE,
        org_id,
        format!("score_recompute:{recompute_id}"),
        recompute_id,
        now,
        now,
    );
    insert_rows(conn, std::slice::from_ref(&row))
}

impl JobRow {
    /// A job that is not a push (no device): due at `run_at`, never tried.
    fn pending(
        kind: &str,
        org_id: &str,
        topic: String,
        payload: &str,
        run_at: Micros,
        now: Micros,
    ) -> Self {
        Self {
            id: JobId::new().to_string(),
            kind: kind.into(),
            org_id: org_id.to_owned(),
            user_id: None,
            device_id: None,
            topic,
            payload: payload.to_owned(),
            run_at,
            attempts: 0,
            lease_owner: None,
            lease_until: None,
            in_flight: 0,
            possible_duplicates: 0,
            outcome: None,
            last_error: None,
            created_at: now,
            finished_at: None,
            request_id: crate::request_id::current(),
        }
    }
}

/// A power-mode dial (`usecases::call_list_power`): the next task of a
/// call list dialled for a user when their last call ended and the gap
/// passed. At most one pending per user (topic `power_dial:{user}`).
pub const POWER_DIAL: &str = "power_dial";

/// The topic of `user`'s power-mode job.
pub fn power_dial_topic(user: &str) -> String {
    format!("power_dial:{user}")
}

/// Queues `user`'s next power-mode dial from `list` at `run_at`, in place
/// of any pending one.
pub fn enqueue_power_dial(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    list_id: &str,
    run_at: Micros,
    now: Micros,
) -> Result<(), RepoError> {
    let topic = power_dial_topic(user_id);
    drop_pending_for_topic(conn, org_id, &topic, "replaced", now)?;
    let row = JobRow {
        user_id: Some(user_id.to_owned()),
        ..JobRow::pending(POWER_DIAL, org_id, topic, list_id, run_at, now)
    };
    insert_rows(conn, std::slice::from_ref(&row))
}

/// An export job (`usecases::exports`): writes export `export_id`.
pub const EXPORT: &str = "export";

/// Queues the job that writes export `export_id` of `user_id`.
pub fn enqueue_export(
    conn: &mut DbConn,
    org_id: &str,
    user_id: &str,
    export_id: &str,
    now: Micros,
) -> Result<(), RepoError> {
    let row = JobRow {
        user_id: Some(user_id.to_owned()),
        ..JobRow::pending(
            EXPORT,
            org_id,
            format!("export:{export_id}"),
            export_id,
            now,
            now,
        )
    };
    insert_rows(conn, std::slice::from_ref(&row))
}

/// Extends `owner`'s lease on job `id` to `until`; false when the lease
/// is no longer theirs (it ran out and another worker claimed the job).
pub fn renew_lease(
    conn: &mut DbConn,
    id: &str,
    owner: &str,
    until: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        jobs::table
            .filter(jobs::id.eq(id))
            .filter(jobs::lease_owner.eq(owner))
            .filter(jobs::outcome.is_null()),
    )
    .set(jobs::lease_until.eq(until))
    .execute(conn)?;
    Ok(n == 1)
}
