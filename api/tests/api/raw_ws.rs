//! A WebSocket client on a bare TCP stream, for what well-behaved clients
//! never send: headers announcing more than is sent, fragments that add up.
//! Client frames are masked (RFC 6455 section 5.3); server frames are not.

use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

pub const TEXT: u8 = 0x1;
pub const CONTINUATION: u8 = 0x0;
pub const CLOSE: u8 = 0x8;
const MASK: [u8; 4] = [0x12, 0x34, 0x56, 0x78];

#[derive(Debug)]
pub struct RawSocket {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// What the server sent: a frame, or the end of the connection.
#[derive(Debug, PartialEq, Eq)]
pub enum Received {
    Frame { opcode: u8, payload: Vec<u8> },
    Closed,
}

impl RawSocket {
    /// Upgrades `/v1/phone/ws` with the phone's credential.
    pub async fn connect(port: u16, credential: &str) -> Self {
        Self::connect_sending(port, credential, &[]).await
    }

    /// Upgrades, with `behind` (raw frames) sent in the same write as the
    /// handshake, before the server has answered it.
    pub async fn connect_sending(port: u16, credential: &str, behind: &[u8]) -> Self {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let mut request = format!(
            "GET /v1/phone/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {credential}\r\n\r\n"
        )
        .into_bytes();
        request.extend_from_slice(behind);
        stream.write_all(&request).await.unwrap();
        let mut socket = Self {
            stream,
            buf: Vec::new(),
        };
        let head_end = loop {
            if let Some(i) = socket.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            assert!(socket.fill().await, "closed during the handshake");
        };
        let head = String::from_utf8_lossy(&socket.buf[..head_end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "no upgrade: {head}");
        socket.buf.drain(..head_end);
        socket
    }

    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 8192];
        match self.stream.read(&mut chunk).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    /// Writes a frame header announcing `len` payload bytes.
    pub async fn send_header(&mut self, fin: bool, opcode: u8, len: u64) {
        self.stream
            .write_all(&frame_header(fin, opcode, len))
            .await
            .unwrap();
    }

    /// Writes payload bytes (masked from their frame's start: call once per frame).
    pub async fn send_payload(&mut self, payload: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(&masked(payload)).await
    }

    /// A whole frame.
    pub async fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        self.send_header(fin, opcode, payload.len() as u64).await;
        self.send_payload(payload).await.unwrap();
    }

    /// The next server frame, or the end of the connection.
    pub async fn receive(&mut self) -> Received {
        loop {
            if let Some((opcode, payload, used)) = parse_server_frame(&self.buf) {
                self.buf.drain(..used);
                return Received::Frame { opcode, payload };
            }
            if !self.fill().await {
                return Received::Closed;
            }
        }
    }

    /// Skips data frames until the close frame; its code, then whether the
    /// server ended the connection after it. Fails after `patience`.
    pub async fn close_code(&mut self, patience: Duration) -> (u16, bool) {
        tokio::time::timeout(patience, async {
            loop {
                match self.receive().await {
                    Received::Frame {
                        opcode: CLOSE,
                        payload,
                    } => {
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        let ended = self.receive().await == Received::Closed;
                        return (code, ended);
                    }
                    Received::Frame { .. } => {}
                    Received::Closed => panic!("closed without a close frame"),
                }
            }
        })
        .await
        .expect("no close frame in time")
    }

    /// The next text frame as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        loop {
            match crate::dialing::within(self.receive()).await {
                Received::Frame {
                    opcode: TEXT,
                    payload,
                } => return serde_json::from_slice(&payload).unwrap(),
                Received::Frame { .. } => {}
                Received::Closed => panic!("closed while a text frame was expected"),
            }
        }
    }
}

/// A whole client frame, masked, as bytes.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_header(fin, opcode, payload.len() as u64);
    frame.extend_from_slice(&masked(payload));
    frame
}

fn frame_header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
    let mut header = vec![if fin { 0x80 } else { 0 } | opcode];
    match len {
        0..=125 => header.push(0x80 | len as u8),
        126..=0xFFFF => {
            header.push(0x80 | 126);
            header.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            header.push(0x80 | 127);
            header.extend_from_slice(&len.to_be_bytes());
        }
    }
    header.extend_from_slice(&MASK);
    header
}

fn masked(payload: &[u8]) -> Vec<u8> {
    payload
        .iter()
        .enumerate()
        .map(|(i, b)| b ^ MASK[i % 4])
        .collect()
}

fn parse_server_frame(buf: &[u8]) -> Option<(u8, Vec<u8>, usize)> {
    let (&first, &second) = (buf.first()?, buf.get(1)?);
    let (len, start) = match second & 0x7F {
        126 => (u16::from_be_bytes([*buf.get(2)?, *buf.get(3)?]) as usize, 4),
        127 => (
            u64::from_be_bytes(buf.get(2..10)?.try_into().unwrap()) as usize,
            10,
        ),
        short => (short as usize, 2),
    };
    let payload = buf.get(start..start + len)?.to_vec();
    Some((first & 0x0F, payload, start + len))
}
