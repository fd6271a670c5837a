//! Keeps SQLite's write-ahead log bounded.
//!
//! A PASSIVE checkpoint copies the log into the database file but leaves
//! the file its high-water size, and the writer restarts the log from its
//! beginning only when every frame was already copied as its transaction
//! begins: rarely, under back-to-back groups (a records ingest) or while
//! readers keep old snapshots (the file reached 1.2 GB once). The checkpoint
//! thread ([`super::checkpointer`]) asks [`WalGuard::due`] as it wakes and
//! after each checkpoint; past half the limit (the writer keeps appending
//! while the thread notices and copies) it pauses the writer between two
//! groups ([`WriterPause`]) and runs a TRUNCATE checkpoint, which waits a short
//! moment for readers and then empties the file. If readers hold on, it
//! tries again a little later. The writer never checkpoints itself, so the
//! two never compete for SQLite's checkpoint lock.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The WAL size the file must stay within.
pub const WAL_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// The guard truncates once the file is past this share of the limit
/// (1/`MARK_DIVISOR`): back-to-back groups keep writing while the
/// checkpoint thread notices and copies, and at ingest rates that is
/// tens of MiB, which the other half of the limit absorbs.
const MARK_DIVISOR: u64 = 2;

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

/// The WAL file as the writer and the checkpoint thread both see it.
#[derive(Debug, Clone)]
pub struct WalFile {
    path: PathBuf,
    /// The size past which a TRUNCATE is due: half the limit.
    mark: u64,
    /// Set while the guard puts its next try off: readers kept the file
    /// from being emptied, the writer's group did not end in time, or the
    /// TRUNCATE failed. The writer does not wait for a try meanwhile.
    held_off: Arc<AtomicBool>,
}

impl WalFile {
    pub fn size(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    pub fn mark(&self) -> u64 {
        self.mark
    }

    /// True while the guard puts its next TRUNCATE try off.
    pub fn held_off(&self) -> bool {
        self.held_off.load(Ordering::Relaxed)
    }
}

/// When the checkpoint thread should truncate the WAL.
#[derive(Debug)]
pub struct WalGuard {
    file: WalFile,
    /// Set after a try that left the file past the mark.
    retry_at: Option<Instant>,
}

impl WalGuard {
    /// The guard for the database file at `db_file` (its WAL is
    /// `<file>-wal`), keeping it within `limit` bytes ([`WAL_LIMIT_BYTES`]
    /// outside tests): it truncates past half of that.
    pub fn for_database(db_file: &Path, limit: u64) -> Self {
        let mut wal = db_file.as_os_str().to_owned();
        wal.push("-wal");
        Self {
            file: WalFile {
                path: PathBuf::from(wal),
                mark: limit / MARK_DIVISOR,
                held_off: Arc::default(),
            },
            retry_at: None,
        }
    }

    /// The file, for the writer's look before each group.
    pub fn file(&self) -> &WalFile {
        &self.file
    }

    /// The WAL's size when it is past the mark and a TRUNCATE is due.
    pub(super) fn due(&mut self) -> Option<u64> {
        let size = self.file.size();
        if size <= self.file.mark {
            self.set_retry(None);
            return None;
        }
        match self.retry_at {
            Some(at) if Instant::now() < at => None,
            _ => Some(size),
        }
    }

