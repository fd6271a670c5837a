//! The push loops: the scheduler turns due schedules into queued digests,
//! and the sender leases queued jobs and hands them to FCM (or the log).
//! Both are safe with any number of workers: schedules and jobs are claimed
//! with row locks that skip what another worker holds, and a job's lease
//! lets another worker take over if its holder dies.

use std::sync::Arc;
use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::push::{PushSender, SendOutcome, backoff};
use deskbind_core::repo::RepoError;
use deskbind_core::repo::jobs::Outcome;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::digests::{self, DueReport};
use deskbind_core::usecases::push_jobs::{self, Answer, ClaimedSend, Verdict};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
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

/// Answers recorded per write transaction at most (see [`record_answers`]).
const RECORD_BATCH: usize = 256;

/// Leases due jobs and sends them, at most `concurrency` at a time, until
/// `cancel` fires; then waits for the sends in flight, records their
/// outcomes and returns. A send's slot stays taken until its outcome is
/// recorded, so no more than `concurrency` jobs are ever between claim and
/// answer.
#[tracing::instrument(name = "push_sender", skip_all, fields(owner = %options.owner))]
pub async fn run_sender(
    db: Database,
    sender: PushSender,
    options: SenderOptions,
    cancel: CancellationToken,
) {
    let slots = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut running = JoinSet::new();
    let (answers, to_record) = mpsc::unbounded_channel();
    let recorder = tokio::spawn(record_answers(db.clone(), to_record));
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
            let (sender, answers) = (sender.clone(), answers.clone());
            running.spawn(async move {
                let answer = decide(&sender, &claimed).await;
                // The recorder holds the slot until the answer is written.
                let _sent = answers.send((answer, permit));
            });
        }
        if cancel.is_cancelled() {
            break;
        }
        if idle {
            tokio::select! {
                () = cancel.cancelled() => break,
                () = tokio::time::sleep(options.poll_interval) => {}
                // A recorded answer frees a slot: look again at once.
                Ok(_slot) = slots.acquire(), if free == 0 => {}
            }
        } else if slots.available_permits() == 0 {
            tokio::select! {
                () = cancel.cancelled() => break,
                Ok(_slot) = slots.acquire() => {}
            }
        }
    }
    // Graceful: sends already out finish and record their outcome.
    while running.join_next().await.is_some() {}
    drop(answers);
    if recorder.await.is_err() {
        tracing::error!(
            "the push answer recorder panicked; unrecorded jobs run again when their leases expire"
        );
    }
    tracing::info!(owner = %options.owner, "push sender stopped");
}

/// Writes the sends' answers as they come, all that are waiting (up to
/// [`RECORD_BATCH`]) in one transaction: while one batch commits the next
/// gathers. Each answer's slot is released once it is written (or failed
/// to be: its lease then runs out and the job runs again).
async fn record_answers(
    db: Database,
    mut answers: mpsc::UnboundedReceiver<(Answer, OwnedSemaphorePermit)>,
) {
    let mut batch = Vec::with_capacity(RECORD_BATCH);
    while answers.recv_many(&mut batch, RECORD_BATCH).await > 0 {
        let (answers, slots): (Vec<Answer>, Vec<OwnedSemaphorePermit>) = batch.drain(..).unzip();
        let count = answers.len();
        match push_jobs::record(&db, answers, now_micros()).await {
            Ok(0) => {}
            Ok(lost) => {
                tracing::warn!(
                    lost,
                    "push job leases expired before their outcomes were recorded; the claims in force decide"
                );
            }
            Err(e) => {
                tracing::error!(error = %e, answers = count, "recording push outcomes failed; the leases will expire and the jobs run again");
            }
        }
        drop(slots);
    }
}

/// Sends one claimed job and records its outcome on its own (the sender
/// loop batches outcomes instead; see [`run_sender`]).
pub async fn send_one(
    db: &Database,
    sender: &PushSender,
    claimed: &ClaimedSend,
) -> Result<(), RepoError> {
    let answer = decide(sender, claimed).await;
    let lost = push_jobs::record(db, vec![answer], now_micros()).await?;
    if lost > 0 {
        tracing::warn!(job = %claimed.claimed.job.id, "push job lease expired before its outcome was recorded; the claim in force decides");
    }
    Ok(())
}

/// Sends one claimed job and says how it ended; writes nothing. Its span
/// carries the id of the request that queued the job, when one did.
#[tracing::instrument(
    name = "push_send",
    skip_all,
    fields(
        job = %send.claimed.job.id,
        topic = %send.claimed.job.topic,
        attempt = send.claimed.job.attempts,
        request_id = send.claimed.job.request_id.as_deref().map(tracing::field::display),
    )
)]
async fn decide(sender: &PushSender, send: &ClaimedSend) -> Answer {
    let job = &send.claimed.job;
    let answer = |verdict| Answer {
        job: job.clone(),
        verdict,
    };
    let finished = |outcome, error: &str| {
        answer(Verdict::Finished {
            outcome,
            error: Some(error.to_owned()),
        })
    };
    if send.claimed.taken_over {
        metrics::counter!("deskbind_push_possible_duplicates_total").increment(1);
        tracing::warn!(job = %job.id, topic = %job.topic, "push job taken over from a worker that died mid-send; FCM may deliver it twice");
    }
    let Some(device) = &send.device else {
        return finished(Outcome::Dropped, "device removed");
    };
    let mut message = match job.message() {
        Ok(m) => m,
        Err(e) => return finished(Outcome::Failed, &e.to_string()),
    };
    // A retry carries what is left of the lifetime, not all of it again.
    let expires_at =
        job.created_at + seconds(i64::try_from(message.ttl_secs).unwrap_or(i64::MAX / 2_000_000));
    let left = expires_at - now_micros();
    if left <= 0 {
        return finished(Outcome::Failed, "expired before FCM took it");
    }
    message.ttl_secs = u64::try_from(left / 1_000_000).unwrap_or(0).max(1);
    let outcome = sender.send(&device.token, &job.topic, &message).await;
    metrics::counter!("deskbind_push_sends_total", "outcome" => outcome_label(&outcome))
        .increment(1);
    match outcome {
        SendOutcome::Delivered => answer(Verdict::Sent {
            device_id: device.id.clone(),
        }),
        SendOutcome::Unregistered => {
            tracing::info!(device = %device.id, "FCM says the token is unregistered; device removed");
            answer(Verdict::Unregistered {
                device_id: device.id.clone(),
                token: device.token.clone(),
            })
        }
        SendOutcome::Rejected(reason) => {
            tracing::warn!(job = %job.id, %reason, "FCM refused the message; not retried");
            finished(Outcome::Failed, &reason)
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
                finished(Outcome::Failed, &reason)
            } else {
                tracing::debug!(job = %job.id, %reason, wait_ms = wait.as_millis() as u64, "push will be retried");
                answer(Verdict::Retry {
                    run_at,
                    error: reason,
                    maybe_delivered,
                })
            }
        }
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
