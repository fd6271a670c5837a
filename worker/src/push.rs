//! The push loops: the scheduler turns due schedules into queued digests,
//! and the sender leases queued jobs and hands them to FCM (or the log).
//! Both are safe with any number of workers: schedules and jobs are claimed
//! with row locks that skip what another worker holds, and a job's lease
//! lets another worker take over if its holder dies.

use std::sync::Arc;
use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::push::digests::{self, DueReport};
use deskbind_core::push::{PushSender, SendOutcome, backoff};
use deskbind_core::repo::jobs::{self, JobRow, Outcome};
use deskbind_core::repo::{RepoError, push_devices};
use deskbind_core::time::now_micros;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Schedules claimed per scheduler transaction.
const SCHEDULE_BATCH: i64 = 200;

/// Runs the scheduler until no schedule is due at `now`.
pub async fn run_scheduler_once(db: &Database, now: i64) -> Result<DueReport, RepoError> {
    let mut total = DueReport::default();
    loop {
        let report = db
            .run(move |conn| digests::enqueue_due(conn, now, SCHEDULE_BATCH))
            .await?;
        total += report;
        if (report.schedules as i64) < SCHEDULE_BATCH {
            return Ok(total);
        }
    }
}

/// How the sender runs.
#[derive(Debug, Clone)]
pub struct SenderOptions {
    /// This worker's name on its leases.
    pub owner: String,
    /// How long a claimed job is this worker's; longer than a send may take.
    pub lease: Duration,
    /// Sends in flight at once.
    pub concurrency: usize,
    /// How often to look for due jobs when the queue was empty.
    pub poll_interval: Duration,
}

impl Default for SenderOptions {
    fn default() -> Self {
        Self {
            owner: format!("worker-{}", uuid::Uuid::now_v7().simple()),
            lease: Duration::from_secs(90),
            concurrency: 64,
            poll_interval: Duration::from_millis(250),
        }
    }
}

/// What the sender did with the jobs it finished.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SendReport {
    pub sent: u64,
    pub dropped: u64,
    pub failed: u64,
    pub retried: u64,
    /// Jobs taken over from a holder that died mid-send.
    pub possible_duplicates: u64,
}

/// Leases due jobs and sends them, at most `concurrency` at a time, until
/// `cancel` fires; then waits for the sends in flight and returns.
pub async fn run_sender(
    db: Database,
    sender: PushSender,
    options: SenderOptions,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running = JoinSet::new();
    tracing::info!(owner = %options.owner, sender = sender.kind(), "push sender started");
    loop {
        while running.try_join_next().is_some() {}
        let free = slots.available_permits();
        let claimed = if cancel.is_cancelled() || free == 0 {
            Vec::new()
        } else {
            let owner = options.owner.clone();
            let lease = i64::try_from(options.lease.as_micros()).unwrap_or(i64::MAX / 2);
            let now = now_micros();
            match db
                .run(move |conn| jobs::claim(conn, &owner, now, now + lease, free as i64))
                .await
            {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "claiming push jobs failed; retrying");
                    Vec::new()
                }
            }
        };
        let idle = claimed.is_empty();
        for job in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let (db, sender, owner) = (db.clone(), sender.clone(), options.owner.clone());
            running.spawn(async move {
                if let Err(e) = send_one(&db, &sender, &owner, &job).await {
                    tracing::error!(job = %job.id, error = %e, "recording a push outcome failed; the lease will expire and the job runs again");
                }
                drop(permit);
            });
        }
        if cancel.is_cancelled() {
            break;
        }
        if idle {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(options.poll_interval) => {}
                // A finished send frees a slot: look again at once.
                Some(_) = running.join_next(), if free == 0 => {}
            }
        } else if slots.available_permits() == 0 {
            tokio::select! {
                () = cancel.cancelled() => break,
                Some(_) = running.join_next() => {}
            }
        }
    }
    // Graceful: sends already out finish and record their outcome.
    while running.join_next().await.is_some() {}
    tracing::info!(owner = %options.owner, "push sender stopped");
}

