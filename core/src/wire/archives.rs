//! Call archives (docs/retention.md "Archives"): `GET /v1/archives` lists
//! the months the purge archived, `GET /v1/archives/{month}` downloads one
//! as gzip-compressed NDJSON.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// One UTC month of archived call records: every completed part the purge
/// wrote for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallArchiveMonth {
    /// `YYYY-MM`, the UTC month the calls started in.
    pub month: String,
    /// Parts written (one per purge batch); the download joins them.
    pub parts: i64,
    pub records: i64,
    /// Compressed size of the download.
    pub size_bytes: i64,
    pub first_started_at: DateTime<Utc>,
    pub last_started_at: DateTime<Utc>,
    /// When the latest part was written.
    pub updated_at: DateTime<Utc>,
}

/// `GET /v1/archives`: the archived months, newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallArchiveList {
    /// Whether the purge archives call records before deleting them (the
    /// operator's `retention_archive`).
    pub archiving: bool,
    pub items: Vec<CallArchiveMonth>,
    /// Pass back as `cursor` for the next (older) page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Whether `raw` is a month as the archives name them (`YYYY-MM`, month
/// 01 to 12).
pub fn is_archive_month(raw: &str) -> bool {
    let b = raw.as_bytes();
    b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(raw[5..].parse::<u8>(), Ok(1..=12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_checked() {
        assert!(is_archive_month("2026-01"));
        assert!(is_archive_month("1999-12"));
        for bad in [
            "2026-13",
            "2026-00",
            "2026-1",
            "26-01",
            "2026/01",
            "２０２６-01",
            "",
        ] {
            assert!(!is_archive_month(bad), "{bad}");
        }
    }
}
