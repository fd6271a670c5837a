//! `AppClient`: retention and legal holds (admin; docs/retention.md).

use deskbind_core::ids::LegalHoldId;
use std::path::Path;

use deskbind_core::wire::{
    CallArchiveList, LegalHold, Page, PlaceLegalHold, Retention, SetRetention,
};
use reqwest::Method;

use crate::Result;
use crate::app::{AppClient, PageQuery};
use crate::app_calls::save_body;

impl AppClient {
    /// `GET /v1/retention`: the organisation's days, the defaults, and
    /// what applies.
    pub async fn retention(&self) -> Result<Retention> {
        self.get_with("v1/retention", &[]).await
    }

    /// `PUT /v1/retention` for call records and recordings (`None` follows
    /// the operator's default); the export days stay as they are.
    pub async fn set_retention(
        &self,
        call_record_days: Option<i64>,
        recording_days: Option<i64>,
    ) -> Result<Retention> {
        let body = SetRetention {
            call_record_days,
            recording_days,
            export_days: None,
        };
        self.set_retention_days(&body).await
    }

    /// `PUT /v1/retention` with the whole body, export days included.
    pub async fn set_retention_days(&self, body: &SetRetention) -> Result<Retention> {
        self.send(Method::PUT, "v1/retention", body).await
    }

    /// `POST /v1/legal-holds`: holds every call of a `user` or a
    /// `contact`, or one `call`, past retention.
    pub async fn place_legal_hold(
        &self,
        subject_type: &str,
        subject_id: &str,
        reason: &str,
    ) -> Result<LegalHold> {
        let body = PlaceLegalHold {
            subject_type: subject_type.to_owned(),
            subject_id: subject_id.to_owned(),
            reason: reason.to_owned(),
        };
        self.send(Method::POST, "v1/legal-holds", &body).await
    }

    /// `GET /v1/legal-holds`: active holds, and released ones when asked.
    pub async fn list_legal_holds(
        &self,
        include_released: bool,
        page: &PageQuery,
    ) -> Result<Page<LegalHold>> {
        let mut pairs = page.pairs();
        if include_released {
            pairs.push(("include_released", "true".to_owned()));
        }
        self.get_with("v1/legal-holds", &pairs).await
    }

    /// `DELETE /v1/legal-holds/{id}`: the hold, released.
    pub async fn release_legal_hold(&self, id: LegalHoldId) -> Result<LegalHold> {
        self.bodyless(Method::DELETE, &format!("v1/legal-holds/{id}"))
            .await
    }

    /// `GET /v1/archives`: the months the purge archived, newest first;
    /// `page.cursor` is the previous page's `next_cursor`.
    pub async fn list_archives(&self, page: &PageQuery) -> Result<CallArchiveList> {
        self.get_with("v1/archives", &page.pairs()).await
    }

    /// `GET /v1/archives/{month}`: saves the month's archived call records
    /// (gzip-compressed NDJSON, one call per line) to `dest`; returns the
    /// bytes written.
    pub async fn download_archive(&self, month: &str, dest: &Path) -> Result<u64> {
        let response = self
            .authed_with(
                Method::GET,
                &format!("v1/archives/{month}"),
                None::<&()>,
                &[],
                |r| r.timeout(std::time::Duration::from_secs(3600)),
            )
            .await?;
        save_body(response, dest).await
    }
}
