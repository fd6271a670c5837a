//! Auditing a download of the call archive (docs/retention.md "Archives"):
//! a month of an organisation's calls leaving the system is recorded like
//! any other admin action.

use crate::db::Database;
use crate::ids::{OrgId, UserId};
use crate::repo::RepoError;
use crate::time::Micros;
use crate::wire::AuditAction;

use super::audit::{Entry, by_user};

/// Records that `reader` downloaded `month` (`records` calls, `size_bytes`).
pub async fn record(
    db: &Database,
    org: OrgId,
    reader: UserId,
    month: String,
    records: i64,
    size_bytes: u64,
    now: Micros,
) -> Result<(), RepoError> {
    db.write(move |conn| {
        Entry::about_org(org, AuditAction::ArchiveDownloaded, by_user(reader))
            .detail("month", month)
            .detail("records", records)
            .detail("size_bytes", size_bytes)
            .record(conn, now)
    })
    .await
}
