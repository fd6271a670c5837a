//! One phone's agent: speaks for a vendor desk phone on its own deskbind
//! link. Dial and hangup commands become the vendor's HTTP request to the
//! phone; the phone's Action URL events go through the call tracker, and
//! what it makes (dial progress, line state, screen pops, call records) is
//! written to disk before the phone is answered, then sent to the server
//! until confirmed (docs/vendor-phones.md, "The relay").

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use deskbind_core::ids::DialId;
use deskbind_core::vendor::commands::request;
use deskbind_core::vendor::{
    Command, CommandOutcome, Effect, PhoneRequest, Refused, TrackerConfig, VendorEvent,
};
use deskbind_core::wire::{CallState, DialFailure, IngestOutcome, PhoneFrame};
use deskbind_mobile::{PhoneClient, PhoneCommand, PhoneLink, PhoneReporter};
use tokio::sync::{mpsc, oneshot, watch};

use crate::clock::RelayClock;
use crate::config::PhoneConfig;
use crate::phone_http::PhoneHttp;
use crate::status::SharedStatus;
use crate::store::{PhoneState, StateFile};

/// How often the tracker's clock rules run (dials never seen, calls whose
/// end was lost).
const TICK: Duration = Duration::from_secs(5);
/// The longest pause between upload attempts while the server is away.
const MAX_UPLOAD_PAUSE: Duration = Duration::from_secs(300);
/// A phone refused the login: pauses double up to this.
const MAX_LOGIN_PAUSE: Duration = Duration::from_secs(3600);

/// An event from the phone, answered once it is on disk.
#[derive(Debug)]
pub struct PhoneEventMsg {
    pub event: VendorEvent,
    pub reply: oneshot::Sender<bool>,
}

/// Results from the agent's own background work.
#[derive(Debug)]
enum Done {
    /// The server confirmed every frame up to this number.
    Confirmed(u64),
    /// The link stopped before confirming.
    Unconfirmed,
    Uploaded {
        seqs: Vec<u64>,
        result: Result<Vec<IngestOutcome>, String>,
    },
}

#[derive(Debug)]
pub struct Agent {
    pub phone: Arc<PhoneConfig>,
    pub client: PhoneClient,
    pub link: PhoneLink,
    pub file: StateFile,
    pub state: PhoneState,
    pub http: PhoneHttp,
    pub clock: RelayClock,
    pub tracker_config: TrackerConfig,
    pub login_backoff: Duration,
    pub events: mpsc::Receiver<PhoneEventMsg>,
    pub status: SharedStatus,
    pub shutdown: watch::Receiver<bool>,
}

struct Running {
    agent: Agent,
    reporter: PhoneReporter,
    done_tx: mpsc::UnboundedSender<Done>,
    /// Frames up to this number were handed to the link.
    sent_upto: u64,
    confirming: bool,
    uploading: bool,
    upload_failures: u32,
    upload_retry_at: Option<tokio::time::Instant>,
    link_open: bool,
}

