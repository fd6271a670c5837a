//! `GET /v1/phone/ws`: the phone's live connection. The credential is
//! checked at the upgrade (the `AuthPhone` extractor: header only, never
//! the URL); the connection then leaves actix (`takeover`) and is served
//! here with tungstenite. Each connection is one task; everything it waits
//! on is its own (its frame queue, its socket, its heartbeat), so a slow or
//! dead phone never holds up another.

use deskbind_core::wire::ErrorCode;
use std::pin::Pin;
use std::time::{Duration, Instant};

use actix_web::web::BytesMut;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use deskbind_core::relay::{Attachment, CloseReason};
use deskbind_core::repo::phones;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::presence;
use deskbind_core::wire::{Frame, PROTOCOL_VERSION, PhoneFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::time::Sleep;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{
    CapacityError, Error as WsError, ProtocolError as WsProtocolError,
};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};

use super::closing::{self, Closing};
use super::frames::{self, Sender};
use super::takeover::{HandOver, PhoneTakeover};
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthPhone;
use crate::state::AppState;

/// Every this many heartbeats the credential is re-read: a backstop for a
/// revoke whose close message was lost.
const CREDENTIAL_RECHECK_TICKS: u32 = 4;
/// A write that cannot complete in this long means the phone stopped
/// reading (its socket's send buffer is full): give up on it.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// What tungstenite allocates to read into, per connection (its default is
/// 128 KiB). Phone frames are small JSON. A larger frame grows the buffer,
/// and it keeps that size afterwards (at most `phone_max_frame_bytes` plus
/// a header), so only idle phones that never sent a large frame stay this
/// small.
const READ_BUFFER_BYTES: usize = 512;

/// Checks the upgrade and answers 101; `takeover` then hands the
/// connection to [`spawn`].
pub async fn connect(
    state: web::Data<AppState>,
    phone: AuthPhone,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    if state.drain.is_draining() {
        return Err(ApiError::NodeDraining);
    }
    let not_an_upgrade = || ApiError::BadRequest {
        code: ErrorCode::WebsocketUpgradeRequired,
        detail: "this endpoint speaks WebSocket only; send an upgrade request".into(),
    };
    if req.extensions().get::<HandOver>().is_none() {
        return Err(not_an_upgrade());
    }
    let handshake = actix_http::ws::handshake(req.head())
        .map_err(|_| not_an_upgrade())?
        .finish()
        .map_into_boxed_body();
    let mut response = HttpResponse::from(handshake);
    response
        .extensions_mut()
        .insert(PhoneTakeover { state, phone });
    Ok(response)
}

/// Serves a connection `takeover` took from actix; `already_read` is what
/// the phone sent behind its handshake.
pub fn spawn(takeover: PhoneTakeover, io: TcpStream, already_read: BytesMut) {
    let PhoneTakeover { state, phone } = takeover;
    // What the connection keeps of the phone (not its whole row), and its
    // first step boxed: the task holds what it captures for its whole
    // life, so it captures little (docs/decisions/0015, "Lean sockets").
    let from = Sender {
        phone: phone.phone_id,
        org: phone.org_id,
    };
    let credential_hash = phone.credential_hash.into_boxed_str();
    let limit = state.settings.phone_max_frame_bytes;
    let config = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        // Every frame is sent and flushed on its own.
        .write_buffer_size(0)
        // Checked at each frame's header, before its payload is read, and
        // over the fragments of a message as they arrive.
        .max_frame_size(Some(limit))
        .max_message_size(Some(limit));
    // Only the bytes read: the dispatcher's 8 KiB buffer goes now.
    let already_read = already_read.to_vec();
    let handshake = Box::pin(WebSocketStream::from_partially_read(
        io,
        already_read,
        Role::Server,
        Some(config),
    ));
    metrics::gauge!("deskbind_phone_connections").increment(1.0);
    let task = async move {
        let _tracked = state.drain.track_socket();
        // Boxed: the task's state would otherwise hold the socket more than
        // once (as it is passed in, and inside the connection).
        let socket = Box::new(handshake.await);
        let ended = Connection::open(&state, from, &credential_hash, socket).await;
        tracing::info!(phone = %from.phone, ended = ?ended, "phone disconnected");
        metrics::gauge!("deskbind_phone_connections").decrement(1.0);
    };
    actix_web::rt::spawn(task);
}

/// The phone came or went: the console's live board shows which phones are
/// online, and its holder's presence counts it.
async fn announce(state: &AppState, from: Sender) {
    Box::pin(state.relay.wake_org(from.org)).await;
    Box::pin(presence::announce_holder_of(
        &state.services(),
        from.org,
        from.phone,
        now_micros(),
    ))
    .await;
}

