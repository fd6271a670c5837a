//! Keeps SQLite's write-ahead log bounded.
//!
//! SQLite's automatic checkpoints are passive: while readers keep old
//! snapshots they copy what they can and the WAL file keeps its high-water
//! size (it reached 1.2 GB during the records benchmark). The writer thread
//! asks this guard after its commits; when the file has grown past the
//! limit it runs a TRUNCATE checkpoint, which waits a short moment for
//! readers and then empties the file. If readers hold it longer, the next
//! check tries again.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;

use super::conn::DbConn;

/// The WAL size the guard lets through before it checkpoints.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Checked at most this often; a `stat` per commit would be cheap but pointless.
const CHECK_EVERY: Duration = Duration::from_millis(250);

/// How long a TRUNCATE checkpoint may wait for readers before giving up
/// for this round (the writer is blocked meanwhile).
const CHECKPOINT_WAIT_MS: u64 = 200;

#[derive(Debug)]
pub struct WalGuard {
    wal_file: PathBuf,
    last_check: Option<Instant>,
    limit: u64,
}

impl WalGuard {
    /// The guard for the database file at `db_file` (its WAL is `<file>-wal`).
    pub fn for_database(db_file: &std::path::Path) -> Self {
        let mut wal = db_file.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal_file: PathBuf::from(wal),
            last_check: None,
            limit: WAL_LIMIT_BYTES,
        }
    }

    /// Called by the writer after each committed group.
    pub fn after_commit(&mut self, conn: &mut DbConn) {
        let now = Instant::now();
        if self
            .last_check
            .is_some_and(|last| now.duration_since(last) < CHECK_EVERY)
        {
            return;
        }
        self.last_check = Some(now);
        let before = self.wal_size();
        if before <= self.limit {
            return;
        }
        let sql = format!(
            "PRAGMA busy_timeout = {CHECKPOINT_WAIT_MS}; PRAGMA wal_checkpoint(TRUNCATE); \
             PRAGMA busy_timeout = {};",
            super::conn::SQLITE_BUSY_TIMEOUT_MS
        );
        if let Err(err) = conn.batch_execute(&sql) {
            tracing::warn!(error = %err, "WAL checkpoint failed");
        }
        let after = self.wal_size();
        if after > self.limit {
            tracing::warn!(
                wal_bytes = after,
                limit = self.limit,
                "the SQLite WAL could not be emptied: readers held it; trying again later"
            );
        } else {
            tracing::debug!(before, after, "SQLite WAL checkpointed");
        }
    }

    fn wal_size(&self) -> u64 {
        std::fs::metadata(&self.wal_file).map_or(0, |m| m.len())
    }
}
