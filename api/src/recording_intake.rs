//! Receiving a recording: the body is streamed into a spool file while a
//! blocking task hashes it, so memory stays at a few chunks however large
//! the file. Only when the size, the SHA-256 the client declared and the
//! audio format all check out does the caller get the file to store; on any
//! failure the spool file is deleted (it is a `TempPath`).

use deskbind_core::wire::ErrorCode;
use std::io::Write as _;
use std::path::Path;

use actix_web::http::header::{self, HeaderMap};
use actix_web::web;
use base64::Engine as _;
use deskbind_core::domain::audio::{SNIFF_BYTES, duration_ms, sniff};
use deskbind_core::domain::audio_structure::{self, MP3_FRAME_WINDOW, id3v2_len};
use deskbind_core::wire::RecordingFormat;
use futures_util::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

use crate::error::ApiError;

/// Chunks in flight between the socket and the writer: backpressure keeps
/// memory bounded when the disk is slower than the network.
const CHUNKS_IN_FLIGHT: usize = 16;
/// A stalled upload holds a spool file and a blocking thread; give up on
/// one that sends nothing for this long.
const IDLE_BODY: std::time::Duration = std::time::Duration::from_secs(60);

/// What the client says it is sending.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declared {
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Declared {
    /// From `Content-Length` and `Content-Digest: sha-256=:<base64>:`
    /// (RFC 9530).
    pub fn from_headers(headers: &HeaderMap, max: u64) -> Result<Self, ApiError> {
        let size = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(ApiError::LengthRequired)?;
        if size > max {
            return Err(ApiError::PayloadTooLarge {
                limit: usize::try_from(max).unwrap_or(usize::MAX),
            });
        }
        if size == 0 {
            return Err(ApiError::BadRequest {
                code: ErrorCode::EmptyRecording,
                detail: "the recording has no bytes".into(),
            });
        }
        let digest = headers
            .get("content-digest")
            .and_then(|v| v.to_str().ok())
            .and_then(sha256_member)
            .ok_or_else(|| ApiError::BadRequest {
                code: ErrorCode::DigestRequired,
                detail: "send Content-Digest: sha-256=:<base64 of the SHA-256>: (RFC 9530)".into(),
            })?;
        Ok(Self {
            size,
            sha256: digest,
        })
    }

    pub fn from_hex(size: u64, sha256_hex: &str) -> Option<Self> {
        let mut sha256 = [0u8; 32];
        hex::decode_to_slice(sha256_hex, &mut sha256).ok()?;
        Some(Self { size, sha256 })
    }

    pub fn sha256_hex(&self) -> String {
        hex::encode(self.sha256)
    }
}

/// The `sha-256` member of a Content-Digest field value.
fn sha256_member(value: &str) -> Option<[u8; 32]> {
    value.split(',').find_map(|member| {
        let (name, rest) = member.trim().split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("sha-256") {
            return None;
        }
        let b64 = rest.trim().strip_prefix(':')?.strip_suffix(':')?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
        bytes.try_into().ok()
    })
}

/// A received, verified recording, still in its spool file.
#[derive(Debug)]
pub struct Received {
    pub file: tempfile::TempPath,
    pub checked: Checked,
}

/// Streams `body` into a spool file and verifies it against `declared`.
pub async fn receive<S, E>(
    body: S,
    declared: Declared,
    spool_dir: &Path,
) -> Result<Received, ApiError>
where
    S: Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let spool = tempfile::NamedTempFile::new_in(spool_dir).map_err(ApiError::internal)?;
    let (tx, rx) = mpsc::channel::<web::Bytes>(CHUNKS_IN_FLIGHT);
    let writer = tokio::task::spawn_blocking(move || write_and_hash(spool, rx));
    let mut body = body;
    let mut received: u64 = 0;
    let mut failure = None;
    loop {
        let Ok(next) = tokio::time::timeout(IDLE_BODY, body.next()).await else {
            failure = Some(ApiError::BadRequest {
                code: ErrorCode::UploadInterrupted,
                detail: format!("no bytes arrived for {} s", IDLE_BODY.as_secs()),
            });
            break;
        };
        let Some(chunk) = next else { break };
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                failure = Some(ApiError::BadRequest {
                    code: ErrorCode::UploadInterrupted,
                    detail: format!("the body could not be read: {e}"),
                });
                break;
            }
        };
        received += chunk.len() as u64;
        if received > declared.size {
            failure = Some(size_mismatch(declared.size, received));
            break;
        }
        if tx.send(chunk).await.is_err() {
            break;
        }
    }
    drop(tx);
    let written = writer.await.map_err(ApiError::internal)?;
    if let Some(failure) = failure {
        return Err(failure);
    }
    let (file, print) = written.map_err(ApiError::internal)?;
    let checked = check(&print, declared)?;
    Ok(Received { file, checked })
}

/// What the checks need of a file: its size, SHA-256, first bytes, and
/// the bytes where its audio frames start after an ID3v2 tag (which may be
/// longer than the first bytes kept).
#[derive(Debug, Default)]
pub struct Fingerprint {
    pub size: u64,
    pub sha256: [u8; 32],
    pub prefix: Vec<u8>,
    pub frames: Vec<u8>,
}