    /// How long until the next try while the file was left past the mark
    /// (the checkpoint thread then wakes without a commit).
    pub(super) fn retry_in(&self) -> Option<Duration> {
        self.retry_at
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// Records a TRUNCATE try; true when it left the file within the mark.
    pub(super) fn tried(&mut self, before: u64) -> bool {
        let after = self.file.size();
        if after <= self.file.mark {
            self.set_retry(None);
            tracing::debug!(before, after, "SQLite WAL truncated");
            return true;
        }
        self.retry_later();
        tracing::warn!(
            wal_bytes = after,
            mark = self.file.mark,
            "the SQLite WAL could not be emptied (readers held it, or the checkpoint failed); trying again later"
        );
        false
    }

    /// Puts the next try off by [`RETRY_AFTER`].
    pub(super) fn retry_later(&mut self) {
        self.set_retry(Some(Instant::now() + RETRY_AFTER));
    }

    fn set_retry(&mut self, at: Option<Instant>) {
        self.retry_at = at;
        self.file.held_off.store(at.is_some(), Ordering::Relaxed);
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
    /// TRUNCATE checkpoints tried so far, for a writer waiting for one.
    tries: u64,
    /// A writer waits for a TRUNCATE: the checkpoint thread cuts its
    /// gathering wait short.
    urgent: bool,
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

    /// The writer, before it begins a group while `wal` is past its mark:
    /// waits for the checkpoint thread's next TRUNCATE try, about `wait` at
    /// most (a TRUNCATE running by then is waited for in
    /// [`WriterPause::enter_group`]), unless the guard put its next try off
    /// (the file would not be emptied, and the writer would only stall).
    /// Returns how long it waited.
    pub fn wait_for_truncate(&self, wal: &WalFile, wait: Duration) -> Duration {
        let started = Instant::now();
        let mut state = self.lock();
        // Looked at under the lock: a try that ended before it shows in
        // the file's size, one that ends after it in `tries`.
        if wal.size() <= wal.mark() || wal.held_off() {
            return Duration::ZERO;
        }
        let seen = state.tries;
        state.urgent = true;
        self.changed.notify_all();
        let (mut state, timeout) = self
            .changed
            .wait_timeout_while(state, wait, |s| s.tries == seen)
            .unwrap_or_else(PoisonError::into_inner);
        state.urgent = false;
        drop(state);
        if timeout.timed_out() {
            tracing::warn!(
                wal_bytes = wal.size(),
                "the SQLite writer waited its longest for the WAL to be truncated and goes on"
            );
        }
        started.elapsed()
    }

    /// The checkpoint thread, gathering commits before its next
    /// checkpoint: sleeps `wait`, or less if a writer waits for a TRUNCATE.
    pub fn gather(&self, wait: Duration) {
        let state = self.lock();
        let _ = self
            .changed
            .wait_timeout_while(state, wait, |s| !s.urgent)
            .unwrap_or_else(PoisonError::into_inner);
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

impl Paused<'_> {
    /// Counts the TRUNCATE tried meanwhile, for a writer waiting for it.
    pub fn tried(&self) {
        self.0.lock().tries += 1;
    }
}

impl Drop for Paused<'_> {
    fn drop(&mut self) {
        self.0.lock().wanted = false;
        self.0.changed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: u64 = 64 * 1024;

    fn guard_with_wal(bytes: u64) -> (tempfile::TempDir, WalGuard) {
        let dir = tempfile::tempdir().expect("temp dir");
        let db_file = dir.path().join("deskbind.db");
        let guard = WalGuard::for_database(&db_file, LIMIT);
        set_wal(&guard, bytes);
        (dir, guard)
    }

    fn set_wal(guard: &WalGuard, bytes: u64) {
        let file = std::fs::File::create(&guard.file.path).expect("WAL file");
        file.set_len(bytes).expect("WAL size");
    }

    #[test]
    fn a_truncate_is_due_once_the_file_is_past_half_the_limit() {
        let (_dir, mut guard) = guard_with_wal(LIMIT / 2);
        assert_eq!(guard.due(), None, "at the mark: nothing to do yet");
        set_wal(&guard, LIMIT / 2 + 1);
        assert_eq!(
            guard.due(),
            Some(LIMIT / 2 + 1),
            "past the mark, still within the limit"
        );
    }

    #[test]
    fn a_try_that_readers_held_off_is_repeated_later_not_at_once() {
        let (_dir, mut guard) = guard_with_wal(LIMIT);
        assert_eq!(guard.due(), Some(LIMIT));
        assert!(!guard.tried(LIMIT), "the file is still past the mark");
        assert!(guard.file().held_off(), "the writer is not to wait for it");
        assert_eq!(guard.due(), None, "the next try waits");
        assert!(guard.retry_in().is_some_and(|wait| wait <= RETRY_AFTER));
        set_wal(&guard, 0);
        assert_eq!(guard.due(), None);
        assert_eq!(guard.retry_in(), None, "an emptied file ends the wait");
        assert!(!guard.file().held_off());
    }
}
