//! `deskbind-phone-sim`: a desk phone without hardware. It provisions with
//! a code (or reuses a saved credential), holds the phone's live link, and
//! "dials" each command it receives: acks it, reports dialing, ringing and
//! the call's outcome after the configured delays, hangs up when the app
//! cancels, and uploads the call's record when it is over (once the server
//! has processed the call's last report, so the dial's own outcome is the
//! one that settles a call-list attempt). The outcome is `--outcome` for
//! every call, or scripted per number (`--outcome-for`, `--outcomes`; see
//! `outcomes`), so it can work a call list with a mix of answers, busy
//! lines and retries. When the server revokes its credential it says so
//! and exits non-zero. See README ("See a dial end to end") and
//! docs/call-lists.md ("Try it with the simulator").

mod outcomes;

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chrono::{DateTime, Utc};
use clap::Parser;
use deskbind_mobile::ids::DialId;
use deskbind_mobile::wire::{
    CallDirection, CallRecordUpload, CallResult, CallState, DialFailure, IngestOutcome, LineState,
};
use deskbind_mobile::{
    ClientError, LinkOptions, LinkState, PhoneClient, PhoneCommand, PhoneLink, PhoneReporter,
};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::outcomes::{Outcome, Outcomes};

#[derive(Parser, Debug)]
#[command(
    name = "deskbind-phone-sim",
    version,
    about = "Simulated deskbind desk phone: dials every command it gets, with outcomes chosen per number"
)]
struct Cli {
    /// The deskbind server.
    #[arg(long, env = "DESKBIND_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A provisioning code from `POST /v1/phones/{id}/provisioning-code`.
    #[arg(long, conflicts_with = "credential_file")]
    code: Option<String>,
    /// A file holding the phone's credential (written by --save-credential).
    #[arg(long)]
    credential_file: Option<PathBuf>,
    /// Where to store the credential after provisioning.
    #[arg(long)]
    save_credential: Option<PathBuf>,
    /// How every call ends that no script below names.
    #[arg(long, value_enum, default_value = "answered")]
    outcome: Outcome,
    /// How calls to one number end: NUMBER=OUTCOME, or a sequence
    /// NUMBER=busy,answered (one per call to it, the last repeating).
    /// NUMBER in E.164 as dialled. Repeatable; wins over --outcomes.
    #[arg(long, value_name = "NUMBER=OUTCOMES", value_parser = outcomes::parse_assignment)]
    outcome_for: Vec<outcomes::Entry>,
    /// A file of per-number outcomes: lines `NUMBER,OUTCOME[,OUTCOME...]`,
    /// `#` comments, an optional `number,outcome` header.
    #[arg(long, value_name = "FILE")]
    outcomes: Option<PathBuf>,
    /// Time from dialing to ringing.
    #[arg(long, default_value_t = 300)]
    dial_ms: u64,
    /// Time spent ringing before the outcome.
    #[arg(long, default_value_t = 1500)]
    ring_ms: u64,
    /// Length of an answered call.
    #[arg(long, default_value_t = 5000)]
    talk_ms: u64,
}

/// Why the simulator stops when the server refuses its credential.
const REVOKED: &str = "the server refused this phone's credential (401): it was revoked, \
    because the phone was provisioned again with a new code, or disabled, or deleted. \
    Get a new provisioning code and start again with --code";

/// How long a call's record waits for the server to confirm the call's
/// end (a reconnecting link may take a while; the record goes anyway).
const PROCESSED_WAIT: Duration = Duration::from_secs(10);

/// Record uploads tried per call before giving up (network errors only).
const UPLOAD_ATTEMPTS: u32 = 3;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKBIND_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let outcomes = outcomes_of(&cli)?;
    let client = phone_client(&cli).await?;
    let me = match client.me().await {
        Ok(me) => me,
        Err(e) if e.status() == Some(401) => anyhow::bail!("{REVOKED} ({e})"),
        Err(e) => return Err(e).context("the server refused the credential"),
    };
    tracing::info!(phone = %me.id, number = %me.number, server = %cli.server, "phone ready");
    let mut link = client.connect(LinkOptions::default())?;
    run(&cli, outcomes, &client, &mut link).await
}

