//! Export jobs (docs/exports.md): `POST /v1/exports` asks for a call log
//! CSV or a zip of recordings of a filter; a worker writes it; the
//! requester downloads it until it expires.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::str_enum::str_enum;
use crate::ids::ExportId;

str_enum! {
    /// What an export holds.
    pub enum ExportKind {
        /// The call log of the filter as CSV (the columns of
        /// `GET /v1/calls/export.csv`).
        CallsCsv => "calls_csv",
        /// The recordings of the filter's calls as a zip, one file per
        /// call, with a CSV index.
        RecordingsZip => "recordings_zip",
    }
}

str_enum! {
    /// Where an export is.
    pub enum ExportState {
        Queued => "queued",
        Running => "running",
        /// Written; downloadable until `expires_at`.
        Ready => "ready",
        /// Could not be written; `error` says why.
        Failed => "failed",
        /// Its file was deleted after `expires_at`.
        Expired => "expired",
    }
}

/// An export as its requester sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Export {
    pub id: ExportId,
    pub kind: ExportKind,
    pub state: ExportState,
    /// Calls (CSV) or recordings (zip) written so far.
    pub items_done: u64,
    /// How many there are in all, once known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items_total: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Why a failed export failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    /// When a ready export's file is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}
