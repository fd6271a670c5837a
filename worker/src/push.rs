//! The push loops: the scheduler turns due schedules into queued digests,
//! and the sender leases queued jobs and hands them to FCM (or the log).
//! Both are safe with any number of workers: schedules and jobs are claimed
//! with row locks that skip what another worker holds, and a job's lease
//! lets another worker take over if its holder dies.

use std::sync::Arc;
use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::push::{PushSender, SendOutcome, backoff};
use deskbind_core::repo::jobs::{Claimed, JobRow, Outcome};
use deskbind_core::repo::{RepoError, push_devices};
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::digests::{self, DueReport};
use deskbind_core::usecases::{push_devices as devices, push_jobs};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// Schedules claimed per scheduler transaction.
const SCHEDULE_BATCH: i64 = 200;

/// Runs the scheduler until no schedule is due at `now`.
#[tracing::instrument(name = "push_schedules", skip(db))]
pub async fn run_scheduler_once(db: &Database, now: i64) -> Result<DueReport, RepoError> {
    digests::enqueue_all_due(db, now, SCHEDULE_BATCH).await
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

/// Leases due jobs and sends them, at most `concurrency` at a time, until
/// `cancel` fires; then waits for the sends in flight and returns.
#[tracing::instrument(name = "push_sender", skip_all, fields(owner = %options.owner))]
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
            match push_jobs::claim(&db, owner, now, now + lease, free as i64).await {
                Ok(claimed) => claimed,
                Err(e) => {
                    tracing::error!(error = %e, "claiming push jobs failed; retrying");
                    Vec::new()
                }
            }
        };
        let idle = claimed.is_empty();
        for claimed in claimed {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                break;
            };
            let (db, sender) = (db.clone(), sender.clone());
            running.spawn(async move {
                if let Err(e) = send_one(&db, &sender, &claimed).await {
                    tracing::error!(job = %claimed.job.id, error = %e, "recording a push outcome failed; the lease will expire and the job runs again");
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

/// Sends one claimed job and records its outcome. Its span carries the
/// id of the request that queued the job, when one did.
#[tracing::instrument(
    name = "push_send",
    skip_all,
    fields(
        job = %claimed.job.id,
        topic = %claimed.job.topic,
        attempt = claimed.job.attempts,
        request_id = claimed.job.request_id.as_deref().map(tracing::field::display),
    )
)]
pub async fn send_one(
    db: &Database,
    sender: &PushSender,
    claimed: &Claimed,
) -> Result<(), RepoError> {
    let job = &claimed.job;
    if claimed.taken_over {
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
        finish(db, job, Outcome::Dropped, Some("device removed")).await?;
        return Ok(());
    };
    let mut message = match job.message() {
        Ok(m) => m,
        Err(e) => {
            finish(db, job, Outcome::Failed, Some(&e.to_string())).await?;
            return Ok(());
        }
    };
    // A retry carries what is left of the lifetime, not all of it again.
    let expires_at =
        job.created_at + seconds(i64::try_from(message.ttl_secs).unwrap_or(i64::MAX / 2_000_000));
    let left = expires_at - now_micros();
    if left <= 0 {
        finish(db, job, Outcome::Failed, Some("expired before FCM took it")).await?;
        return Ok(());
    }
    message.ttl_secs = u64::try_from(left / 1_000_000).unwrap_or(0).max(1);
    let outcome = sender.send(&device.token, &job.topic, &message).await;
    metrics::counter!("deskbind_push_sends_total", "outcome" => outcome_label(&outcome))
        .increment(1);
    match outcome {
        SendOutcome::Delivered => {
            devices::mark_sent(db, device.id.clone(), now_micros()).await?;
            finish(db, job, Outcome::Sent, None).await?;
        }
        SendOutcome::Unregistered => {
            tracing::info!(device = %device.id, "FCM says the token is unregistered; device removed");
            finish(db, job, Outcome::Dropped, Some("token unregistered")).await?;
            devices::bury(db, device.id.clone(), device.token.clone(), now_micros()).await?;
        }
        SendOutcome::Rejected(reason) => {
            tracing::warn!(job = %job.id, %reason, "FCM refused the message; not retried");
            finish(db, job, Outcome::Failed, Some(&reason)).await?;
        }
        SendOutcome::Retry {
            after,
            reason,
            maybe_delivered,
        } => {
            let wait = backoff::delay(job.attempts, after);
            let run_at = now_micros() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX / 4);
            if run_at >= expires_at || job.attempts >= backoff::MAX_ATTEMPTS {
                tracing::warn!(job = %job.id, %reason, attempts = job.attempts, "push given up: its lifetime ends before the next try");
                finish(db, job, Outcome::Failed, Some(&reason)).await?;
            } else {
                tracing::debug!(job = %job.id, %reason, wait_ms = wait.as_millis() as u64, "push will be retried");
                let kept =
                    push_jobs::retry_at(db, job.clone(), run_at, reason.clone(), maybe_delivered)
                        .await?;
                lost_lease(kept, job);
            }
        }
    }
    Ok(())
}

fn lost_lease(kept: bool, job: &JobRow) {
    if !kept {
        tracing::warn!(job = %job.id, "push job lease expired before its outcome was recorded; the claim in force decides");
    }
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
    outcome: Outcome,
    error: Option<&str>,
) -> Result<(), RepoError> {
    let error = error.map(str::to_owned);
    let kept = push_jobs::finish(db, job.clone(), outcome, error, now_micros()).await?;
    lost_lease(kept, job);
    Ok(())
}
