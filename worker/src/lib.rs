//! deskbind-worker: the background loops. Push (module [`push`]): the
//! scheduler that queues due digests and the sender that leases queued
//! sends and hands them to FCM. Also: credential housekeeping
//! (expired refresh tokens, revoked sessions, spent provisioning codes and
//! binding tokens, old live-stream events), the retention purge
//! (docs/retention.md), abandoned recording uploads
//! (presigned tickets never completed, and spool files a crash left), the
//! binding-expiry sweep and the dial-expiry sweep; webhook deliveries
//! (module [`webhooks`]). The same loops run inside
//! the API process on the embedded default, or as separate
//! `deskbind-worker` processes. Both are idempotent (deletes, and
//! conditional updates that end a binding once), so any number may run side
//! by side.

pub mod push;
pub mod webhooks;

use std::time::Duration;

use deskbind_core::db::Database;
use deskbind_core::push::PushSender;
use deskbind_core::relay::Relay;
use deskbind_core::repo::RepoError;
use deskbind_core::storage::Storage;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::housekeeping::{self, PurgeReport};
use deskbind_core::usecases::retention_purge::{self, PurgeOptions, RetentionReport};
use deskbind_core::usecases::{
    Services, bindings, call_list_completions, call_list_handback, dial_sweeps, exports, push_jobs,
    recordings, score_recompute,
};
use deskbind_core::vendor::TrackerConfig;
use deskbind_core::wire::RetentionDays;
use tokio_util::sync::CancellationToken;

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Time between housekeeping runs.
    pub maintenance_interval: Duration,
    /// Time between sweeps that end expired bindings and log them.
    pub binding_expiry_interval: Duration,
    /// Time between sweeps that mark undelivered dial commands expired.
    pub dial_expiry_interval: Duration,
    /// Time between looks for due push schedules.
    pub schedule_interval: Duration,
    /// Time between presence samples (each claims its minute, so several
    /// workers count a minute once).
    pub presence_sample_interval: Duration,
    /// Time between looks for call-list workers offline too long.
    pub call_list_offline_interval: Duration,
    pub sender: push::SenderOptions,
    /// The webhook sender (docs/integrations.md, "Webhooks").
    pub webhooks: webhooks::WebhookOptions,
    /// Time between retention purges (docs/retention.md).
    pub retention_interval: Duration,
    /// The operator's retention days (where an organisation chose none)
    /// and whether the purge archives.
    pub retention: PurgeOptions,
    /// Days a written export stays downloadable (docs/exports.md).
    pub export_days: u64,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        Self {
            maintenance_interval: Duration::from_secs(600),
            binding_expiry_interval: Duration::from_secs(30),
            dial_expiry_interval: Duration::from_secs(5),
            schedule_interval: Duration::from_secs(1),
            presence_sample_interval: Duration::from_secs(60),
            call_list_offline_interval: Duration::from_secs(60),
            sender: push::SenderOptions::default(),
            webhooks: webhooks::WebhookOptions::default(),
            retention_interval: Duration::from_secs(3600),
            retention: PurgeOptions {
                defaults: RetentionDays::UNCHOSEN,
                archive: true,
            },
            export_days: 7,
        }
    }
}

impl WorkerOptions {
    /// The defaults with the push settings from configuration.
    pub fn from_settings(settings: &deskbind_core::config::Settings) -> Self {
        let mut options = Self::default();
        options.sender.lease = Duration::from_secs(settings.push_lease_secs);
        options.sender.concurrency = settings.push_concurrency;
        options.webhooks.timeout = Duration::from_secs(settings.webhook_timeout_secs);
        options.retention = settings.purge_options();
        options.export_days = settings.export_days;
        // Checked when the settings were loaded (`Settings::validate`).
        options.webhooks.policy = deskbind_core::domain::webhook_targets::TargetPolicy::parse(
            &settings.webhook_allowed_networks,
        )
        .unwrap_or_default();
        options
    }
}

/// How long shutdown waits for an export being written.
const EXPORT_SHUTDOWN_GRACE: Duration = Duration::from_secs(20);

