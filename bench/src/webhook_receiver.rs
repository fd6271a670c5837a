//! A minimal HTTP/1.1 webhook receiver for the `webhooks` benchmark: keeps
//! connections alive, reads each request's headers and body, notes its
//! `webhook-id` and answers 204. Hand-written so the benchmark measures
//! deskbind's sender, not a framework's routing; it parses only what a
//! webhook POST carries (Content-Length bodies).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What the receiver saw.
#[derive(Debug, Default)]
pub struct Received {
    pub requests: u64,
    /// Distinct `(path, webhook-id)` pairs: one per event and endpoint.
    pub distinct: HashSet<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct Receiver {
    pub port: u16,
    pub received: Arc<Mutex<Received>>,
    pub changed: Arc<Notify>,
}

impl Receiver {
    pub async fn start() -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let receiver = Self {
            port,
            received: Arc::default(),
            changed: Arc::default(),
        };
        let serving = receiver.clone();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let serving = serving.clone();
                tokio::spawn(async move { serving.serve(socket).await });
            }
        });
        Ok(receiver)
    }

    pub fn distinct(&self) -> usize {
        self.received.lock().map(|r| r.distinct.len()).unwrap_or(0)
    }

    async fn serve(&self, mut socket: TcpStream) {
        let mut data: Vec<u8> = Vec::with_capacity(8192);
        let mut buf = [0u8; 16384];
        loop {
            // One request: headers, then Content-Length bytes.
            let header_end = loop {
                if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
                    break at + 4;
                }
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            };
            let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
            let mut lines = head.lines();
            let path = lines
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .unwrap_or("")
                .to_owned();
            let mut length = 0usize;
            let mut id = String::new();
            for line in lines {
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                match name.trim().to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "webhook-id" => id = value.trim().to_owned(),
                    _ => {}
                }
            }
            while data.len() < header_end + length {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => data.extend_from_slice(&buf[..n]),
                }
            }
            data.drain(..header_end + length);
            if let Ok(mut received) = self.received.lock() {
                received.requests += 1;
                received.distinct.insert((path, id));
            }
            self.changed.notify_waiters();
            let answer = b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n";
            if socket.write_all(answer).await.is_err() {
                return;
            }
        }
    }
}
