//! Ending a phone's socket as RFC 6455 (section 7.1.1) asks, now that no
//! HTTP dispatcher does it: the close frame (ours, or tungstenite's queued
//! answer to the phone's), then our half of the TCP connection, then a
//! short wait reading what the phone still sends. Closing a socket with
//! unread bytes in it makes the kernel send a reset, which can overtake
//! the close frame and leave the phone without the reason (1009 "frame too
//! large" is sent with the rest of an oversized frame still unread).

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use futures_util::SinkExt as _;

/// How long a closed socket is read for the phone's answer or its end.
const LINGER: Duration = Duration::from_secs(2);
/// At most this much is read (and dropped) while lingering.
const LINGER_BYTES: usize = 64 * 1024;

/// How a socket ends.
#[derive(Debug)]
pub enum Closing {
    /// The phone closed: send the answer tungstenite queued.
    Answer,
    /// We close, saying why.
    Send(CloseFrame),
    /// The connection is gone already.
    Drop,
}

/// Writes the close frame within `timeout`; true when it went out, so the
/// socket is worth [`linger`]ing on.
pub async fn send(
    socket: &mut WebSocketStream<TcpStream>,
    closing: Closing,
    timeout: Duration,
) -> bool {
    let sent = match closing {
        Closing::Drop => return false,
        // `close` refuses to write once the phone has closed; a flush writes
        // the answer tungstenite queued when it read the phone's close.
        Closing::Answer => tokio::time::timeout(timeout, socket.flush()).await,
        Closing::Send(frame) => tokio::time::timeout(timeout, socket.close(Some(frame))).await,
    };
    matches!(sent, Ok(Ok(())))
}

/// Shuts our side and reads until the phone ends the connection, at most
/// [`LINGER`] and [`LINGER_BYTES`].
pub async fn linger(socket: &mut WebSocketStream<TcpStream>) {
    let stream = socket.get_mut();
    if stream.shutdown().await.is_err() {
        return;
    }
    let mut left = LINGER_BYTES;
    let mut scratch = [0u8; 1024];
    let _ = tokio::time::timeout(LINGER, async {
        while let Ok(read @ 1..) = stream.read(&mut scratch).await {
            left = left.saturating_sub(read);
            if left == 0 {
                break;
            }
        }
    })
    .await;
}
