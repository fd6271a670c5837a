//! `AppClient`'s recording uploads: the phone handed the app a call's
//! recording (the NFC path) and the app sends it on, for a call its user
//! held that phone for. The same transfer as the phone's
//! (recording_upload.rs); the server checks whose call it is from the
//! stored record, or before the record arrives from who held the phone at
//! `started_at`.

use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use deskbind_core::ids::PhoneId;
use deskbind_core::wire::Recording;
use reqwest::{Method, RequestBuilder};

use crate::Result;
use crate::app::AppClient;
use crate::recording_upload::{self, Routes, segment};

impl recording_upload::Sender for AppClient {
    async fn send_built(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        build: impl Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<reqwest::Response> {
        self.authed_try(method, path, query, build).await
    }

    fn raw(&self) -> &reqwest::Client {
        self.http_raw()
    }
}

/// The call a relayed recording belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayedCall {
    pub phone_id: PhoneId,
    /// The phone's own id for the call, as in its record.
    pub call_id: String,
    /// When the call started, as in its record.
    pub started_at: DateTime<Utc>,
}

impl RelayedCall {
    fn routes(&self) -> Routes {
        Routes {
            recording: format!(
                "v1/phones/{}/recordings/{}",
                self.phone_id,
                segment(&self.call_id)
            ),
            query: vec![(
                "started_at",
                self.started_at.to_rfc3339_opts(SecondsFormat::Micros, true),
            )],
            complete: "v1/recording-uploads",
        }
    }
}

impl AppClient {
    /// Uploads the recording of `call` from `path`: presigned for a large
    /// file when the server stores recordings in S3, else streamed.
    pub async fn upload_recording(&self, call: &RelayedCall, path: &Path) -> Result<Recording> {
        recording_upload::upload(self, &call.routes(), path).await
    }

    /// `PUT /v1/phones/{id}/recordings/{call_id}?started_at=` with the file
    /// as the body.
    pub async fn upload_recording_streamed(
        &self,
        call: &RelayedCall,
        path: &Path,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<Recording> {
        recording_upload::streamed(self, &call.routes(), path, size, sha256).await
    }

    /// A presigned upload straight to object storage, then completed.
    pub async fn upload_recording_presigned(
        &self,
        call: &RelayedCall,
        path: &Path,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<Recording> {
        recording_upload::presigned(self, &call.routes(), path, size, sha256).await
    }
}
