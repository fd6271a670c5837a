//! `PhoneLink`: a phone's live connection to deskbind (docs/phone-protocol.md).
//! A background task holds the WebSocket, answers pings, reconnects with
//! jittered backoff, drops dial commands it has already seen (a resend
//! after a reconnect never dials twice: it is acked again instead), and
//! keeps every frame the phone sends until the server's receipt says it was
//! processed, sending the unconfirmed ones again after a reconnect (the
//! server treats repeats as no-ops), and after the delay a `rate_limited`
//! refusal names (writing nothing new until then).
//! A `reconnect` frame (the node is draining) is obeyed: the link keeps the
//! connection until the delay has passed, then closes it and connects again
//! at once to the same URL.
//! It stops for good when the server refuses the credential.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deskbind_core::ids::DialId;
use deskbind_core::wire::{
    BoundUser, CallState, DialFailure, Frame, HangupReason, LineState, PROTOCOL_VERSION,
    PhoneFrame, ServerFrame,
};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{self, Message};

use crate::backoff::Backoff;
use crate::phone::PhoneClient;
use crate::phone_nfc_dial::NfcDial;
use crate::{ClientError, Result};

/// Command ids remembered for deduplication (far more than a phone gets
/// within a command's lifetime).
const SEEN_CAPACITY: usize = 10_000;
/// Frames kept for resending; beyond this the oldest are given up (a server
/// that never sends receipts would otherwise grow the list forever).
const UNCONFIRMED_CAPACITY: usize = 10_000;

/// What the server asks of the phone.
#[derive(Debug, Clone, PartialEq)]
pub enum PhoneCommand {
    /// Dial, unless `expires_at` has passed. Each command id arrives once,
    /// from the server or from an NFC payload ([`PhoneLink::dial_from_nfc`],
    /// where `created_at` is when the payload was issued).
    Dial {
        command_id: DialId,
        number: String,
        created_at: DateTime<Utc>,
        expires_at: DateTime<Utc>,
        received_at: DateTime<Utc>,
    },
    Hangup {
        command_id: DialId,
        reason: HangupReason,
    },
    /// The holder changed (`None`: nobody holds the phone).
    Binding { user: Option<BoundUser> },
    /// The server refused a frame the phone sent.
    Refused {
        code: String,
        detail: String,
        command_id: Option<DialId>,
    },
}

/// The link's connection state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkState {
    Connecting,
    Connected,
    /// Waiting before the next attempt.
    Disconnected,
    /// The server refused the credential (revoked): the link has stopped.
    Unauthorized,
    Stopped,
}

#[derive(Debug, Clone)]
pub struct LinkOptions {
    pub min_backoff: Duration,
    pub max_backoff: Duration,
    /// Nothing from the server for this long (it pings every 15 s by
    /// default) means the connection is dead even without a FIN: reconnect.
    pub idle_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self {
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

#[derive(Debug)]
pub struct PhoneLink {
    commands: mpsc::UnboundedReceiver<PhoneCommand>,
    outbox: mpsc::UnboundedSender<Control>,
    state: watch::Receiver<LinkState>,
    task: JoinHandle<()>,
}

#[derive(Debug)]
enum Control {
    Send(PhoneFrame),
    /// A dial verified from an NFC payload: handed on unless already seen.
    NfcDial(NfcDial),
    /// Drop the current connection (tests use it to simulate a network cut).
    Reconnect,
    /// Answer once every frame sent before this one has its receipt.
    Processed(oneshot::Sender<()>),
    Stop,
}

impl PhoneClient {
    /// Opens the phone's live link; it connects (and reconnects) in the
    /// background.
    pub fn connect(&self, options: LinkOptions) -> Result<PhoneLink> {
        let mut url = self
            .http_base()
            .join("v1/phone/ws")
            .map_err(|e| ClientError::BaseUrl(e.to_string()))?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| ClientError::BaseUrl("cannot make a WebSocket URL".into()))?;
        let bearer = HeaderValue::from_str(&format!("Bearer {}", self.credential()))
            .map_err(|_| ClientError::BaseUrl("credential is not a valid header".into()))?;
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let (outbox, control) = mpsc::unbounded_channel();
        let (state_tx, state) = watch::channel(LinkState::Connecting);
        let worker = Worker {
            url: url.to_string(),
            bearer,
            commands: commands_tx,
            control,
            state: state_tx,
            pending: VecDeque::new(),
            unconfirmed: VecDeque::new(),
            next_id: 0,
            seen: HashSet::new(),
            seen_order: VecDeque::new(),
            backoff: Backoff::new(options.min_backoff, options.max_backoff),
            idle_timeout: options.idle_timeout,
            connect_timeout: options.connect_timeout,
            reconnect_after: None,
            waiting: Vec::new(),
            resend: Vec::new(),
            resend_at: None,
        };
        let task = tokio::spawn(worker.run());
        Ok(PhoneLink {
            commands,
            outbox,
            state,
            task,
        })
    }
}

impl PhoneLink {
    /// The next command; `None` once the link has stopped.
    pub async fn next(&mut self) -> Option<PhoneCommand> {
        self.commands.recv().await
    }

