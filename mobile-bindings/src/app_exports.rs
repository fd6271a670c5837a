//! `AppClient`: export jobs (docs/exports.md): ask for a call log CSV or a
//! zip of recordings of a filter, follow it, download it when ready.

use std::path::Path;

use deskbind_core::ids::ExportId;
use deskbind_core::wire::{Export, ExportKind, Page};
use reqwest::Method;
use serde_json::{Map, Value};

use crate::Result;
use crate::app::{AppClient, PageQuery};
use crate::app_calls::{CallQuery, save_body};

impl AppClient {
    /// `POST /v1/exports`: queues an export of the calls `query` selects
    /// (its page is ignored); the worker writes it.
    pub async fn create_export(&self, kind: ExportKind, query: &CallQuery) -> Result<Export> {
        let filters: Map<String, Value> = query
            .filter_pairs()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), Value::String(v)))
            .collect();
        let body = serde_json::json!({ "kind": kind, "filters": filters });
        self.send(Method::POST, "v1/exports", &body).await
    }

    /// `GET /v1/exports`: the user's exports, newest first.
    pub async fn list_exports(&self, page: &PageQuery) -> Result<Page<Export>> {
        self.get_with("v1/exports", &page.pairs()).await
    }

    /// `GET /v1/exports/{id}`: one export, with its progress.
    pub async fn get_export(&self, id: ExportId) -> Result<Export> {
        self.get_with(&format!("v1/exports/{id}"), &[]).await
    }

    /// `GET /v1/exports/{id}/download`: saves a ready export's file to
    /// `dest`; returns the bytes written.
    pub async fn download_export(&self, id: ExportId, dest: &Path) -> Result<u64> {
        let response = self
            .authed_with(
                Method::GET,
                &format!("v1/exports/{id}/download"),
                None::<&()>,
                &[],
                |r| r.timeout(std::time::Duration::from_secs(3600)),
            )
            .await?;
        save_body(response, dest).await
    }
}
