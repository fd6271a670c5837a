//! Keeps SQLite's write-ahead log bounded.
//!
//! A PASSIVE checkpoint copies the log into the database file but leaves
//! the file its high-water size, and the writer restarts the log from its
//! beginning only when every frame was already copied as its transaction
//! begins: rarely, under back-to-back groups (a records ingest) or while
//! readers keep old snapshots (the file reached 1.2 GB once). The checkpoint
//! thread ([`super::checkpointer`]) asks [`WalGuard::due`] before each
//! checkpoint; past the limit it pauses the writer between two groups
//! ([`WriterPause`]) and runs a TRUNCATE checkpoint, which waits a short
//! moment for readers and then empties the file. If readers hold on, it
//! tries again a little later. The writer never checkpoints itself, so the
//! two never compete for SQLite's checkpoint lock.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The WAL size the guard lets through before it truncates.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// How long a TRUNCATE checkpoint may wait for readers (its connection's
/// busy timeout; the writer is paused meanwhile).
pub(super) const TRUNCATE_WAIT_MS: u64 = 200;

/// How long the checkpoint thread waits for the writer's running group to
/// end before it gives up a TRUNCATE for this round.
pub(super) const GROUP_WAIT: Duration = Duration::from_secs(2);

/// After a TRUNCATE that readers kept from emptying the file, the next try
/// comes no sooner than this: each try pauses the writer (up to
/// [`TRUNCATE_WAIT_MS`] while readers hold on), and the file keeps growing
/// meanwhile.
const RETRY_AFTER: Duration = Duration::from_millis(500);

/// When the checkpoint thread should truncate the WAL.
#[derive(Debug)]
pub struct WalGuard {
    wal_file: PathBuf,
    limit: u64,
    /// Set after a try that left the file past the limit.
    retry_at: Option<Instant>,
}

impl WalGuard {
    /// The guard for the database file at `db_file` (its WAL is
    /// `<file>-wal`), truncating past `limit` bytes ([`WAL_LIMIT_BYTES`]
    /// outside tests).
    pub fn for_database(db_file: &Path, limit: u64) -> Self {
        let mut wal = db_file.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            wal_file: PathBuf::from(wal),
            limit,
            retry_at: None,
        }
    }

    /// The WAL's size when it is past the limit and a TRUNCATE is due.
    pub(super) fn due(&mut self) -> Option<u64> {
        let size = self.wal_size();
        if size <= self.limit {
            self.retry_at = None;
            return None;
        }
        match self.retry_at {
            Some(at) if Instant::now() < at => None,
            _ => Some(size),
        }
    }

    /// How long until the next try while the file was left past the limit
    /// (the checkpoint thread then wakes without a commit).
    pub(super) fn retry_in(&self) -> Option<Duration> {
        self.retry_at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Records a TRUNCATE try; true when it left the file within the limit.
    pub(super) fn tried(&mut self, before: u64) -> bool {
        let after = self.wal_size();
        if after <= self.limit {
            self.retry_at = None;
            tracing::debug!(before, after, "SQLite WAL truncated");
            return true;
        }
        self.retry_later();
        tracing::warn!(
            wal_bytes = after,
            limit = self.limit,
            "the SQLite WAL could not be emptied: readers held it; trying again later"
        );
        false
    }

    /// Puts the next try off by [`RETRY_AFTER`].
    pub(super) fn retry_later(&mut self) {
        self.retry_at = Some(Instant::now() + RETRY_AFTER);
    }

    fn wal_size(&self) -> u64 {
        std::fs::metadata(&self.wal_file).map_or(0, |m| m.len())
    }
}

/// Lets the checkpoint thread hold the writer between two groups while it
/// truncates the WAL: a TRUNCATE needs SQLite's write lock, which the
/// writer, going from one group to the next, would otherwise take back
/// before the checkpoint's busy handler wakes up to try for it.
#[derive(Debug, Default)]
pub struct WriterPause {
    state: Mutex<PauseState>,
    changed: Condvar,
}

#[derive(Debug, Default)]
struct PauseState {
    wanted: bool,
    in_group: bool,
}

impl WriterPause {
    /// The writer, before it begins a group: waits while a TRUNCATE runs.
    pub fn enter_group(self: &Arc<Self>) -> InGroup {
        let mut state = self.lock();
        while state.wanted {
            state = self
                .changed
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state.in_group = true;
        InGroup(Arc::clone(self))
    }

    /// The checkpoint thread: stops the writer before its next group,
    /// waiting at most `wait` for the running one to end; `None` (and the
    /// writer goes on) if it did not.
    pub fn pause(&self, wait: Duration) -> Option<Paused<'_>> {
        let mut state = self.lock();
        state.wanted = true;
        let (mut state, _) = self
            .changed
            .wait_timeout_while(state, wait, |s| s.in_group)
            .unwrap_or_else(PoisonError::into_inner);
        if state.in_group {
            state.wanted = false;
            drop(state);
            self.changed.notify_all();
            return None;
        }
        Some(Paused(self))
    }

    fn lock(&self) -> MutexGuard<'_, PauseState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The writer's running group; ends when dropped.
#[derive(Debug)]
pub struct InGroup(Arc<WriterPause>);

impl Drop for InGroup {
    fn drop(&mut self) {
        self.0.lock().in_group = false;
        self.0.changed.notify_all();
    }
}

/// The writer held between groups; it goes on when this is dropped.
#[derive(Debug)]
pub struct Paused<'a>(&'a WriterPause);

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.0.lock().wanted = false;
        self.0.changed.notify_all();
    }
}