/// Deletes expired exports' files, then writes one due export (docs/exports.md).
#[tracing::instrument(name = "exports", skip_all)]
pub async fn run_exports_once(
    services: &Services,
    storage: &Storage,
    owner: &str,
    export_days: u64,
) -> Result<exports::ExportReport, RepoError> {
    let expired = exports::expire(services, storage, now_micros()).await?;
    let mut report = exports::run_once(services, storage, owner, export_days, now_micros).await?;
    report.expired = expired;
    Ok(report)
}

/// Runs [`run_exports_once`] every `interval` (at once again after an
/// export was written) until `cancel` fires; an export being written
/// when it fires is finished first.
async fn run_export_loop(
    services: Services,
    storage: Storage,
    owner: String,
    export_days: u64,
    interval: Duration,
    cancel: CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = tick.tick() => {}
        }
        match run_exports_once(&services, &storage, &owner, export_days).await {
            Ok(report) if report == exports::ExportReport::default() => {}
            Ok(report) => {
                tracing::info!(
                    ready = report.ready,
                    failed = report.failed,
                    retried = report.retried,
                    expired = report.expired,
                    "exports run"
                );
                if report.ready + report.failed + report.retried > 0 {
                    tick.reset_immediately();
                }
            }
            Err(e) => tracing::error!(error = %e, "exports failed; retrying at the next tick"),
        }
    }
}

/// Finished jobs are kept this long as the record of what was sent.
const FINISHED_JOB_RETENTION_SECS: i64 = 7 * 24 * 3600;

/// One housekeeping pass; tests drive this directly.
#[tracing::instrument(name = "housekeeping", skip_all)]
pub async fn run_maintenance_once(db: &Database) -> Result<PurgeReport, RepoError> {
    let report = db.run(housekeeping::purge_now).await?;
    let before = now_micros() - seconds(FINISHED_JOB_RETENTION_SECS);
    let jobs = push_jobs::purge_finished(db, before).await?;
    if jobs > 0 {
        tracing::info!(jobs, "finished push jobs purged");
    }
    Ok(report)
}

/// One retention purge as of now (docs/retention.md).
#[tracing::instrument(name = "retention", skip_all)]
pub async fn run_retention_once(
    db: &Database,
    storage: &Storage,
    options: PurgeOptions,
) -> Result<RetentionReport, RepoError> {
    retention_purge::run(db, storage, options, now_micros()).await
}

/// How long after its URL expired a presigned upload may still be
/// completed before its object is deleted (a PUT started just before the
/// expiry may still be running).
const UPLOAD_GRACE_SECS: i64 = 3600;
/// Spool files older than this belong to no running upload.
const SPOOL_MAX_AGE: Duration = Duration::from_secs(24 * 3600);

/// Deletes presigned uploads never completed (their objects and tickets)
/// and stale spool files; returns how many of each.
#[tracing::instrument(name = "upload_cleanup", skip_all)]
pub async fn run_upload_cleanup_once(
    db: &Database,
    storage: &Storage,
) -> Result<(usize, usize), RepoError> {
    let before = now_micros() - seconds(UPLOAD_GRACE_SECS);
    let removed = recordings::remove_abandoned_uploads(db, storage, before, EXPIRY_BATCH).await?;
    let spool = storage.spool_dir().to_owned();
    let spooled = tokio::task::spawn_blocking(move || purge_spool(&spool))
        .await
        .unwrap_or(0);
    Ok((removed, spooled))
}

fn purge_spool(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .filter(|e| {
            e.metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > SPOOL_MAX_AGE)
        })
        .filter(|e| std::fs::remove_file(e.path()).is_ok())
        .count()
}

/// Rows handled per batch of the upload and dial sweeps.
const EXPIRY_BATCH: i64 = 500;

/// Ends every binding whose expiry has passed, through the same use case
/// as an unbind: the phone is sent its `binding` frame (nobody) and the
/// holder's streams wake. Returns how many ended.
#[tracing::instrument(name = "binding_expiry", skip_all)]
pub async fn run_binding_expiry_once(db: &Database, relay: &Relay) -> Result<usize, RepoError> {
    bindings::end_expired(&Services::new(db.clone(), relay.clone())).await
}

