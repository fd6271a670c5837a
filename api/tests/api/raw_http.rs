//! A strict HTTP/1.1 response reader on a bare TCP stream: it checks the
//! framing a well-behaved client relies on (chunked encoding, Content-Length
//! or close-delimited) instead of trusting a lenient client library.

use std::io::Read as _;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    /// The body after transfer and content decoding.
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `request` (a whole HTTP/1.1 request head) and reads the answer,
/// failing on any framing error.
pub async fn exchange(port: u16, request: &str) -> RawResponse {
    let mut socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    // The server may keep the connection open after a framed answer; stop
    // as soon as the framing says the response is complete.
    let mut chunk = [0u8; 8192];
    loop {
        if let Some(response) = complete(&raw, false) {
            return response;
        }
        let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut chunk))
            .await
            .expect("the response never completed");
        match read {
            Ok(0) | Err(_) => {
                return complete(&raw, true).unwrap_or_else(|| {
                    panic!(
                        "connection closed before the response was complete: {:?}",
                        String::from_utf8_lossy(&raw)
                    )
                });
            }
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The response if `raw` holds all of it (`closed`: the server ended the
/// connection, which completes a close-delimited body).
fn complete(raw: &[u8], closed: bool) -> Option<RawResponse> {
    let head_end = raw.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&raw[..head_end]).expect("head is text");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (n, v) = l.split_once(':').expect("header line");
            (n.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    let mut response = RawResponse {
        status,
        headers,
        body: Vec::new(),
    };
    let rest = &raw[head_end..];
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let body = if chunked {
        match dechunk(rest) {
            Chunks::Complete(body) => body,
            Chunks::Incomplete if !closed => return None,
            Chunks::Incomplete => panic!(
                "chunked body cut short: {:?}",
                String::from_utf8_lossy(rest)
            ),
            Chunks::Malformed => panic!(
                "transfer-encoding: chunked, but the body is not chunk-framed: {:?}",
                String::from_utf8_lossy(rest)
            ),
        }
    } else if let Some(len) = response.header("content-length") {
        let len: usize = len.parse().unwrap();
        if rest.len() < len {
            assert!(!closed, "body shorter than its content-length");
            return None;
        }
        rest[..len].to_vec()
    } else {
        if !closed {
            return None;
        }
        assert!(
            response
                .header("connection")
                .is_some_and(|v| v.eq_ignore_ascii_case("close")),
            "a body without length or chunking must be delimited by connection: close"
        );
        rest.to_vec()
    };
    response.body = match response.header("content-encoding") {
        Some(enc) if enc.eq_ignore_ascii_case("gzip") => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut plain)
                .expect("body does not gunzip");
            plain
        }
        None => body,
        Some(other) => panic!("unexpected content-encoding {other}"),
    };
    Some(response)
}

enum Chunks {
    Complete(Vec<u8>),
    Incomplete,
    Malformed,
}

fn dechunk(mut rest: &[u8]) -> Chunks {
    let mut body = Vec::new();
    loop {
        let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") else {
            return if rest.len() > 16 {
                Chunks::Malformed
            } else {
                Chunks::Incomplete
            };
        };
        let size_text = std::str::from_utf8(&rest[..line_end]).unwrap_or("?");
        let size_text = size_text.split(';').next().unwrap_or("").trim();
        let Ok(size) = usize::from_str_radix(size_text, 16) else {
            return Chunks::Malformed;
        };
        rest = &rest[line_end + 2..];
        if rest.len() < size + 2 {
            return Chunks::Incomplete;
        }
        if &rest[size..size + 2] != b"\r\n" {
            return Chunks::Malformed;
        }
        if size == 0 {
            return Chunks::Complete(body);
        }
        body.extend_from_slice(&rest[..size]);
        rest = &rest[size + 2..];
    }
}
