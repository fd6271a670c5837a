//! Enforces `phone_max_frame_bytes` on the raw bytes of a phone's socket,
//! before anything is buffered. actix-http's frame parser checks its
//! `max_size` only once the whole announced payload has arrived, and
//! actix-ws reads everything the socket offers into its buffer meanwhile:
//! a header announcing 100 MB made the node buffer whatever followed. This
//! adapter sits between the request payload and actix-ws, follows the
//! client's frame headers (2 to 14 bytes, possibly split across chunks)
//! and counts payload bytes without holding them; as soon as a header
//! announces more than the limit, or a message's fragments add up past it,
//! it ends the stream with `PayloadError::Overflow`, which the socket task
//! answers with close 1009 (see docs/decisions/0002-hand-written-parts.md).

use std::pin::Pin;
use std::task::{Context, Poll};

use actix_web::dev::Payload;
use actix_web::error::PayloadError;
use actix_web::web::{self, Bytes};
use actix_web::{FromRequest as _, HttpRequest};
use futures_util::Stream;

use crate::error::ApiError;

/// FIN bit, opcode and mask bit of RFC 6455 section 5.2.
const FIN: u8 = 0x80;
const OPCODE: u8 = 0x0F;
const MASKED: u8 = 0x80;
const LENGTH: u8 = 0x7F;
const CONTINUATION: u8 = 0x0;
const LONGEST_HEADER: usize = 14;

/// The request body, guarded, in the form `actix_ws::handle` takes.
pub async fn guard(
    req: &HttpRequest,
    body: web::Payload,
    limit: usize,
) -> Result<web::Payload, ApiError> {
    let guarded: Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>> =
        Box::pin(FrameGuard::new(body.into_inner(), limit));
    // web::Payload has no public constructor; its extractor takes a payload.
    web::Payload::from_request(req, &mut Payload::from(guarded))
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("{e}")))
}

/// Whether a WebSocket error is this guard's refusal.
pub fn is_overflow(error: &std::io::Error) -> bool {
    error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<PayloadError>())
        .is_some_and(|e| matches!(e, PayloadError::Overflow))
}

pub struct FrameGuard<S> {
    inner: S,
    limit: u64,
    scan: Scan,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// The bytes before the offending header went out; the error is next.
    Refusing,
    Done,
}

impl<S> std::fmt::Debug for FrameGuard<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameGuard")
            .field("limit", &self.limit)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl<S> FrameGuard<S> {
    pub fn new(inner: S, limit: usize) -> Self {
        Self {
            inner,
            limit: limit as u64,
            scan: Scan::default(),
            state: State::Open,
        }
    }
}

impl<S> Stream for FrameGuard<S>
where
    S: Stream<Item = Result<Bytes, PayloadError>> + Unpin,
{
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        match this.state {
            State::Done => return Poll::Ready(None),
            State::Refusing => {
                this.state = State::Done;
                return Poll::Ready(Some(Err(PayloadError::Overflow)));
            }
            State::Open => {}
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => match this.scan.feed(&chunk, this.limit) {
                Ok(()) => Poll::Ready(Some(Ok(chunk))),
                Err(Refused { frame_start }) => {
                    if frame_start == 0 {
                        this.state = State::Done;
                        Poll::Ready(Some(Err(PayloadError::Overflow)))
                    } else {
                        // Pass on the bytes before the offending header, so
                        // nothing past the limit ever reaches actix-ws. It
                        // may still drop them when the error follows; a
                        // frame without a receipt is resent by the phone.
                        this.state = State::Refusing;
                        Poll::Ready(Some(Ok(chunk.slice(..frame_start))))
                    }
                }
            },
            other => other,
        }
    }
}

/// Where a frame too large starts in the chunk that revealed it (0 when its
/// header began in an earlier chunk).
#[derive(Debug, PartialEq, Eq)]
struct Refused {
    frame_start: usize,
}

/// The frame-header tracker, on plain bytes.
#[derive(Debug, Default)]
struct Scan {
    header: [u8; LONGEST_HEADER],
    header_len: usize,
    /// Payload bytes of the current frame still to pass.
    payload_left: u64,
    /// Payload bytes of the current (fragmented) data message so far.
    message_len: u64,
}