/// Marks every queued dial command past its expiry `expired` and wakes its
/// user's streams; returns how many. (Delivery already refuses expired
/// commands; this makes their state say so.)
#[tracing::instrument(name = "dial_expiry", skip_all)]
/// One presence sample (docs/presence.md, "Time per state"): how many
/// users were counted, or `None` when another worker had the minute.
pub async fn run_presence_sample_once(
    db: &Database,
    relay: &Relay,
    now: deskbind_core::time::Micros,
) -> Result<Option<usize>, RepoError> {
    deskbind_core::usecases::presence_time::sample(&Services::new(db.clone(), relay.clone()), now)
        .await
}

/// One offline sweep of the call lists (docs/call-lists.md, "Hand-back
/// and reassignment"): the tasks of users offline longer than their
/// lists allow go back.
#[tracing::instrument(name = "call_list_offline", skip_all)]
pub async fn run_call_list_offline_once(
    db: &Database,
    relay: &Relay,
    now: deskbind_core::time::Micros,
) -> Result<call_list_handback::SweepReport, RepoError> {
    call_list_handback::sweep_offline(&Services::new(db.clone(), relay.clone()), now).await
}

/// Delivers the call-list completion reports waiting in the outbox
/// (docs/call-lists.md, "Progress").
#[tracing::instrument(name = "call_list_completions", skip_all)]
pub async fn run_call_list_completions_once(
    db: &Database,
    relay: &Relay,
    now: deskbind_core::time::Micros,
) -> Result<call_list_completions::DeliveryReport, RepoError> {
    let services = Services::new(db.clone(), relay.clone());
    call_list_completions::deliver_pending(&services, now).await
}

/// Gives overdue callbacks their salesperson did not take to the list's
/// pool (docs/call-lists.md, "Hand-back and reassignment"); how many.
#[tracing::instrument(name = "call_list_callbacks", skip_all)]
pub async fn run_call_list_callbacks_once(
    db: &Database,
    relay: &Relay,
    now: deskbind_core::time::Micros,
) -> Result<usize, RepoError> {
    let services = Services::new(db.clone(), relay.clone());
    deskbind_core::usecases::call_list_callbacks::sweep(&services, now).await
}

/// Closes the calls direct-mode vendor phones never reported the end of
/// (docs/vendor-phones.md, "Outcomes"); the call records stored.
#[tracing::instrument(name = "vendor_calls", skip_all)]
pub async fn run_vendor_calls_once(db: &Database, relay: &Relay) -> Result<usize, RepoError> {
    let services = Services::new(db.clone(), relay.clone());
    deskbind_core::usecases::vendor_events::close_abandoned(&services, TrackerConfig::default())
        .await
}

pub async fn run_dial_expiry_once(db: &Database, relay: &Relay) -> Result<usize, RepoError> {
    let services = Services::new(db.clone(), relay.clone());
    let mut total = 0;
    loop {
        let expired = dial_sweeps::expire_due(&services, now_micros(), EXPIRY_BATCH).await?;
        total += expired.len();
        if (expired.len() as i64) < EXPIRY_BATCH {
            break;
        }
    }
    // Call-list attempts whose phone never reported an outcome.
    let stale = deskbind_core::usecases::call_list_dials::settle_stale(
        &services,
        now_micros(),
        EXPIRY_BATCH,
    )
    .await?;
    if stale > 0 {
        tracing::warn!(
            stale,
            "call-list attempts with no outcome settled as failed"
        );
    }
    Ok(total)
}

/// Score recompute batches per tick of the worker loop, so one large
/// recompute does not hold the other loops up.
const SCORE_BATCHES_PER_TICK: usize = 20;

/// Runs due score recomputes (docs/scoring.md) one batch at a time, until
/// none is due or `max_batches` ran; returns how many ran. Tests drive
/// this directly.
#[tracing::instrument(name = "score_recompute", skip_all)]
pub async fn run_score_recomputes_once(
    db: &Database,
    owner: &str,
    max_batches: usize,
) -> Result<usize, RepoError> {
    let mut batches = 0;
    while batches < max_batches
        && score_recompute::run_once(db, owner.to_owned(), now_micros(), score_recompute::BATCH)
            .await?
    {
        batches += 1;
    }
    Ok(batches)
}

/// Power-mode dials looked at per tick (docs/call-lists.md, "Power
/// mode").
const POWER_DIALS_PER_TICK: i64 = 100;