/// Builds a [`Fingerprint`] chunk by chunk, so no file is ever held whole.
#[derive(Default)]
struct Fingerprinter {
    hasher: Sha256,
    prefix: Vec<u8>,
    /// Where an ID3v2 tag ends, once the first bytes have told.
    tag_end: Option<u64>,
    frames: Vec<u8>,
    size: u64,
}

impl Fingerprinter {
    fn update(&mut self, chunk: &[u8]) {
        self.hasher.update(chunk);
        if self.prefix.len() < SNIFF_BYTES {
            let take = (SNIFF_BYTES - self.prefix.len()).min(chunk.len());
            self.prefix.extend_from_slice(&chunk[..take]);
        }
        if self.tag_end.is_none() && self.prefix.len() >= 10 {
            self.tag_end = Some(id3v2_len(&self.prefix));
        }
        // Keep the frame window after a tag (a tag is at least 10 bytes
        // long, so no byte of it came before the tag was known).
        if let Some(tag_end) = self.tag_end.filter(|t| *t > 0) {
            let window_end = tag_end + MP3_FRAME_WINDOW as u64;
            let chunk_end = self.size + chunk.len() as u64;
            let from = tag_end.max(self.size);
            let to = window_end.min(chunk_end);
            if from < to {
                let start = usize::try_from(from - self.size).unwrap_or(usize::MAX);
                let end = usize::try_from(to - self.size).unwrap_or(usize::MAX);
                self.frames.extend_from_slice(&chunk[start..end]);
            }
        }
        self.size += chunk.len() as u64;
    }

    fn finish(self) -> Fingerprint {
        let frames = match self.tag_end {
            Some(0) | None => self.prefix.clone(),
            Some(_) => self.frames,
        };
        Fingerprint {
            size: self.size,
            sha256: self.hasher.finalize().into(),
            prefix: self.prefix,
            frames,
        }
    }
}

fn write_and_hash(
    spool: tempfile::NamedTempFile,
    mut rx: mpsc::Receiver<web::Bytes>,
) -> std::io::Result<(tempfile::TempPath, Fingerprint)> {
    let mut print = Fingerprinter::default();
    let mut out = std::io::BufWriter::with_capacity(256 * 1024, spool);
    while let Some(chunk) = rx.blocking_recv() {
        print.update(&chunk);
        out.write_all(&chunk)?;
    }
    let spool = out.into_inner().map_err(|e| e.into_error())?;
    spool.as_file().sync_all()?;
    Ok((spool.into_temp_path(), print.finish()))
}

/// What the checks learnt about a file.
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub format: RecordingFormat,
    pub duration_ms: Option<u64>,
}

/// Checks received bytes against what was declared.
pub fn check(print: &Fingerprint, declared: Declared) -> Result<Checked, ApiError> {
    if print.size != declared.size {
        return Err(size_mismatch(declared.size, print.size));
    }
    if print.sha256 != declared.sha256 {
        return Err(ApiError::Validation {
            code: ErrorCode::ChecksumMismatch,
            field: "sha256".into(),
            detail: "the bytes received do not have the SHA-256 declared".into(),
        });
    }
    let format = sniff(&print.prefix).ok_or(ApiError::NotAudio)?;
    audio_structure::check(format, &print.prefix, &print.frames, print.size)
        .map_err(|malformed| ApiError::InvalidAudio(malformed.0))?;
    Ok(Checked {
        format,
        duration_ms: duration_ms(format, &print.prefix, print.size),
    })
}

/// Fingerprints an object already stored (a presigned upload) chunk by
/// chunk.
pub async fn fingerprint_stream<S, E>(mut body: S) -> Result<Fingerprint, E>
where
    S: Stream<Item = Result<web::Bytes, E>> + Unpin,
{
    let mut print = Fingerprinter::default();
    while let Some(chunk) = body.next().await {
        print.update(&chunk?);
    }
    Ok(print.finish())
}

fn size_mismatch(declared: u64, got: u64) -> ApiError {
    ApiError::BadRequest {
        code: ErrorCode::SizeMismatch,
        detail: format!("Content-Length said {declared} bytes but {got} arrived"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_sha256_member_of_content_digest() {
        let digest = Sha256::digest(b"hello");
        let b64 = base64::engine::general_purpose::STANDARD.encode(digest);
        let value = format!("sha-512=:AAAA:, sha-256=:{b64}:");
        assert_eq!(sha256_member(&value), Some(<[u8; 32]>::from(digest)));
        assert_eq!(sha256_member("sha-256=:bm90IDMyIGJ5dGVz:"), None);
        assert_eq!(sha256_member(&format!("sha-256={b64}")), None);
    }

    #[test]
    fn the_frames_after_a_long_id3_tag_are_kept_whatever_the_chunks() {
        use deskbind_core::domain::audio_structure::samples;
        let file = samples::mp3(12, 100_000);
        for chunk in [3, 4096, 70_000] {
            let mut print = Fingerprinter::default();
            file.chunks(chunk).for_each(|c| print.update(c));
            let print = print.finish();
            assert_eq!(print.prefix.len(), SNIFF_BYTES);
            assert_eq!(print.frames[..], file[100_010..100_010 + MP3_FRAME_WINDOW]);
            let declared = Declared {
                size: file.len() as u64,
                sha256: Sha256::digest(&file).into(),
            };
            assert_eq!(
                check(&print, declared).map(|c| c.format).ok(),
                Some(RecordingFormat::Mp3),
                "chunks of {chunk}"
            );
        }
    }
}
