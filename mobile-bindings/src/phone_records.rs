//! `PhoneClient`'s uploads: call records in batches keyed by the phone's
//! call id (safe to resend), and recordings streamed from a file with their
//! size and SHA-256 declared up front. On S3-backed servers a large file
//! goes straight to the bucket with a presigned URL.

use std::path::Path;

use base64::Engine as _;
use deskbind_core::wire::{
    CallRecordUpload, CreateRecordingUpload, IngestResults, PhoneCallRecordBatch, Recording,
    RecordingUpload,
};
use reqwest::Method;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt as _;

use crate::http::json;
use crate::phone::PhoneClient;
use crate::record_batches::in_batches;
use crate::{ClientError, Result};

/// Files at least this large use a presigned upload when the server offers one.
pub const PRESIGNED_FROM_BYTES: u64 = 8 * 1024 * 1024;
const UPLOAD_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3600);

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

async fn file_body(path: &Path) -> Result<reqwest::Body> {
    let file = tokio::fs::File::open(path).await.map_err(io)?;
    Ok(reqwest::Body::wrap_stream(
        tokio_util::io::ReaderStream::new(file),
    ))
}

impl PhoneClient {
    /// Uploads call records; resending the same records is harmless. More
    /// than one batch's worth goes in several requests; results keep the
    /// input's indexes.
    pub async fn upload_call_records(&self, records: &[CallRecordUpload]) -> Result<IngestResults> {
        in_batches(records, |records| async move {
            let body = PhoneCallRecordBatch { records };
            self.call(Method::POST, "v1/phone/call-records", Some(&body))
                .await
        })
        .await
    }

    /// Uploads the recording of `call_id` from `path`: presigned for a
    /// large file when the server stores recordings in S3, else streamed
    /// through the API.
    pub async fn upload_recording(&self, call_id: &str, path: &Path) -> Result<Recording> {
        let (size, sha256) = file_digest(path).await?;
        if size >= PRESIGNED_FROM_BYTES {
            match self
                .upload_recording_presigned(call_id, path, size, sha256)
                .await
            {
                Err(e) if e.code() == Some("presigned_upload_unavailable") => {}
                other => return other,
            }
        }
        self.upload_recording_streamed(call_id, path, size, sha256)
            .await
    }

    /// `PUT /v1/phone/recordings/{call_id}` with the file as the body.
    pub async fn upload_recording_streamed(
        &self,
        call_id: &str,
        path: &Path,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<Recording> {
        let digest = format!(
            "sha-256=:{}:",
            base64::engine::general_purpose::STANDARD.encode(sha256)
        );
        let request = self
            .authed(Method::PUT, &recording_path(call_id))?
            .header(reqwest::header::CONTENT_LENGTH, size)
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .header("Content-Digest", digest)
            .timeout(UPLOAD_TIMEOUT)
            .body(file_body(path).await?);
        json(self.http().send(request).await?).await
    }

    /// Asks for a presigned URL, PUTs the file there, then has the server
    /// verify it.
    pub async fn upload_recording_presigned(
        &self,
        call_id: &str,
        path: &Path,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<Recording> {
        let ticket: RecordingUpload = self
            .call(
                Method::POST,
                &format!("{}/uploads", recording_path(call_id)),
                Some(&CreateRecordingUpload {
                    size_bytes: size,
                    sha256: hex_lower(&sha256),
                }),
            )
            .await?;
        let method = Method::from_bytes(ticket.method.as_bytes())
            .map_err(|e| ClientError::Decode(e.to_string()))?;
        let url =
            reqwest::Url::parse(&ticket.url).map_err(|e| ClientError::Decode(e.to_string()))?;
        let mut put = self
            .http()
            .raw()
            .request(method, url)
            .timeout(UPLOAD_TIMEOUT);
        for (name, value) in &ticket.headers {
            put = put.header(name, value);
        }
        let stored = put
            .body(file_body(path).await?)
            .send()
            .await
            .map_err(|e| ClientError::Network(e.to_string()))?;
        if !stored.status().is_success() {
            return Err(ClientError::Network(format!(
                "object storage refused the upload: HTTP {}",
                stored.status()
            )));
        }
        self.call(
            Method::POST,
            &format!("v1/phone/recording-uploads/{}/complete", ticket.id),
            None::<&()>,
        )
        .await
    }
}

fn recording_path(call_id: &str) -> String {
    // The call id is the phone's own text: escape it as a path segment.
    let escaped: String = url::form_urlencoded::byte_serialize(call_id.as_bytes()).collect();
    format!("v1/phone/recordings/{}", escaped.replace('+', "%20"))
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
