//! `PhoneClient`'s uploads: call records in batches keyed by the phone's
//! call id (safe to resend), and recordings (api in recording_upload.rs,
//! shared with the app).

use std::path::Path;

use deskbind_core::wire::{CallRecordUpload, IngestResults, PhoneCallRecordBatch, Recording};
use reqwest::{Method, RequestBuilder};

use crate::Result;
use crate::phone::PhoneClient;
use crate::record_batches::in_batches;
use crate::recording_upload::{self, Routes, segment};

impl recording_upload::Sender for PhoneClient {
    async fn send_built(
        &self,
        method: Method,
        path: &str,
        query: &[(&'static str, String)],
        build: impl Fn(RequestBuilder) -> Result<RequestBuilder>,
    ) -> Result<reqwest::Response> {
        let mut request = self.authed(method, path)?;
        if !query.is_empty() {
            request = request.query(query);
        }
        self.http().send(build(request)?).await
    }

    fn raw(&self) -> &reqwest::Client {
        self.http().raw()
    }
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
        recording_upload::upload(self, &routes(call_id), path).await
    }

    /// `PUT /v1/phone/recordings/{call_id}` with the file as the body.
    pub async fn upload_recording_streamed(
        &self,
        call_id: &str,
        path: &Path,
        size: u64,
        sha256: [u8; 32],
    ) -> Result<Recording> {
        recording_upload::streamed(self, &routes(call_id), path, size, sha256).await
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
        recording_upload::presigned(self, &routes(call_id), path, size, sha256).await
    }
}

fn routes(call_id: &str) -> Routes {
    Routes {
        recording: format!("v1/phone/recordings/{}", segment(call_id)),
        query: Vec::new(),
        complete: "v1/phone/recording-uploads",
    }
}