/// Sends one claimed job and records its outcome.
pub async fn send_one(
    db: &Database,
    sender: &PushSender,
    owner: &str,
    job: &JobRow,
) -> Result<SendReport, RepoError> {
    let mut report = SendReport::default();
    if job.possible_duplicates > 0 && job.attempts > 1 {
        report.possible_duplicates = 1;
        metrics::counter!("deskbind_push_possible_duplicates_total").increment(1);
        tracing::warn!(job = %job.id, topic = %job.topic, "push job taken over from a worker that died mid-send; FCM may deliver it twice");
    }
    let device = match &job.device_id {
        Some(id) => {
            let id = id.clone();
            db.run(move |conn| push_devices::get(conn, &id)).await?
        }
        None => None,
    };
    let Some(device) = device else {
        finish(db, job, owner, Outcome::Dropped, Some("device removed")).await?;
        report.dropped += 1;
        return Ok(report);
    };
    let message = match job.message() {
        Ok(m) => m,
        Err(e) => {
            finish(db, job, owner, Outcome::Failed, Some(&e.to_string())).await?;
            report.failed += 1;
            return Ok(report);
        }
    };
    let outcome = sender.send(&device.token, &job.topic, &message).await;
    metrics::counter!("deskbind_push_sends_total", "outcome" => outcome_label(&outcome))
        .increment(1);
    match outcome {
        SendOutcome::Delivered => {
            let (id, now) = (device.id.clone(), now_micros());
            db.run(move |conn| push_devices::mark_sent(conn, &id, now))
                .await?;
            finish(db, job, owner, Outcome::Sent, None).await?;
            report.sent += 1;
        }
        SendOutcome::Unregistered => {
            tracing::info!(device = %device.id, "FCM says the token is unregistered; device removed");
            let (id, token, now) = (device.id.clone(), device.token.clone(), now_micros());
            finish(db, job, owner, Outcome::Dropped, Some("token unregistered")).await?;
            db.run(move |conn| push_devices::bury(conn, &id, &token, now))
                .await?;
            report.dropped += 1;
        }
        SendOutcome::Rejected(reason) => {
            tracing::warn!(job = %job.id, %reason, "FCM refused the message; not retried");
            finish(db, job, owner, Outcome::Failed, Some(&reason)).await?;
            report.failed += 1;
        }
        SendOutcome::Retry {
            after,
            reason,
            maybe_delivered,
        } => {
            if job.attempts >= backoff::MAX_ATTEMPTS {
                tracing::warn!(job = %job.id, %reason, attempts = job.attempts, "push given up");
                finish(db, job, owner, Outcome::Failed, Some(&reason)).await?;
                report.failed += 1;
            } else {
                let wait = backoff::delay(job.attempts, after);
                let run_at = now_micros() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX / 4);
                tracing::debug!(job = %job.id, %reason, wait_ms = wait.as_millis() as u64, "push will be retried");
                let (id, owner) = (job.id.clone(), owner.to_owned());
                db.run(move |conn| {
                    jobs::retry_at(conn, &id, &owner, run_at, &reason, maybe_delivered)
                })
                .await?;
                report.retried += 1;
            }
        }
    }
    Ok(report)
}

fn outcome_label(outcome: &SendOutcome) -> &'static str {
    match outcome {
        SendOutcome::Delivered => "delivered",
        SendOutcome::Unregistered => "unregistered",
        SendOutcome::Rejected(_) => "rejected",
        SendOutcome::Retry { .. } => "retry",
    }
}

async fn finish(
    db: &Database,
    job: &JobRow,
    owner: &str,
    outcome: Outcome,
    error: Option<&str>,
) -> Result<(), RepoError> {
    let (id, owner, error) = (job.id.clone(), owner.to_owned(), error.map(str::to_owned));
    let kept = db
        .run(move |conn| jobs::finish(conn, &id, &owner, outcome, error.as_deref(), now_micros()))
        .await?;
    if !kept {
        tracing::warn!(job = %job.id, "push job lease expired before its outcome was recorded; another worker owns it now");
    }
    Ok(())
}
