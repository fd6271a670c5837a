//! `AppClient`'s call records: upload what the phone handed over (the NFC
//! path), sync incrementally, review, download recordings, export and
//! statistics.

use std::path::Path;

use chrono::{DateTime, Utc};
use deskbind_core::ids::{CallRecordId, ContactId, PhoneId, TeamId, UserId};
use deskbind_core::wire::{
    AppCallRecordBatch, CallDirection, CallRecord, CallRecordUpload, CallResult, CallStats,
    IngestResults, Page, SyncPage,
};
use futures_util::StreamExt as _;
use reqwest::Method;
use tokio::io::AsyncWriteExt as _;

use crate::app::{AppClient, PageQuery};
use crate::record_batches::in_batches;
use crate::{ClientError, Result};

/// Filters of [`AppClient::list_calls`], [`AppClient::export_calls_csv`]
/// and [`AppClient::call_stats`].
#[derive(Debug, Clone, Default)]
pub struct CallQuery {
    pub page: PageQuery,
    pub user_id: Option<UserId>,
    pub team_id: Option<TeamId>,
    pub phone_id: Option<PhoneId>,
    pub direction: Option<CallDirection>,
    pub result: Option<CallResult>,
    pub from: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Part of the remote number.
    pub number: Option<String>,
    /// Only calls with (`true`) or without (`false`) a recording.
    pub has_recording: Option<bool>,
    /// Talk time bounds, in seconds, inclusive.
    pub min_duration_secs: Option<u32>,
    pub max_duration_secs: Option<u32>,
    /// Only calls linked to this contact.
    pub contact_id: Option<ContactId>,
}

impl CallQuery {
    pub(crate) fn filter_pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(user) = self.user_id {
            out.push(("user_id", user.to_string()));
        }
        if let Some(team) = self.team_id {
            out.push(("team_id", team.to_string()));
        }
        if let Some(phone) = self.phone_id {
            out.push(("phone_id", phone.to_string()));
        }
        if let Some(direction) = self.direction {
            out.push(("direction", direction.as_str().to_owned()));
        }
        if let Some(result) = self.result {
            out.push(("result", result.as_str().to_owned()));
        }
        if let Some(from) = self.from {
            out.push(("from", from.to_rfc3339()));
        }
        if let Some(until) = self.until {
            out.push(("until", until.to_rfc3339()));
        }
        if let Some(number) = &self.number {
            out.push(("number", number.clone()));
        }
        if let Some(has) = self.has_recording {
            out.push(("has_recording", has.to_string()));
        }
        if let Some(min) = self.min_duration_secs {
            out.push(("min_duration_secs", min.to_string()));
        }
        if let Some(max) = self.max_duration_secs {
            out.push(("max_duration_secs", max.to_string()));
        }
        if let Some(contact) = self.contact_id {
            out.push(("contact_id", contact.to_string()));
        }
        out
    }
}

impl AppClient {
    /// Uploads records the app received from `phone_id` (which the user
    /// held for each call). Larger inputs go in several requests; results
    /// keep the input's indexes.
    pub async fn upload_call_records(
        &self,
        phone_id: PhoneId,
        records: &[CallRecordUpload],
    ) -> Result<IngestResults> {
        in_batches(records, |records| async move {
            let body = AppCallRecordBatch { phone_id, records };
            self.send(Method::POST, "v1/call-records", &body).await
        })
        .await
    }

    /// Changes after `cursor` (`None` from the start). Store
    /// `next_cursor`; ask again at once while `has_more`.
    pub async fn sync_calls(&self, cursor: Option<&str>, limit: Option<u32>) -> Result<SyncPage> {
        let mut query = Vec::new();
        if let Some(cursor) = cursor {
            query.push(("cursor", cursor.to_owned()));
        }
        if let Some(limit) = limit {
            query.push(("limit", limit.to_string()));
        }
        self.get_with("v1/sync/calls", &query).await
    }

    pub async fn list_calls(&self, query: &CallQuery) -> Result<Page<CallRecord>> {
        let mut pairs = query.page.pairs();
        pairs.extend(query.filter_pairs());
        self.get_with("v1/calls", &pairs).await
    }

    pub async fn get_call(&self, id: CallRecordId) -> Result<CallRecord> {
        self.get(&format!("v1/calls/{id}")).await
    }

    pub async fn call_stats(&self, query: &CallQuery, tz: Option<&str>) -> Result<CallStats> {
        let mut pairs = query.filter_pairs();
        if let Some(tz) = tz {
            pairs.push(("tz", tz.to_owned()));
        }
        self.get_with("v1/stats/calls", &pairs).await
    }

    /// Saves a call's recording to `dest` (following the redirect to object
    /// storage when there is one); returns the bytes written.
    pub async fn download_recording(&self, id: CallRecordId, dest: &Path) -> Result<u64> {
        let response = self
            .authed_with(
                Method::GET,
                &format!("v1/calls/{id}/recording"),
                None::<&()>,
                &[],
                |r| r.timeout(std::time::Duration::from_secs(3600)),
            )
            .await?;
        save_body(response, dest).await
    }

    /// Saves the filtered call list as CSV to `dest`; returns the bytes
    /// written.
    pub async fn export_calls_csv(&self, query: &CallQuery, dest: &Path) -> Result<u64> {
        let response = self
            .authed_with(
                Method::GET,
                "v1/calls/export.csv",
                None::<&()>,
                &query.filter_pairs(),
                |r| r.timeout(std::time::Duration::from_secs(3600)),
            )
            .await?;
        save_body(response, dest).await
    }
}

pub(crate) async fn save_body(response: reqwest::Response, dest: &Path) -> Result<u64> {
    let io = |e: std::io::Error| ClientError::Io(e.to_string());
    let mut file = tokio::fs::File::create(dest).await.map_err(io)?;
    let mut body = response.bytes_stream();
    let mut written = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(crate::http::network)?;
        file.write_all(&chunk).await.map_err(io)?;
        written += chunk.len() as u64;
    }
    file.flush().await.map_err(io)?;
    Ok(written)
}
