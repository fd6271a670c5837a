//! `AppClient`: export jobs (docs/exports.md): ask for a call log CSV or
//! a zip of recordings of a filter, follow it, download it when ready.

use std::path::PathBuf;
use std::time::SystemTime;

use deskbind_mobile::PageQuery;
use deskbind_mobile::wire::{self, ExportKind};

use crate::app::{AppClient, done};
use crate::error::Result;
use crate::lists::CallFilter;
use crate::types::{id, instant, wire_enum};

/// An export and its progress.
#[derive(Debug, Clone, uniffi::Record)]
pub struct ExportInfo {
    pub id: String,
    /// `calls_csv` or `recordings_zip`.
    pub kind: String,
    /// `queued`, `running`, `ready`, `failed` or `expired`.
    pub state: String,
    pub items_done: u64,
    pub items_total: Option<u64>,
    pub size_bytes: Option<u64>,
    pub error: Option<String>,
    pub created_at: SystemTime,
    pub finished_at: Option<SystemTime>,
    pub expires_at: Option<SystemTime>,
}

impl From<wire::Export> for ExportInfo {
    fn from(e: wire::Export) -> Self {
        Self {
            id: e.id.to_string(),
            kind: e.kind.as_str().to_owned(),
            state: e.state.as_str().to_owned(),
            items_done: e.items_done,
            items_total: e.items_total,
            size_bytes: e.size_bytes,
            error: e.error,
            created_at: instant(e.created_at),
            finished_at: e.finished_at.map(instant),
            expires_at: e.expires_at.map(instant),
        }
    }
}

#[derive(Debug, Clone, uniffi::Record)]
pub struct ExportPage {
    pub items: Vec<ExportInfo>,
    pub next_cursor: Option<String>,
}

#[uniffi::export(async_runtime = "tokio")]
impl AppClient {
    /// Queues an export (`kind`: `calls_csv` or `recordings_zip`) of the
    /// calls `filter` selects; the worker writes it.
    pub async fn create_export(&self, kind: String, filter: CallFilter) -> Result<ExportInfo> {
        let kind = wire_enum("kind", &kind, ExportKind::parse)?;
        let out = self
            .inner()
            .create_export(kind, &filter.query(None, None)?)
            .await;
        done(out).map(ExportInfo::from)
    }

    /// The user's exports, newest first.
    pub async fn list_exports(
        &self,
        cursor: Option<String>,
        limit: Option<u32>,
    ) -> Result<ExportPage> {
        let out = self
            .inner()
            .list_exports(&PageQuery { cursor, limit })
            .await;
        let page = done(out)?;
        Ok(ExportPage {
            items: page.items.into_iter().map(ExportInfo::from).collect(),
            next_cursor: page.next_cursor,
        })
    }

    pub async fn get_export(&self, export_id: String) -> Result<ExportInfo> {
        let out = self.inner().get_export(id("export_id", &export_id)?).await;
        done(out).map(ExportInfo::from)
    }

    /// Saves a ready export's file to `path`; returns the bytes written.
    pub async fn download_export(&self, export_id: String, path: String) -> Result<u64> {
        let out = self
            .inner()
            .download_export(id("export_id", &export_id)?, &PathBuf::from(path))
            .await;
        done(out)
    }
}