    pub fn state(&self) -> LinkState {
        self.state.borrow().clone()
    }

    /// The link's state as it changes, for whoever shows it elsewhere (a
    /// relay's status page).
    pub fn state_watch(&self) -> watch::Receiver<LinkState> {
        self.state.clone()
    }

    /// Waits until the link is in `wanted` (or has stopped for good).
    pub async fn wait_for(&mut self, wanted: LinkState) -> LinkState {
        let state = self
            .state
            .wait_for(|s| *s == wanted || matches!(s, LinkState::Unauthorized | LinkState::Stopped))
            .await
            .map(|s| s.clone());
        state.unwrap_or(LinkState::Stopped)
    }

    pub fn ack(&self, command_id: DialId) {
        self.reporter().ack(command_id);
    }

    /// Reports the progress of a call (`result` only with `Failed`).
    pub fn report(
        &self,
        call_id: &str,
        command_id: Option<DialId>,
        state: CallState,
        result: Option<DialFailure>,
    ) {
        self.reporter().report(call_id, command_id, state, result);
    }

    /// A call rings in; the holder's app is told.
    pub fn incoming(&self, call_id: &str, from: &str) {
        self.reporter().incoming(call_id, from);
    }

    /// Hands a dial verified from an NFC payload to [`PhoneLink::next`],
    /// unless its command already arrived (from the server, or another
    /// tap); ack and report it like any other.
    pub fn dial_from_nfc(&self, dial: NfcDial) {
        self.reporter().dial_from_nfc(dial);
    }

    /// A handle that sends through this link, for tasks that run calls.
    pub fn reporter(&self) -> PhoneReporter {
        PhoneReporter {
            outbox: self.outbox.clone(),
        }
    }

    /// Drops the current connection; the link reconnects as after a
    /// network failure.
    pub fn drop_connection(&self) {
        let _ = self.outbox.send(Control::Reconnect);
    }

    /// Closes the connection and stops the link.
    pub async fn close(self) {
        let _ = self.outbox.send(Control::Stop);
        let _ = self.task.await;
    }
}

/// Sends what the phone reports through its link; frames queue while the
/// link reconnects.
#[derive(Debug, Clone)]
pub struct PhoneReporter {
    outbox: mpsc::UnboundedSender<Control>,
}

impl PhoneReporter {
    pub fn ack(&self, command_id: DialId) {
        self.send(PhoneFrame::Ack { command_id });
    }

    pub fn report(
        &self,
        call_id: &str,
        command_id: Option<DialId>,
        state: CallState,
        result: Option<DialFailure>,
    ) {
        self.send(PhoneFrame::CallEvent {
            call_id: call_id.to_owned(),
            command_id,
            state,
            result,
            at: Utc::now(),
        });
    }

    pub fn incoming(&self, call_id: &str, from: &str) {
        self.send(PhoneFrame::Incoming {
            call_id: call_id.to_owned(),
            from: from.to_owned(),
        });
    }

    /// Reports the phone's line (docs/presence.md): on connect and
    /// whenever it changes. Its holder shows `busy` while it is not idle.
    pub fn line_state(&self, state: LineState) {
        self.send(PhoneFrame::LineState { state });
    }

    /// See [`PhoneLink::dial_from_nfc`].
    pub fn dial_from_nfc(&self, dial: NfcDial) {
        let _ = self.outbox.send(Control::NfcDial(dial));
    }