impl Scan {
    fn feed(&mut self, mut chunk: &[u8], limit: u64) -> Result<(), Refused> {
        let mut offset = 0;
        while !chunk.is_empty() {
            if self.payload_left > 0 {
                let skip = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(chunk.len());
                self.payload_left -= skip as u64;
                chunk = &chunk[skip..];
                offset += skip;
                continue;
            }
            // A header begun in an earlier chunk starts at 0 here.
            let frame_start = offset.saturating_sub(self.header_len);
            self.header[self.header_len] = chunk[0];
            self.header_len += 1;
            chunk = &chunk[1..];
            offset += 1;
            let Some(length) = self.announced_length() else {
                continue;
            };
            self.header_len = 0;
            self.check(length, limit)
                .map_err(|()| Refused { frame_start })?;
            self.payload_left = length;
        }
        Ok(())
    }

    /// The payload length once the whole header is in.
    fn announced_length(&self) -> Option<u64> {
        let have = &self.header[..self.header_len];
        let &second = have.get(1)?;
        let (extended, base) = match second & LENGTH {
            126 => (2, 2),
            127 => (8, 2),
            short => (0, usize::from(short)),
        };
        let mask = if second & MASKED != 0 { 4 } else { 0 };
        if have.len() < 2 + extended + mask {
            return None;
        }
        Some(match extended {
            0 => base as u64,
            _ => have[2..2 + extended]
                .iter()
                .fold(0u64, |n, &b| (n << 8) | u64::from(b)),
        })
    }

    /// Refuses a frame, or a data message so far, longer than `limit`.
    fn check(&mut self, length: u64, limit: u64) -> Result<(), ()> {
        let first = self.header[0];
        if length > limit {
            return Err(());
        }
        let opcode = first & OPCODE;
        // Control frames (0x8 and up) may interleave a fragmented message.
        if opcode >= 0x8 {
            return Ok(());
        }
        self.message_len = if opcode == CONTINUATION {
            self.message_len.saturating_add(length)
        } else {
            length
        };
        if self.message_len > limit {
            return Err(());
        }
        if first & FIN != 0 {
            self.message_len = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A masked client frame header.
    fn header(fin: bool, opcode: u8, len: u64) -> Vec<u8> {
        let mut h = vec![if fin { FIN } else { 0 } | opcode];
        match len {
            0..=125 => h.push(MASKED | len as u8),
            126..=0xFFFF => {
                h.push(MASKED | 126);
                h.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                h.push(MASKED | 127);
                h.extend_from_slice(&len.to_be_bytes());
            }
        }
        h.extend_from_slice(&[1, 2, 3, 4]);
        h
    }

    fn frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let mut f = header(fin, opcode, len as u64);
        f.resize(f.len() + len, b' ');
        f
    }

    #[test]
    fn frames_within_the_limit_pass_byte_by_byte() {
        let mut bytes = frame(true, 1, 100);
        bytes.extend(frame(true, 1, 1000));
        bytes.extend(frame(false, 1, 400));
        bytes.extend(frame(true, 9, 4)); // a ping between fragments
        bytes.extend(frame(true, 0, 600));
        let mut scan = Scan::default();
        for b in &bytes {
            assert_eq!(scan.feed(std::slice::from_ref(b), 1000), Ok(()));
        }
    }

    #[test]
    fn an_announced_length_past_the_limit_is_refused_at_the_header() {
        for len in [1001, 100_000_000, 1 << 62] {
            let mut bytes = frame(true, 1, 10);
            let start = bytes.len();
            bytes.extend(header(true, 1, len));
            bytes.extend_from_slice(b"abc");
            assert_eq!(
                Scan::default().feed(&bytes, 1000),
                Err(Refused { frame_start: start })
            );
        }
    }

    #[test]
    fn a_header_split_across_chunks_is_refused_when_it_completes() {
        let bytes = header(true, 2, 1 << 40);
        let mut scan = Scan::default();
        assert_eq!(scan.feed(&bytes[..5], 1000), Ok(()));
        assert_eq!(
            scan.feed(&bytes[5..], 1000),
            Err(Refused { frame_start: 0 })
        );
    }

    #[test]
    fn fragments_adding_up_past_the_limit_are_refused() {
        let mut scan = Scan::default();
        assert_eq!(scan.feed(&frame(false, 1, 600), 1000), Ok(()));
        assert_eq!(
            scan.feed(&frame(true, 0, 401), 1000),
            Err(Refused { frame_start: 0 })
        );
    }
}