/// Completes when `deadline` passes; never without one.
async fn until(deadline: Option<&mut Pin<Box<Sleep>>>) {
    match deadline {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ended {
    ByPhone,
    Relay(CloseReason),
    Idle,
    FrameTooLarge,
    ProtocolError,
    Gone,
    /// Told to reconnect while the node drains, and still here after that.
    Drained,
}

impl Ended {
    fn closing(self) -> Closing {
        let (code, description) = match self {
            Self::Gone => return Closing::Drop,
            // Answer the phone's close, as RFC 6455 asks.
            Self::ByPhone => return Closing::Answer,
            Self::Relay(CloseReason::Replaced) => {
                (CloseCode::Policy, "replaced by a newer connection")
            }
            Self::Relay(CloseReason::Revoked) => (CloseCode::Policy, "credential revoked"),
            Self::Relay(CloseReason::TooSlow) => (CloseCode::Again, "too slow to read its frames"),
            Self::Idle => (CloseCode::Away, "no heartbeat"),
            Self::FrameTooLarge => (CloseCode::Size, "frame too large"),
            Self::ProtocolError => (CloseCode::Protocol, "protocol error"),
            Self::Drained => (CloseCode::Restart, "node draining; connect again"),
        };
        Closing::Send(CloseFrame {
            code,
            reason: description.into(),
        })
    }
}

struct Connection<'a> {
    state: &'a AppState,
    from: Sender,
    credential_hash: &'a str,
    socket: Box<WebSocketStream<TcpStream>>,
    last_seen: Instant,
}

impl<'a> Connection<'a> {
    async fn open(
        state: &'a AppState,
        from: Sender,
        credential_hash: &'a str,
        socket: Box<WebSocketStream<TcpStream>>,
    ) -> Ended {
        // Attach before reading what is pending: a dial stored in between
        // arrives twice at worst, and the phone dedupes by command id.
        let mut attachment = Box::pin(state.relay.attach_phone(from.phone)).await;
        let mut conn = Connection {
            state,
            from,
            credential_hash,
            socket,
            last_seen: Instant::now(),
        };
        tracing::info!(phone = %from.phone, conn = attachment.conn, "phone connected");
        // Boxed here and below: these run once, and inline they would
        // make every idle connection's task as large as the largest of
        // them (docs/decisions/0015, "Lean sockets").
        announce(state, from).await;
        // A revoke between the upgrade's check and the attach found nothing
        // to close; look again now that a revoke would find us.
        let ended = if !Box::pin(conn.credential_live()).await {
            Ended::Relay(CloseReason::Revoked)
        } else {
            match Box::pin(conn.greet()).await {
                Ok(()) => conn.serve(&mut attachment).await,
                Err(ended) => ended,
            }
        };
        // The close frame first: when the node is stopping, a phone told
        // why is the one thing that must not be cut short.
        let closed = Box::pin(closing::send(
            &mut conn.socket,
            ended.closing(),
            SEND_TIMEOUT,
        ))
        .await;
        Box::pin(state.relay.detach_phone(from.phone, attachment.conn)).await;
        announce(state, from).await;
        if closed {
            Box::pin(closing::linger(&mut conn.socket)).await;
        }
        ended
    }

    /// The current holder, then every pending command.
    async fn greet(&mut self) -> Result<(), Ended> {
        let frames = super::greeting(self.state, self.from.phone)
            .await
            .map_err(|e| {
                tracing::error!(phone = %self.from.phone, error = %e, "cannot read what a connecting phone needs");
                Ended::Gone
            })?;
        for frame in &frames {
            self.send(frame).await?;
        }
        Ok(())
    }

    async fn serve(&mut self, attachment: &mut Attachment) -> Ended {
        let settings = &self.state.settings;
        let idle = Duration::from_secs(settings.phone_idle_timeout_secs);
        let period = Duration::from_secs(settings.phone_heartbeat_secs);
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        let mut ticks: u32 = 0;
        // Set when the node drains: the phone's reconnect time plus a
        // margin, after which a phone that stayed is closed. Boxed, and only
        // then: a timer is 112 bytes every idle connection need not hold.
        let mut leave_by: Option<Pin<Box<Sleep>>> = None;
        loop {
            tokio::select! {
                biased;
                Ok(()) = attachment.close.changed() => {
                    if let Some(reason) = *attachment.close.borrow() {
                        return Ended::Relay(reason);
                    }
                }
                // Sends are boxed for the same reason as `receive` below.
                frame = attachment.frames.recv() => match frame {
                    Some(frame) => if let Err(ended) = Box::pin(self.send(&frame)).await {
                        return ended;
                    },
                    None => return Ended::Relay(CloseReason::Replaced),
                },
                message = self.socket.next() => {
                    // Boxed: handling a frame (the database, the relay)
                    // is the largest state; an idle task need not hold it.
                    if let Err(ended) = Box::pin(self.receive(message)).await {
                        return ended;
                    }
                }
                _ = heartbeat.tick() => {
                    ticks = ticks.wrapping_add(1);
                    if let Err(ended) = Box::pin(self.beat(attachment.conn, idle, ticks)).await {
                        return ended;
                    }
                }
                () = self.state.drain.started(), if leave_by.is_none() => {
                    let after = self.state.drain.reconnect_delay();
                    leave_by = Some(Box::pin(tokio::time::sleep(after + crate::drain::CLOSE_MARGIN)));
                    let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
                    if let Err(ended) = Box::pin(self.send(&ServerFrame::Reconnect { after_ms })).await {
                        return ended;
                    }
                }
                () = until(leave_by.as_mut()) => return Ended::Drained,
                // The node stops now (SIGINT, or SIGTERM twice).
                () = self.state.drain.closing_sockets() => return Ended::Drained,
            }
        }
    }

    async fn beat(&mut self, conn: u64, idle: Duration, ticks: u32) -> Result<(), Ended> {
        if self.last_seen.elapsed() > idle {
            return Err(Ended::Idle);
        }
        if !self.state.relay.heartbeat(self.from.phone, conn).await {
            return Err(Ended::Relay(CloseReason::Replaced));
        }
        if ticks.is_multiple_of(CREDENTIAL_RECHECK_TICKS) && !self.credential_live().await {
            return Err(Ended::Relay(CloseReason::Revoked));
        }
        self.send(&ServerFrame::Ping {
            at: chrono::Utc::now(),
        })
        .await
    }

    async fn credential_live(&self) -> bool {
        let phone = self.from.phone.to_string();
        let hash = self.credential_hash.to_owned();
        self.state
            .db
            .run(move |conn| {
                phones::credential_is_live(conn, &phone, &hash).map_err(ApiError::from)
            })
            .await
            // A database hiccup is not a revoke.
            .unwrap_or(true)
    }

    async fn receive(&mut self, message: Option<Result<Message, WsError>>) -> Result<(), Ended> {
        let message = match message {
            None => return Err(Ended::Gone),
            Some(Err(WsError::Capacity(CapacityError::MessageTooLong { .. }))) => {
                return Err(Ended::FrameTooLarge);
            }
            // A phone that dropped its connection without a close frame
            // (a mobile network) is gone, not in breach of the protocol.
            Some(Err(
                WsError::Io(_)
                | WsError::ConnectionClosed
                | WsError::AlreadyClosed
                | WsError::Protocol(WsProtocolError::ResetWithoutClosingHandshake),
            )) => return Err(Ended::Gone),
            Some(Err(e)) => {
                tracing::info!(phone = %self.from.phone, error = %e, "phone protocol error");
                return Err(Ended::ProtocolError);
            }
            Some(Ok(message)) => message,
        };
        self.last_seen = Instant::now();
        match message {
            Message::Text(text) => self.on_text(&text).await,
            // tungstenite answers pings itself, on its next read or write.
            Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => Ok(()),
            Message::Close(_) => Err(Ended::ByPhone),
            Message::Binary(_) => {
                self.refuse("unsupported_frame", "send JSON text frames", None)
                    .await
            }
        }
    }

    async fn on_text(&mut self, text: &str) -> Result<(), Ended> {
        // Refused before it is read: no receipt, so the phone sends it again.
        if let Err(ApiError::RateLimited { retry_after_secs }) = self
            .state
            .limits
            .phone_events(&self.from.phone.to_string(), 1)
        {
            let detail = format!(
                "this phone sent more than phone_event_rate_per_minute frames; send it again in {retry_after_secs} s"
            );
            return self.refuse("rate_limited", &detail, None).await;
        }
        let frame: Frame<PhoneFrame> = match serde_json::from_str(text) {
            Ok(frame) => frame,
            Err(e) => return self.refuse("invalid_frame", &e.to_string(), None).await,
        };
        if frame.v != PROTOCOL_VERSION {
            let detail = format!("this server speaks protocol version {PROTOCOL_VERSION}");
            return self.refuse("unsupported_version", &detail, None).await;
        }
        let command_id = match &frame.body {
            PhoneFrame::Ack { command_id } => Some(*command_id),
            PhoneFrame::CallEvent { command_id, .. } => *command_id,
            _ => None,
        };
        let outcome = match frames::handle(self.state, self.from, frame.body).await {
            Ok(None) => Ok(()),
            Ok(Some(reply)) => self.send(&reply).await,
            Err(refusal) => {
                self.refuse(&refusal.code, &refusal.detail, command_id)
                    .await
            }
        };
        outcome?;
        match frame.id {
            Some(id) => self.send(&ServerFrame::Receipt { received: id }).await,
            None => Ok(()),
        }
    }

    async fn refuse(
        &mut self,
        code: &str,
        detail: &str,
        command_id: Option<deskbind_core::ids::DialId>,
    ) -> Result<(), Ended> {
        self.send(&ServerFrame::Error {
            code: code.into(),
            detail: detail.into(),
            command_id,
        })
        .await
    }

    async fn send(&mut self, frame: &ServerFrame) -> Result<(), Ended> {
        // A dial that waited in a queue past its expiry is never sent.
        if let ServerFrame::Dial { expires_at, .. } = frame
            && *expires_at <= chrono::Utc::now()
        {
            return Ok(());
        }
        let text = serde_json::to_string(&Frame::new(frame)).map_err(|_| Ended::ProtocolError)?;
        match tokio::time::timeout(SEND_TIMEOUT, self.socket.send(Message::text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(Ended::Gone),
            Err(_) => Err(Ended::Relay(CloseReason::TooSlow)),
        }
    }
}