    /// Resolves once the server has processed (sent the receipt for)
    /// every frame sent through this link before the call: `true`; `false`
    /// when the link stopped first. Across a reconnect it waits for the
    /// resent frames' receipts. Lets a phone order what it sends over HTTP
    /// after what it reported on the link (a call's record after the
    /// call's end, so the dial's own outcome is the one that counts).
    pub fn processed(&self) -> impl std::future::Future<Output = bool> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let _ = self.outbox.send(Control::Processed(tx));
        async move { rx.await.is_ok() }
    }

    /// Sends any frame of the phone protocol (a relay speaking for a phone
    /// that reports in its own terms sends what its tracker made).
    pub fn send(&self, frame: PhoneFrame) {
        let _ = self.outbox.send(Control::Send(frame));
    }
}

struct Worker {
    url: String,
    bearer: HeaderValue,
    commands: mpsc::UnboundedSender<PhoneCommand>,
    control: mpsc::UnboundedReceiver<Control>,
    state: watch::Sender<LinkState>,
    /// Frames not yet written to a connection.
    pending: VecDeque<PhoneFrame>,
    /// Frames written but not yet confirmed by a receipt, oldest first.
    unconfirmed: VecDeque<(u64, PhoneFrame)>,
    next_id: u64,
    seen: HashSet<DialId>,
    seen_order: VecDeque<DialId>,
    backoff: Backoff,
    idle_timeout: Duration,
    connect_timeout: Duration,
    /// Set by a `reconnect` frame until `serve` schedules it.
    reconnect_after: Option<Duration>,
    /// Who waits for the receipt of a frame id (`PhoneReporter::processed`).
    waiting: Vec<(u64, oneshot::Sender<()>)>,
    /// Frames to write again once `resend_at` has come: those unconfirmed
    /// when the server refused one as `rate_limited` (the refused frame
    /// and the ones written after it, in order). New frames wait in
    /// `pending` meanwhile.
    resend: Vec<(u64, PhoneFrame)>,
    resend_at: Option<tokio::time::Instant>,
}

/// How a connection ended.
enum Outcome {
    Lost,
    /// The server asked for a reconnect (it is draining): connect again at
    /// once, to the same URL, which a load balancer sends elsewhere.
    Moved,
    Stop,
    Unauthorized,
}

impl Worker {
    async fn run(mut self) {
        loop {
            self.state.send_replace(LinkState::Connecting);
            let outcome = match self.open().await {
                Ok(socket) => {
                    self.state.send_replace(LinkState::Connected);
                    self.backoff.reset();
                    self.serve(socket).await
                }
                Err(outcome) => outcome,
            };
            let end = match outcome {
                Outcome::Stop => LinkState::Stopped,
                Outcome::Unauthorized => LinkState::Unauthorized,
                Outcome::Moved => continue,
                Outcome::Lost => {
                    self.state.send_replace(LinkState::Disconnected);
                    let pause = self.backoff.next_delay();
                    if !self.wait_or_stop(pause).await {
                        continue;
                    }
                    LinkState::Stopped
                }
            };
            self.state.send_replace(end);
            return;
        }
    }

