//! Sending a recording, shared by the phone (`PhoneClient`) and the app it
//! handed the recording to (`AppClient`): the file's size and SHA-256
//! declared up front, streamed through the API, or on S3-backed servers
//! straight to the bucket with a presigned URL, then completed.

use std::path::Path;

use base64::Engine as _;
use deskbind_core::wire::{CreateRecordingUpload, Recording, RecordingUpload};
use reqwest::{Method, RequestBuilder};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use crate::{ClientError, Result};

/// Files at least this large use a presigned upload when the server offers one.
pub const PRESIGNED_FROM_BYTES: u64 = 8 * 1024 * 1024;
pub(crate) const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

fn io(e: std::io::Error) -> ClientError {
    ClientError::Io(e.to_string())
}

/// The size and SHA-256 of a file, read in chunks.
pub async fn file_digest(path: &Path) -> Result<(u64, [u8; 32])> {
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).await.map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((size, hasher.finalize().into()))
}

/// The file as a streamed body, opened now (a request may be built twice,
/// when an expired token is refreshed and the request retried).
fn file_body(path: &Path) -> Result<reqwest::Body> {
    let file = std::fs::File::open(path).map_err(io)?;
    Ok(reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file)),
    ))
}

/// How a client sends its authenticated requests.
pub(crate) trait Sender {
    /// Sends the request built by `build` (perhaps twice, see [`file_body`])
    /// to `path?query`.
    async fn send_built(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        build: impl Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<reqwest::Response>;

    /// For requests to other hosts (the presigned URL).
    fn raw(&self) -> &reqwest::Client;
}

/// Where one sender's recording routes are.
pub(crate) struct Routes {
    /// The call's recording, e.g. `v1/phone/recordings/{call_id}`.
    pub recording: String,
    /// Added to the recording's routes (the app says when the call started).
    pub query: Vec<(&'static str, String)>,
    /// Tickets are completed at `{complete}/{id}/complete`.
    pub complete: &'static str,
}

/// A path segment for a call id (the phone's own text).
pub(crate) fn segment(call_id: &str) -> String {
    let escaped: String = url::form_urlencoded::byte_serialize(call_id.as_bytes()).collect();
    escaped.replace('+', "%20")
}

async fn json<T: DeserializeOwned, B: Serialize + ?Sized>(
    sender: &impl Sender,
    path: &str,
    query: &[(&'static str, String)],
    body: Option<&B>,
) -> Result<T> {
    let response = sender
        .send_built(Method::POST, path, query, |r| {
            Ok(match body {
                Some(body) => r.json(body),
                None => r,
            })
        })
        .await?;
    crate::http::json(response).await
}

/// Presigned for a large file when the server stores recordings in S3,
/// else streamed through the API.
pub(crate) async fn upload(
    sender: &impl Sender,
    routes: &Routes,
    path: &Path,
) -> Result<Recording> {
    let (size, sha256) = file_digest(path).await?;
    if size >= PRESIGNED_FROM_BYTES {
        match presigned(sender, routes, path, size, sha256).await {
            Err(e) if e.code() == Some("presigned_upload_unavailable") => {}
            other => return other,
        }
    }
    streamed(sender, routes, path, size, sha256).await
}

/// A PUT of the file to the recording's route.
pub(crate) async fn streamed(
    sender: &impl Sender,
    routes: &Routes,
    path: &Path,
    size: u64,
    sha256: [u8; 32],
) -> Result<Recording> {
    let digest = format!(
        "sha-256=:{}:",
        base64::engine::general_purpose::STANDARD.encode(sha256)
    );
    let response = sender
        .send_built(Method::PUT, &routes.recording, &routes.query, |r| {
            Ok(r.header(reqwest::header::CONTENT_LENGTH, size)
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .header("Content-Digest", &digest)
                .timeout(UPLOAD_TIMEOUT)
                .body(file_body(path)?))
        })
        .await?;
    crate::http::json(response).await
}

/// Asks for a presigned URL, PUTs the file there, then has the server
/// verify it.
pub(crate) async fn presigned(
    sender: &impl Sender,
    routes: &Routes,
    path: &Path,
    size: u64,
    sha256: [u8; 32],
) -> Result<Recording> {
    let ticket: RecordingUpload = json(
        sender,
        &format!("{}/uploads", routes.recording),
        &routes.query,
        Some(&CreateRecordingUpload {
            size_bytes: size,
            sha256: sha256.iter().map(|b| format!("{b:02x}")).collect(),
        }),
    )
    .await?;
    let method = Method::from_bytes(ticket.method.as_bytes())
        .map_err(|e| ClientError::Decode(e.to_string()))?;
    let url = reqwest::Url::parse(&ticket.url).map_err(|e| ClientError::Decode(e.to_string()))?;
    let mut put = sender.raw().request(method, url).timeout(UPLOAD_TIMEOUT);
    for (name, value) in &ticket.headers {
        put = put.header(name, value);
    }
    let stored = put
        .body(file_body(path)?)
        .send()
        .await
        .map_err(crate::http::network)?;
    if !stored.status().is_success() {
        return Err(ClientError::Network(format!(
            "object storage refused the upload: HTTP {}",
            stored.status()
        )));
    }
    json(
        sender,
        &format!("{}/{}/complete", routes.complete, ticket.id),
        &[],
        None::<&()>,
    )
    .await
}