/// The scripted outcomes: the file's, then `--outcome-for` over them.
fn outcomes_of(cli: &Cli) -> anyhow::Result<Outcomes> {
    let mut entries = Vec::new();
    if let Some(path) = &cli.outcomes {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        entries =
            outcomes::parse_file(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    entries.extend(cli.outcome_for.iter().cloned());
    let outcomes = Outcomes::new(cli.outcome, entries);
    if outcomes.scripted() > 0 {
        tracing::info!(numbers = outcomes.scripted(), otherwise = ?cli.outcome, "outcomes scripted");
    }
    Ok(outcomes)
}

async fn phone_client(cli: &Cli) -> anyhow::Result<PhoneClient> {
    if let Some(code) = &cli.code {
        let (client, provisioned) = PhoneClient::provision(&cli.server, code)
            .await
            .context("provisioning failed")?;
        tracing::info!(phone = %provisioned.phone_id, "provisioned");
        if let Some(path) = &cli.save_credential {
            std::fs::write(path, client.credential())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(client);
    }
    let path = cli
        .credential_file
        .as_ref()
        .context("give --code (to provision) or --credential-file")?;
    let credential =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(PhoneClient::new(&cli.server, credential.trim())?)
}

/// A call in progress: its task, and how to hang it up.
struct Call {
    task: JoinHandle<()>,
    hangup: CancellationToken,
}

async fn run(
    cli: &Cli,
    mut outcomes: Outcomes,
    client: &PhoneClient,
    link: &mut PhoneLink,
) -> anyhow::Result<()> {
    let mut calls: HashMap<DialId, Call> = HashMap::new();
    let timing = Timing {
        dial: Duration::from_millis(cli.dial_ms),
        ring: Duration::from_millis(cli.ring_ms),
        talk: Duration::from_millis(cli.talk_ms),
    };
    loop {
        let command = tokio::select! {
            command = link.next() => command,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        // `None`: the link stopped, which it only does on a refused credential.
        let Some(command) = command else { break };
        calls.retain(|_, call| !call.task.is_finished());
        match command {
            PhoneCommand::Dial {
                command_id,
                number,
                expires_at,
                received_at,
                ..
            } => {
                if received_at >= expires_at {
                    tracing::warn!(%command_id, "dial arrived after its expiry; not dialing");
                    continue;
                }
                link.ack(command_id);
                let outcome = outcomes.next_for(&number);
                tracing::info!(%command_id, %number, ?outcome, "dialing");
                let hangup = CancellationToken::new();
                let call = SimulatedCall {
                    timing,
                    outcome,
                    client: client.clone(),
                    link: link.reporter(),
                    command_id,
                    number,
                    hangup: hangup.clone(),
                };
                let task = tokio::spawn(call.run());
                calls.insert(command_id, Call { task, hangup });
            }
            PhoneCommand::Hangup { command_id, reason } => {
                if let Some(call) = calls.remove(&command_id) {
                    call.hangup.cancel();
                }
                tracing::info!(%command_id, ?reason, "hung up");
            }
            PhoneCommand::Binding { user } => {
                match user {
                    Some(user) => tracing::info!(holder = %user.display_name, "bound"),
                    None => tracing::info!("no one holds this phone"),
                }
                // Sent on every connect: the line as it is now.
                if calls.is_empty() {
                    link.reporter().line_state(LineState::Idle);
                }
            }
            PhoneCommand::Refused { code, detail, .. } => {
                tracing::warn!(%code, %detail, "the server refused a frame");
            }
        }
    }
    match link.state() {
        LinkState::Unauthorized => anyhow::bail!(REVOKED),
        state => anyhow::bail!("the phone's link stopped ({state:?})"),
    }
}

/// How long each part of a simulated call takes.
#[derive(Debug, Clone, Copy)]
struct Timing {
    dial: Duration,
    ring: Duration,
    talk: Duration,
}

/// One dial command played out: progress reported on the link, then the
/// call's record uploaded (under a `call_id` derived from the command, so
/// a resend merges into the same record).
struct SimulatedCall {
    timing: Timing,
    outcome: Outcome,
    client: PhoneClient,
    link: PhoneReporter,
    command_id: DialId,
    number: String,
    hangup: CancellationToken,
}

impl SimulatedCall {
    async fn run(self) {
        let call_id = format!("sim-{}", self.command_id);
        let started_at = Utc::now();
        let (result, answered_at) = self.play(&call_id).await;
        // Idle again (also after a hangup, which reports no call event).
        self.link.line_state(LineState::Idle);
        // The record goes once the server has processed the call's end:
        // the dial's own failure (`invalid_number`, which a record cannot
        // say) then settles a call-list attempt, not the record's result.
        let processed = self.link.processed();
        if tokio::time::timeout(PROCESSED_WAIT, processed).await != Ok(true) {
            tracing::warn!(%call_id, "the call's end is not confirmed yet; uploading its record anyway");
        }
        let record = CallRecordUpload {
            call_id,
            direction: CallDirection::Outbound,
            local_number: None,
            remote_number: self.number.clone(),
            started_at,
            answered_at,
            ended_at: Some(Utc::now()),
            duration_secs: None,
            result: Some(result),
            dial_id: Some(self.command_id),
        };
        upload_record(&self.client, &record).await;
    }

    /// Reports the call's progress; returns how it ended and when it was
    /// answered. A hangup from the app ends it at once, silently (the
    /// server already knows).
    async fn play(&self, call_id: &str) -> (CallResult, Option<DateTime<Utc>>) {
        let Timing { dial, ring, talk } = self.timing;
        let outcome = self.outcome;
        let command_id = self.command_id;
        self.report(call_id, CallState::Dialing, None);
        if !self.pause(dial).await {
            return (CallResult::Cancelled, None);
        }
        self.report(call_id, CallState::Ringing, None);
        if !self.pause(ring).await {
            return (CallResult::Cancelled, None);
        }
        if let Some(failure) = outcome.failure() {
            self.report(call_id, CallState::Failed, Some(failure));
            tracing::info!(%command_id, ?failure, "call failed");
            return (result_of(failure), None);
        }
        self.report(call_id, CallState::Answered, None);
        let answered_at = Some(Utc::now());
        if self.pause(talk).await {
            self.report(call_id, CallState::Ended, None);
            tracing::info!(%command_id, "call ended");
        }
        (CallResult::Answered, answered_at)
    }

    /// Reports the call's progress. The server takes the line from it
    /// (dialing, ringing, talking, idle: docs/presence.md), so no
    /// `line_state` frame goes with it: every frame counts against
    /// `phone_event_rate_per_minute`.
    fn report(&self, call_id: &str, state: CallState, failure: Option<DialFailure>) {
        self.link
            .report(call_id, Some(self.command_id), state, failure);
    }

    /// Waits `time`; `false` when the app hung up meanwhile.
    async fn pause(&self, time: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(time) => true,
            () = self.hangup.cancelled() => false,
        }
    }
}

fn result_of(failure: DialFailure) -> CallResult {
    match failure {
        DialFailure::Busy => CallResult::Busy,
        DialFailure::NoAnswer => CallResult::NoAnswer,
        DialFailure::Rejected => CallResult::Rejected,
        DialFailure::InvalidNumber | DialFailure::Error => CallResult::Failed,
    }
}

/// Uploads one call record, retrying network failures (the upload is
/// idempotent by `call_id`).
async fn upload_record(client: &PhoneClient, record: &CallRecordUpload) {
    let call_id = &record.call_id;
    for attempt in 1..=UPLOAD_ATTEMPTS {
        match client
            .upload_call_records(std::slice::from_ref(record))
            .await
        {
            Ok(answer) => {
                match answer.results.first() {
                    Some(item) if item.outcome != IngestOutcome::Rejected => {
                        tracing::info!(%call_id, outcome = %item.outcome, "call record uploaded");
                    }
                    item => {
                        let error = item.and_then(|i| i.error.as_ref());
                        tracing::warn!(%call_id, ?error, "the server refused the call record");
                    }
                }
                return;
            }
            Err(ClientError::Network(e)) if attempt < UPLOAD_ATTEMPTS => {
                tracing::warn!(%call_id, error = %e, "call record upload failed; retrying");
                tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
            }
            Err(e) => {
                tracing::warn!(%call_id, error = %e, "call record not uploaded");
                return;
            }
        }
    }
}