    /// Sleeps, queueing frames meanwhile; `true` when asked to stop.
    async fn wait_or_stop(&mut self, pause: Duration) -> bool {
        let deadline = tokio::time::sleep(pause);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                () = &mut deadline => return false,
                control = self.control.recv() => if self.on_control_offline(control) {
                    return true;
                },
            }
        }
    }

    /// Handles a request while there is no connection; `true` means stop.
    fn on_control_offline(&mut self, control: Option<Control>) -> bool {
        match control {
            Some(Control::Send(frame)) => self.pending.push_back(frame),
            // Offline is when NFC matters most: dial now, report later.
            Some(Control::NfcDial(dial)) => self.offer_nfc_dial(dial),
            Some(Control::Reconnect) => {}
            Some(Control::Processed(done)) => self.on_processed(done),
            Some(Control::Stop) | None => return true,
        }
        false
    }

    async fn open(
        &mut self,
    ) -> std::result::Result<
        tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
        Outcome,
    > {
        let mut request = self
            .url
            .as_str()
            .into_client_request()
            .map_err(|_| Outcome::Stop)?;
        request
            .headers_mut()
            .insert("Authorization", self.bearer.clone());
        let connect = tokio::time::timeout(
            self.connect_timeout,
            tokio_tungstenite::connect_async(request),
        );
        tokio::pin!(connect);
        // Requests keep being served while the connection is being made (a
        // dead network can hold it for the whole timeout).
        loop {
            tokio::select! {
                result = &mut connect => return match result {
                    Ok(Ok((socket, _))) => Ok(socket),
                    Ok(Err(tungstenite::Error::Http(response))) if response.status() == 401 => {
                        Err(Outcome::Unauthorized)
                    }
                    Ok(Err(_)) | Err(_) => Err(Outcome::Lost),
                },
                control = self.control.recv() => if self.on_control_offline(control) {
                    return Err(Outcome::Stop);
                },
            }
        }
    }

    async fn serve(
        &mut self,
        mut socket: tokio_tungstenite::WebSocketStream<
            tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
        >,
    ) -> Outcome {
        // What the last connection did not confirm (or refused as
        // rate-limited) goes again, in order.
        self.resend_at = None;
        self.requeue_resends();
        let resend: Vec<(u64, PhoneFrame)> = self.unconfirmed.iter().cloned().collect();
        for (id, frame) in &resend {
            if write(&mut socket, Some(*id), frame).await.is_err() {
                return Outcome::Lost;
            }
        }
        while let Some(frame) = self.pending.pop_front() {
            if self.transmit(&mut socket, frame).await.is_err() {
                return Outcome::Lost;
            }
        }
        let idle = tokio::time::sleep(self.idle_timeout);
        tokio::pin!(idle);
        // Until the server asks for a reconnect, never.
        let mut move_at: Option<tokio::time::Instant> = None;
        let reconnect = tokio::time::sleep(Duration::ZERO);
        tokio::pin!(reconnect);
        loop {
            let resend_at = self.resend_at;
            tokio::select! {
                () = &mut idle => return Outcome::Lost,
                () = sleep_until(resend_at), if resend_at.is_some() => {
                    if self.send_again(&mut socket).await.is_err() {
                        return Outcome::Lost;
                    }
                }
                () = &mut reconnect, if move_at.is_some() => {
                    let _ = socket.close(None).await;
                    // Until the server's answering close (briefly): a dial
                    // arriving now is not acked, and the next node sends it.
                    let _ = tokio::time::timeout(Duration::from_secs(1), async {
                        while let Some(Ok(_)) = socket.next().await {}
                    })
                    .await;
                    return Outcome::Moved;
                }
                message = socket.next() => match message {
                    Some(Ok(Message::Text(text))) => {
                        idle.as_mut().reset(tokio::time::Instant::now() + self.idle_timeout);
                        let reply = self.on_frame(text.as_str());
                        if let Some(after) = self.reconnect_after.take() {
                            // Served until then: dials still arrive here.
                            let at = *move_at.get_or_insert(tokio::time::Instant::now() + after);
                            reconnect.as_mut().reset(at);
                        }
                        if self.answer(&mut socket, reply).await.is_err() {
                            return Outcome::Lost;
                        }
                    }
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return Outcome::Lost,
                    Some(Ok(_)) => {
                        idle.as_mut().reset(tokio::time::Instant::now() + self.idle_timeout);
                    }
                },
                control = self.control.recv() => match control {
                    // Held back while the server asks the phone to slow down.
                    Some(Control::Send(frame)) if self.resend_at.is_some() => {
                        self.pending.push_back(frame);
                    }
                    Some(Control::Send(frame)) => {
                        if self.transmit(&mut socket, frame).await.is_err() {
                            return Outcome::Lost;
                        }
                    }
                    Some(Control::NfcDial(dial)) => self.offer_nfc_dial(dial),
                    Some(Control::Reconnect) => return Outcome::Lost,
                    Some(Control::Processed(done)) => self.on_processed(done),
                    Some(Control::Stop) | None => {
                        let _ = socket.close(None).await;
                        return Outcome::Stop;
                    }
                },
            }
        }
    }

    /// Numbers the frame, keeps it until its receipt, and writes it.
    async fn transmit<S>(
        &mut self,
        socket: &mut S,
        frame: PhoneFrame,
    ) -> std::result::Result<(), ()>
    where
        S: futures_util::Sink<Message> + Unpin,
    {
        self.next_id += 1;
        let id = self.next_id;
        self.unconfirmed.push_back((id, frame.clone()));
        if self.unconfirmed.len() > UNCONFIRMED_CAPACITY {
            self.unconfirmed.pop_front();
            tracing::warn!("too many unconfirmed frames; the oldest is given up");
        }
        write(socket, Some(id), &frame).await
    }

    async fn answer<S>(
        &mut self,
        socket: &mut S,
        reply: Option<Reply>,
    ) -> std::result::Result<(), ()>
    where
        S: futures_util::Sink<Message> + Unpin,
    {
        match reply {
            None => Ok(()),
            Some(Reply::Pong) => write(socket, None, &PhoneFrame::Pong).await,
            Some(Reply::Reliable(frame)) => self.transmit(socket, frame).await,
        }
    }

    fn confirm(&mut self, id: u64) {
        while self
            .unconfirmed
            .front()
            .is_some_and(|(sent, _)| *sent <= id)
        {
            self.unconfirmed.pop_front();
        }
        self.settle_waiters();
    }

    /// Answers the waiters whose frames are all written and confirmed (none
    /// at or before theirs unconfirmed, or refused and waiting to go again).
    fn settle_waiters(&mut self) {
        let open = [
            self.unconfirmed.front().map(|(id, _)| *id),
            self.resend.first().map(|(id, _)| *id),
        ]
        .into_iter()
        .flatten()
        .min();
        let written = self.next_id;
        for (_, done) in self.waiting.extract_if(.., |(last, _)| {
            *last <= written && open.is_none_or(|o| *last < o)
        }) {
            let _ = done.send(());
        }
    }

    /// The server refused a frame as `rate_limited` without reading it.
    /// Frames are processed in order, so the refused one is the oldest
    /// unconfirmed (a later receipt would otherwise count it as processed):
    /// it and every frame written after it are kept to go again, in order,
    /// after the seconds the refusal names (repeats are no-ops to the
    /// server), and nothing new is written until then.
    fn on_rate_limited(&mut self, detail: &str) {
        for (id, frame) in &self.unconfirmed {
            if !self.resend.iter().any(|(kept, _)| kept == id) {
                self.resend.push((*id, frame.clone()));
            }
        }
        self.resend.sort_by_key(|(id, _)| *id);
        let at = tokio::time::Instant::now() + Duration::from_secs(retry_after_secs(detail));
        self.resend_at = Some(self.resend_at.map_or(at, |t| t.max(at)));
    }

    /// Moves the frames kept by [`Self::on_rate_limited`] back among the
    /// unconfirmed ones, in id order.
    fn requeue_resends(&mut self) {
        for (id, frame) in std::mem::take(&mut self.resend) {
            if self.unconfirmed.iter().any(|(kept, _)| *kept == id) {
                continue;
            }
            let at = self.unconfirmed.partition_point(|(kept, _)| *kept < id);
            self.unconfirmed.insert(at, (id, frame));
        }
    }

    /// Writes the rate-limited frames again, then the ones held back.
    async fn send_again<S>(&mut self, socket: &mut S) -> std::result::Result<(), ()>
    where
        S: futures_util::Sink<Message> + Unpin,
    {
        self.resend_at = None;
        let again: Vec<(u64, PhoneFrame)> = self.resend.clone();
        self.requeue_resends();
        for (id, frame) in &again {
            write(socket, Some(*id), frame).await?;
        }
        while self.resend_at.is_none()
            && let Some(frame) = self.pending.pop_front()
        {
            self.transmit(socket, frame).await?;
        }
        Ok(())
    }

    /// Answers `done` when the frames sent so far are all confirmed: at
    /// once when none waits for a receipt, else with the receipt of the
    /// last of them (the pending ones are numbered in order when written).
    fn on_processed(&mut self, done: oneshot::Sender<()>) {
        if self.unconfirmed.is_empty() && self.pending.is_empty() && self.resend.is_empty() {
            let _ = done.send(());
            return;
        }
        // Callers that gave up waiting.
        self.waiting.retain(|(_, waiter)| !waiter.is_closed());
        let pending = u64::try_from(self.pending.len()).unwrap_or(u64::MAX);
        self.waiting
            .push((self.next_id.saturating_add(pending), done));
    }

    /// Hands a server frame on; returns a frame to answer with.
    fn on_frame(&mut self, text: &str) -> Option<Reply> {
        let frame = match serde_json::from_str::<Frame<ServerFrame>>(text) {
            Ok(frame) if frame.v == PROTOCOL_VERSION => frame,
            _ => {
                tracing::warn!(frame = text, "unreadable frame from the server");
                return None;
            }
        };
        let command = match frame.body {
            ServerFrame::Ping { .. } => return Some(Reply::Pong),
            ServerFrame::Receipt { received } => {
                self.confirm(received);
                return None;
            }
            ServerFrame::Dial {
                command_id,
                number,
                created_at,
                expires_at,
            } => {
                if !self.remember(command_id) {
                    // Seen before: the server missed our ack; repeat it.
                    return Some(Reply::Reliable(PhoneFrame::Ack { command_id }));
                }
                PhoneCommand::Dial {
                    command_id,
                    number,
                    created_at,
                    expires_at,
                    received_at: Utc::now(),
                }
            }
            ServerFrame::Hangup { command_id, reason } => {
                PhoneCommand::Hangup { command_id, reason }
            }
            ServerFrame::Binding { user } => PhoneCommand::Binding { user },
            ServerFrame::Reconnect { after_ms } => {
                tracing::info!(
                    after_ms,
                    "the server is draining; reconnecting after the delay"
                );
                self.reconnect_after = Some(Duration::from_millis(after_ms));
                return None;
            }
            ServerFrame::Error {
                code,
                detail,
                command_id,
            } => {
                if code == "rate_limited" {
                    self.on_rate_limited(&detail);
                }
                PhoneCommand::Refused {
                    code,
                    detail,
                    command_id,
                }
            }
        };
        let _ = self.commands.send(command);
        None
    }

    fn offer_nfc_dial(&mut self, dial: NfcDial) {
        if self.remember(dial.command_id) {
            let _ = self.commands.send(PhoneCommand::Dial {
                command_id: dial.command_id,
                number: dial.number,
                created_at: dial.issued_at,
                expires_at: dial.expires_at,
                received_at: Utc::now(),
            });
        }
    }

    /// `true` the first time a command id is seen.
    fn remember(&mut self, id: DialId) -> bool {
        if !self.seen.insert(id) {
            return false;
        }
        self.seen_order.push_back(id);
        if self.seen_order.len() > SEEN_CAPACITY
            && let Some(oldest) = self.seen_order.pop_front()
        {
            self.seen.remove(&oldest);
        }
        true
    }
}