impl Agent {
    pub async fn run(self) {
        let (done_tx, mut done_rx) = mpsc::unbounded_channel();
        let reporter = self.link.reporter();
        let mut me = Running {
            agent: self,
            reporter,
            done_tx,
            sent_upto: 0,
            confirming: false,
            uploading: false,
            upload_failures: 0,
            upload_retry_at: None,
            link_open: true,
        };
        me.reporter.send(PhoneFrame::LineState {
            state: me.agent.state.tracker.line(),
        });
        me.flush();
        let mut tick = tokio::time::interval(TICK);
        let mut shutdown = me.agent.shutdown.clone();
        loop {
            let retry_at = me.upload_retry_at;
            tokio::select! {
                command = me.agent.link.next(), if me.link_open => match command {
                    Some(command) => me.command(command).await,
                    None => {
                        me.link_open = false;
                        tracing::error!(
                            phone = %me.agent.phone.name,
                            "the server refused the phone's credential: events are kept on disk until it is provisioned again"
                        );
                    }
                },
                Some(msg) = me.agent.events.recv() => me.event(msg).await,
                Some(done) = done_rx.recv() => me.done(done).await,
                _ = tick.tick() => me.tick().await,
                () = sleep_until(retry_at) => {
                    me.upload_retry_at = None;
                    me.flush();
                }
                _ = shutdown.changed() => break,
            }
            me.publish_status();
        }
        me.agent.link.close().await;
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

impl Running {
    fn name(&self) -> &str {
        &self.agent.phone.name
    }

    async fn command(&mut self, command: PhoneCommand) {
        match command {
            PhoneCommand::Dial {
                command_id,
                number,
                expires_at,
                ..
            } => self.dial(command_id, number, expires_at).await,
            PhoneCommand::Hangup { command_id, reason } => {
                // Only a call of this dial: after it ended, the phone may be
                // on another call that a hang-up would cut.
                if self.agent.state.tracker.knows_dial(command_id) {
                    tracing::info!(phone = %self.name(), %command_id, ?reason, "hang up");
                    self.send_command(&Command::Hangup).await;
                } else {
                    tracing::info!(phone = %self.name(), %command_id, "hang-up for a call already over: not sent");
                }
            }
            PhoneCommand::Binding { user } => {
                tracing::info!(phone = %self.name(), holder = ?user.map(|u| u.id), "holder changed");
            }
            PhoneCommand::Refused {
                code,
                detail,
                command_id,
            } => {
                tracing::warn!(phone = %self.name(), code, detail, ?command_id, "the server refused a frame");
            }
        }
    }

    async fn dial(&mut self, dial: DialId, number: String, expires_at: DateTime<Utc>) {
        self.reporter.ack(dial);
        // Sent again after a restart (the link forgot it had seen it): the
        // phone has it already.
        if self.agent.state.tracker.knows_dial(dial) {
            return;
        }
        let now = self.agent.clock.now();
        if expires_at <= now {
            tracing::info!(phone = %self.name(), %dial, "dial expired before it arrived: not sent");
            return;
        }
        let login = &self.agent.phone.login;
        let built = request(
            self.agent.phone.vendor,
            &Command::Dial {
                number: number.clone(),
            },
            login,
        );
        let phone_request = match built {
            Ok(r) => r,
            Err(Refused::InvalidNumber) => {
                return self.fail(dial, DialFailure::InvalidNumber, None).await;
            }
            Err(Refused::Unsupported { .. }) => {
                return self
                    .fail(
                        dial,
                        DialFailure::Error,
                        Some("the phone cannot dial".into()),
                    )
                    .await;
            }
        };
        if let Some(until) = self.paused(now) {
            let why = format!("the phone refused the login; paused until {until}");
            return self.fail(dial, DialFailure::Error, Some(why)).await;
        }
        // Expected before the request goes: the phone may report the call
        // before it answers the request.
        self.agent.state.tracker.expect_dial(dial, &number, now);
        match self.send_to_phone(&phone_request).await {
            Ok(()) => {
                self.save().await;
            }
            Err(why) => {
                self.agent.state.tracker.forget_dial(dial);
                self.fail(dial, DialFailure::Error, Some(why)).await;
            }
        }
    }

    /// Sends a command that reports nothing back (hangup, DND).
    async fn send_command(&mut self, command: &Command) {
        let now = self.agent.clock.now();
        if let Some(until) = self.paused(now) {
            tracing::warn!(phone = %self.name(), %until, "not sent: the phone refused the login lately");
            return;
        }
        let built = request(self.agent.phone.vendor, command, &self.agent.phone.login);
        let Ok(phone_request) = built else {
            tracing::warn!(phone = %self.name(), ?command, "the phone cannot do this");
            return;
        };
        if self.send_to_phone(&phone_request).await.is_err() {
            self.save().await;
        }
    }

    /// Sends one request to the phone; a failure says why (a refused login
    /// starts a pause first).
    async fn send_to_phone(&mut self, phone_request: &PhoneRequest) -> Result<(), String> {
        let outcome = self.agent.http.send(&self.agent.phone, phone_request).await;
        self.agent.status.update(|status| {
            status.commands_sent += 1;
        });
        if outcome == CommandOutcome::Done {
            self.login_worked().await;
            Ok(())
        } else {
            Err(self.command_failed(outcome))
        }
    }

    fn paused(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.agent
            .state
            .login_paused_until
            .filter(|until| *until > now)
    }

    async fn login_worked(&mut self) {
        if self.agent.state.login_refusals > 0 || self.agent.state.login_paused_until.is_some() {
            self.agent.state.login_refusals = 0;
            self.agent.state.login_paused_until = None;
            self.save().await;
        }
    }

    /// Notes a failed command; after a refused login nothing goes to the
    /// phone for a while, or its repeated failures would lock it out.
    fn command_failed(&mut self, outcome: CommandOutcome) -> String {
        let why = match outcome {
            CommandOutcome::LoginRefused => {
                let state = &mut self.agent.state;
                state.login_refusals = state.login_refusals.saturating_add(1);
                let factor = 2u32.saturating_pow(state.login_refusals.saturating_sub(1).min(12));
                let pause = self
                    .agent
                    .login_backoff
                    .saturating_mul(factor)
                    .min(MAX_LOGIN_PAUSE);
                let until = self.agent.clock.now()
                    + TimeDelta::from_std(pause).unwrap_or(TimeDelta::hours(1));
                state.login_paused_until = Some(until);
                tracing::error!(
                    phone = %self.agent.phone.name,
                    refusals = state.login_refusals,
                    %until,
                    "the phone refused the relay's login: check username and password in the configuration; nothing is sent to it until then"
                );
                format!("the phone refused the login; paused until {until}")
            }
            CommandOutcome::Failed(why) => why,
            CommandOutcome::Done => String::new(),
        };
        self.agent.status.update(|status| {
            status.last_error = Some(why.clone());
        });
        why
    }

    /// Reports a dial that never reached the phone.
    async fn fail(&mut self, dial: DialId, failure: DialFailure, why: Option<String>) {
        tracing::warn!(phone = %self.name(), %dial, ?failure, why, "dial failed");
        let at = self.agent.clock.now();
        self.queue_frame(failed_frame(dial, failure, at));
        self.save().await;
        self.flush();
    }

    async fn event(&mut self, msg: PhoneEventMsg) {
        let now = self.agent.clock.now();
        let effects = self
            .agent
            .state
            .tracker
            .observe(&self.agent.tracker_config, &msg.event, now);
        self.apply(effects, now);
        let saved = self.save().await;
        self.agent.status.update(|status| {
            status.last_event_at = Some(now);
        });
        self.publish_status();
        let _ = msg.reply.send(saved);
        self.flush();
    }

    async fn tick(&mut self) {
        let now = self.agent.clock.now();
        let effects = self
            .agent
            .state
            .tracker
            .tick(&self.agent.tracker_config, now);
        if !effects.is_empty() {
            self.apply(effects, now);
            self.save().await;
            self.flush();
        }
    }

    fn apply(&mut self, effects: Vec<Effect>, now: DateTime<Utc>) {
        for effect in effects {
            match effect {
                Effect::Frame(frame) => self.queue_frame(frame),
                Effect::Record(record) => self.agent.state.push_record(record),
                Effect::DialUnseen(dial) => {
                    tracing::warn!(phone = %self.name(), %dial, "the phone took the dial but never started the call");
                    self.queue_frame(failed_frame(dial, DialFailure::Error, now));
                }
                Effect::Dnd(on) => {
                    tracing::info!(phone = %self.name(), on, "do-not-disturb changed on the handset");
                }
            }
        }
    }

    fn queue_frame(&mut self, frame: PhoneFrame) {
        if let Some(dropped) = self.agent.state.push_frame(frame) {
            tracing::error!(phone = %self.name(), ?dropped, "too many frames unsent: the oldest is dropped");
        }
    }

    async fn save(&mut self) -> bool {
        match self.agent.file.save(&self.agent.state).await {
            Ok(()) => true,
            Err(e) => {
                tracing::error!(phone = %self.name(), error = %e, "cannot save the phone's state");
                self.agent.status.update(|status| {
                    status.last_error = Some(format!("cannot save state: {e}"));
                });
                false
            }
        }
    }

    /// Hands new frames to the link, waits for their receipt, and uploads
    /// the records whose frames are confirmed.
    fn flush(&mut self) {
        for frame in &self.agent.state.frames {
            if frame.seq > self.sent_upto {
                self.reporter.send(frame.item.clone());
                self.sent_upto = frame.seq;
            }
        }
        if !self.confirming && !self.agent.state.frames.is_empty() && self.link_open {
            self.confirming = true;
            let upto = self.sent_upto;
            let processed = self.reporter.processed();
            let done = self.done_tx.clone();
            tokio::spawn(async move {
                let message = if processed.await {
                    Done::Confirmed(upto)
                } else {
                    Done::Unconfirmed
                };
                let _ = done.send(message);
            });
        }
        if self.uploading || self.upload_retry_at.is_some() {
            return;
        }
        let ready = self.agent.state.records_ready();
        if ready.is_empty() {
            return;
        }
        self.uploading = true;
        let client = self.agent.client.clone();
        let done = self.done_tx.clone();
        tokio::spawn(async move {
            let seqs = ready.iter().map(|r| r.seq).collect();
            let records: Vec<_> = ready.into_iter().map(|r| r.item).collect();
            let result = client
                .upload_call_records(&records)
                .await
                .map(|answer| answer.results.into_iter().map(|r| r.outcome).collect())
                .map_err(|e| e.to_string());
            let _ = done.send(Done::Uploaded { seqs, result });
        });
    }

    async fn done(&mut self, done: Done) {
        match done {
            Done::Confirmed(upto) => {
                self.confirming = false;
                self.agent.state.frames.retain(|f| f.seq > upto);
                self.save().await;
            }
            Done::Unconfirmed => self.confirming = false,
            Done::Uploaded { seqs, result } => {
                self.uploading = false;
                match result {
                    Ok(outcomes) => {
                        for (seq, outcome) in seqs.iter().zip(&outcomes) {
                            if *outcome == IngestOutcome::Rejected {
                                tracing::error!(phone = %self.name(), seq, "the server rejected a call record");
                            }
                        }
                        self.upload_failures = 0;
                        self.agent.state.records.retain(|r| !seqs.contains(&r.seq));
                        self.save().await;
                    }
                    Err(e) => {
                        self.upload_failures = self.upload_failures.saturating_add(1);
                        let pause = Duration::from_secs(1 << self.upload_failures.min(9))
                            .min(MAX_UPLOAD_PAUSE);
                        tracing::warn!(phone = %self.name(), error = %e, ?pause, "call records not uploaded; kept on disk");
                        self.upload_retry_at = Some(tokio::time::Instant::now() + pause);
                        self.agent.status.update(|status| {
                            status.last_error = Some(format!("upload failed: {e}"));
                        });
                    }
                }
            }
        }
        self.flush();
    }

    fn publish_status(&self) {
        let state = &self.agent.state;
        self.agent.status.update(|status| {
            status.login_paused_until = state.login_paused_until;
            status.unsent_frames = state.frames.len();
            status.unsent_records = state.records.len();
        });
    }
}

fn failed_frame(dial: DialId, failure: DialFailure, at: DateTime<Utc>) -> PhoneFrame {
    PhoneFrame::CallEvent {
        call_id: format!("relay-{dial}"),
        command_id: Some(dial),
        state: CallState::Failed,
        result: Some(failure),
        at,
    }
}
