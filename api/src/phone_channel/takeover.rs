//! The phone's WebSocket leaves actix's HTTP/1 dispatcher after the
//! handshake (docs/decisions/0015-phone-drain-and-sockets.md, "Lean
//! sockets").
//!
//! actix-http hands every request carrying `Upgrade: websocket` (and every
//! CONNECT) to an upgrade service together with the connection itself. This
//! one runs the request through the App like any other, so middleware,
//! logs, metrics, authentication and error answers are the same. Only when
//! the App answers 101 with a [`PhoneTakeover`] does the connection change
//! hands: the 101 head is written, the dispatcher (and its two 8 KiB
//! buffers) goes away, and `socket` serves the connection with buffers
//! sized for small JSON frames. Any other answer is written whole and the
//! connection closed: a body the client sent with such a request was never
//! read, so nothing after it on the connection can be trusted.

use std::pin::pin;
use std::rc::Rc;

use actix_codec::Framed;
use actix_http::body::{BodySize, BoxBody, MessageBody};
use actix_http::h1::{Codec, Message};
use actix_http::{ConnectionType, HttpMessage, Request, Response, StatusCode};
use actix_service::Service;
use actix_web::dev::ServiceResponse;
use actix_web::{HttpResponse, web};
use futures_util::SinkExt;
use tokio::net::TcpStream;

use crate::extract::AuthPhone;
use crate::state::AppState;

/// Put on the 101 answer by `socket::connect`: the connection is this
/// phone's socket from now on.
pub struct PhoneTakeover {
    pub state: web::Data<AppState>,
    pub phone: AuthPhone,
}

impl std::fmt::Debug for PhoneTakeover {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneTakeover")
            .field("phone", &self.phone.phone_id)
            .finish_non_exhaustive()
    }
}

/// Put on each request that came through the hand-over: only those can be
/// answered with 101, because only for those is the connection ours to
/// take. (A request announcing `Upgrade: websocket` with a chunked body is
/// served by the dispatcher as a plain request.)
#[derive(Debug, Clone, Copy)]
pub struct HandOver;

/// Serves one upgrade request that arrived on `framed`.
pub async fn serve<S, B>(
    app: Rc<S>,
    req: Request,
    framed: Framed<TcpStream, Codec>,
) -> Result<(), actix_web::Error>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody + 'static,
{
    req.extensions_mut().insert(HandOver);
    let response: HttpResponse = match app.call(req).await {
        Ok(answer) => answer.into_parts().1.map_into_boxed_body(),
        Err(error) => error.error_response(),
    };
    let mut response: Response<BoxBody> = response.into();
    let takeover = response.extensions_mut().remove::<PhoneTakeover>();
    let written = match takeover {
        Some(takeover) if response.status() == StatusCode::SWITCHING_PROTOCOLS => {
            hand_over(framed, response, takeover).await
        }
        _ => answer_and_close(framed, response).await,
    };
    // A client gone before its answer was written is not the server's
    // error (actix-http would log a failed upgrade service as one).
    if let Err(error) = written {
        tracing::debug!(%error, "could not write the answer to an upgrade request");
    }
    Ok(())
}

async fn hand_over(
    mut framed: Framed<TcpStream, Codec>,
    response: Response<BoxBody>,
    takeover: PhoneTakeover,
) -> std::io::Result<()> {
    let (head, _) = response.into_parts();
    // `send` flushes: the phone has the 101 before the socket starts.
    framed.send(Message::Item((head, BodySize::None))).await?;
    let parts = framed.into_parts();
    // Bytes the phone sent right behind its handshake are its first frames.
    super::socket::spawn(takeover, parts.io, parts.read_buf);
    Ok(())
}

async fn answer_and_close(
    mut framed: Framed<TcpStream, Codec>,
    response: Response<BoxBody>,
) -> std::io::Result<()> {
    let (mut head, body) = response.into_parts();
    let size = body.size();
    // The codec read this request as a raw stream, so it writes a body of
    // unknown size raw too (until the connection closes) while its header
    // writer would still announce `transfer-encoding: chunked`; say what
    // is actually written (RFC 9112 section 6.3, item 8).
    head.head_mut().set_connection_type(ConnectionType::Close);
    if size == BodySize::Stream {
        head.head_mut().no_chunking(true);
    }
    framed.feed(Message::Item((head, size))).await?;
    let mut body = pin!(body);
    while let Some(chunk) = std::future::poll_fn(|cx| body.as_mut().poll_next(cx)).await {
        let chunk = chunk.map_err(|e| std::io::Error::other(e.to_string()))?;
        framed.feed(Message::Chunk(Some(chunk))).await?;
    }
    framed.feed(Message::Chunk(None)).await?;
    // actix-codec's `close` flushes the socket, not the frame buffer.
    framed.flush().await?;
    framed.close().await
}