/// The seconds a `rate_limited` refusal names ("... send it again in 3
/// s"); 1 when it names none.
fn retry_after_secs(detail: &str) -> u64 {
    detail
        .rsplit(" in ")
        .next()
        .and_then(|rest| rest.trim().strip_suffix(" s"))
        .and_then(|secs| secs.trim().parse().ok())
        .unwrap_or(1)
        .clamp(1, 60)
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A frame the link answers a server frame with.
enum Reply {
    /// Heartbeat answers are not worth resending.
    Pong,
    Reliable(PhoneFrame),
}

async fn write<S>(
    socket: &mut S,
    id: Option<u64>,
    frame: &PhoneFrame,
) -> std::result::Result<(), ()>
where
    S: futures_util::Sink<Message> + Unpin,
{
    let envelope = Frame {
        v: PROTOCOL_VERSION,
        id,
        body: frame,
    };
    let text = serde_json::to_string(&envelope).map_err(drop)?;
    socket.send(Message::text(text)).await.map_err(drop)
}

#[cfg(test)]
mod tests {
    use super::retry_after_secs;

    #[test]
    fn a_rate_limited_refusal_names_its_delay() {
        let detail =
            "this phone sent more than phone_event_rate_per_minute frames; send it again in 3 s";
        assert_eq!(retry_after_secs(detail), 3);
        assert_eq!(retry_after_secs("slow down"), 1);
        assert_eq!(retry_after_secs("send it again in 0 s"), 1);
        assert_eq!(retry_after_secs("send it again in 900 s"), 60);
    }
}