/// Runs the due power-mode dials (each dials a user's next call-list task,
/// or waits for them to be available); returns how many ran. Tests drive
/// `call_list_power::run_due` with their clock instead.
#[tracing::instrument(name = "power_dial", skip_all)]
pub async fn run_power_dials_once(
    db: &Database,
    relay: &Relay,
    owner: &str,
) -> Result<usize, RepoError> {
    let services = Services::new(db.clone(), relay.clone());
    let steps = deskbind_core::usecases::call_list_power::run_due(
        &services,
        owner,
        now_micros(),
        POWER_DIALS_PER_TICK,
    )
    .await?;
    Ok(steps.len())
}

/// Runs the loops until `cancel` fires; a failed pass is logged and retried
/// at the next tick, never fatal. On cancel the push sender finishes the
/// sends it has out before this returns.
pub async fn run(
    db: Database,
    relay: Relay,
    storage: Storage,
    sender: PushSender,
    options: WorkerOptions,
    cancel: CancellationToken,
) {
    let sending = tokio::spawn(push::run_sender(
        db.clone(),
        sender,
        options.sender.clone(),
        cancel.clone(),
    ));
    let webhooks = tokio::spawn(webhooks::run_sender(
        db.clone(),
        options.webhooks.clone(),
        cancel.clone(),
    ));
    // Exports run on their own task: one may take minutes, and the other
    // loops must not wait for it.
    let exporting = tokio::spawn(run_export_loop(
        Services::new(db.clone(), relay.clone()),
        storage.clone(),
        options.sender.owner.clone(),
        options.export_days,
        options.schedule_interval,
        cancel.clone(),
    ));
    let mut schedule_tick = tokio::time::interval(options.schedule_interval);
    schedule_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tick = tokio::time::interval(options.maintenance_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut upload_tick = tokio::time::interval(options.maintenance_interval);
    upload_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retention_tick = tokio::time::interval(options.retention_interval);
    retention_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut expiry_tick = tokio::time::interval(options.binding_expiry_interval);
    expiry_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Score recomputes are looked for as often as push schedules.
    let mut score_tick = tokio::time::interval(options.schedule_interval);
    score_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Power-mode dials wait for a gap of seconds: looked for as often.
    let mut power_tick = tokio::time::interval(options.schedule_interval);
    power_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dial_tick = tokio::time::interval(options.dial_expiry_interval);
    dial_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut presence_tick = tokio::time::interval(options.presence_sample_interval);
    presence_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut offline_tick = tokio::time::interval(options.call_list_offline_interval);
    offline_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Completion reports wait in their outbox: looked for as often as
    // power-mode dials. Overdue callbacks as often as absences.
    let mut completion_tick = tokio::time::interval(options.schedule_interval);
    completion_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut callback_tick = tokio::time::interval(options.call_list_offline_interval);
    callback_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Vendor phones' lost call ends are minutes old before they count.
    let mut vendor_tick = tokio::time::interval(options.call_list_offline_interval);
    vendor_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tracing::info!(
        interval_secs = options.maintenance_interval.as_secs(),
        "worker started"
    );
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => match run_maintenance_once(&db).await {
                Ok(report) if report == PurgeReport::default() => tracing::debug!("housekeeping: nothing to purge"),
                Ok(report) => tracing::info!(?report, blocklist_entries = report.blocklist_entries, "housekeeping purged expired rows"),
                Err(e) => tracing::error!(error = %e, "housekeeping failed; retrying at the next tick"),
            },
            _ = upload_tick.tick() => match run_upload_cleanup_once(&db, &storage).await {
                Ok((0, 0)) => {}
                Ok((uploads, spool_files)) => tracing::info!(uploads, spool_files, "abandoned recording uploads removed"),
                Err(e) => tracing::error!(error = %e, "upload cleanup failed; retrying at the next tick"),
            },
            _ = retention_tick.tick() => match run_retention_once(&db, &storage, options.retention).await {
                Ok(report) if report.is_empty() => tracing::debug!("retention: nothing to purge"),
                Ok(report) => tracing::info!(call_records = report.call_records, recordings = report.recordings, recording_bytes = report.recording_bytes, archive_parts = report.archive_parts, archive_bytes = report.archive_bytes, storage_failures = report.storage_failures, longest_batch_ms = report.longest_batch.as_millis(), "retention purged"),
                Err(e) => tracing::error!(error = %e, "retention purge failed; retrying at the next tick"),
            },
            _ = expiry_tick.tick() => match run_binding_expiry_once(&db, &relay).await {
                Ok(0) => {}
                Ok(ended) => tracing::info!(ended, "expired bindings ended"),
                Err(e) => tracing::error!(error = %e, "binding expiry sweep failed; retrying at the next tick"),
            },
            _ = schedule_tick.tick() => match push::run_scheduler_once(&db, now_micros()).await {
                Ok(report) if report.schedules == 0 => {}
                Ok(report) => tracing::info!(schedules = report.schedules, digests = report.digests, jobs = report.jobs, "push schedules processed"),
                Err(e) => tracing::error!(error = %e, "push scheduler failed; retrying at the next tick"),
            },
            _ = score_tick.tick() => match run_score_recomputes_once(&db, &options.sender.owner, SCORE_BATCHES_PER_TICK).await {
                Ok(0) => {}
                Ok(batches) => tracing::info!(batches, "score recompute batches run"),
                Err(e) => tracing::error!(error = %e, "score recompute failed; retrying at the next tick"),
            },
            _ = presence_tick.tick() => match run_presence_sample_once(&db, &relay, now_micros()).await {
                Ok(Some(users)) => tracing::debug!(users, "presence sampled"),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "presence sample failed; retrying at the next tick"),
            },
            _ = power_tick.tick() => match run_power_dials_once(&db, &relay, &options.sender.owner).await {
                Ok(0) => {}
                Ok(steps) => tracing::debug!(steps, "power-mode dials run"),
                Err(e) => tracing::error!(error = %e, "power-mode dials failed; retrying at the next tick"),
            },
            _ = offline_tick.tick() => match run_call_list_offline_once(&db, &relay, now_micros()).await {
                Ok(report) if report.returned == 0 => {}
                Ok(report) => tracing::info!(offline = report.offline, returned = report.returned, "call-list tasks of offline users handed back"),
                Err(e) => tracing::error!(error = %e, "call-list offline sweep failed; retrying at the next tick"),
            },
            _ = completion_tick.tick() => match run_call_list_completions_once(&db, &relay, now_micros()).await {
                Ok(report) if report == call_list_completions::DeliveryReport::default() => {}
                Ok(report) => tracing::info!(delivered = report.delivered, reopened = report.reopened, "call-list completion reports delivered"),
                Err(e) => tracing::error!(error = %e, "call-list completion reports failed; retrying at the next tick"),
            },
            _ = callback_tick.tick() => match run_call_list_callbacks_once(&db, &relay, now_micros()).await {
                Ok(0) => {}
                Ok(moved) => tracing::info!(moved, "overdue call-list callbacks given to the pool"),
                Err(e) => tracing::error!(error = %e, "call-list callback sweep failed; retrying at the next tick"),
            },
            _ = vendor_tick.tick() => match run_vendor_calls_once(&db, &relay).await {
                Ok(0) => {}
                Ok(records) => tracing::info!(records, "vendor phones' unfinished calls closed"),
                Err(e) => tracing::error!(error = %e, "vendor call sweep failed; retrying at the next tick"),
            },
            _ = dial_tick.tick() => match run_dial_expiry_once(&db, &relay).await {
                Ok(0) => {}
                Ok(expired) => tracing::info!(expired, "undelivered dial commands expired"),
                Err(e) => tracing::error!(error = %e, "dial expiry sweep failed; retrying at the next tick"),
            },
        }
    }
    // An export being written is given the shutdown's grace; one still
    // unfinished is abandoned, and another worker writes it again once
    // its lease runs out.
    let mut exporting = exporting;
    match tokio::time::timeout(EXPORT_SHUTDOWN_GRACE, &mut exporting).await {
        Ok(Ok(())) => {}
        Ok(Err(_)) => tracing::error!("the export loop panicked"),
        Err(_) => {
            exporting.abort();
            tracing::warn!("an export was still being written at shutdown; it is abandoned");
        }
    }
    if sending.await.is_err() {
        tracing::error!("the push sender panicked");
    }
    if webhooks.await.is_err() {
        tracing::error!("the webhook sender panicked");
    }
    tracing::info!("worker stopped");
}
