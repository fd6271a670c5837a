//! SQLite checkpoints off the writer thread.
//!
//! By default the connection that commits past 1,000 WAL pages runs the
//! checkpoint itself: it copies those pages into the database file and
//! syncs it, while every write queued behind it waits. With the one writer
//! thread ([`super::write_queue`]) that was a 10-20 ms stall about once a
//! second in the call-list benchmark, the tail of its lease latency. The
//! writer's connection turns automatic checkpoints off
//! (`wal_autocheckpoint = 0`) and nudges this thread after each commit; it
//! runs a PASSIVE checkpoint on its own connection, at most every
//! [`EVERY`]. A PASSIVE checkpoint never blocks the writer (it copies what
//! no reader still needs, and the writer restarts the WAL from its start
//! once all of it was copied). Under back-to-back groups that restart
//! rarely comes, so the file grows: once it is past the guard's mark
//! ([`super::wal_guard`], half its limit) the writer waits before its next
//! group, and this thread cuts its [`EVERY`] wait short and runs a TRUNCATE
//! checkpoint (no PASSIVE one first), which empties the file.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::sql_types::Integer;

use super::conn::{DbConn, DbManager};
use super::wal_guard::{GROUP_WAIT, InGroup, TRUNCATE_WAIT_MS, WalFile, WalGuard, WriterPause};

/// The shortest time between two checkpoints: each syncs the database
/// file, so they are gathered rather than run after every commit.
pub const EVERY: Duration = Duration::from_millis(200);

/// The writer's handle: nudges the checkpoint thread, and lets it pause the
/// writer between groups. The thread ends when the handle is dropped (with
/// the writer).
#[derive(Debug)]
pub struct Checkpointer {
    nudge: SyncSender<()>,
    pause: Arc<WriterPause>,
    wal: WalFile,
    counters: Arc<CheckpointCounters>,
}

/// Adds `time` to `total` and raises `longest` to it, in microseconds.
fn add_micros(total: &AtomicU64, longest: &AtomicU64, time: Duration) {
    let micros = u64::try_from(time.as_micros()).unwrap_or(u64::MAX);
    total.fetch_add(micros, Ordering::Relaxed);
    longest.fetch_max(micros, Ordering::Relaxed);
}

/// What the checkpoint thread has done since start.
#[derive(Debug, Default)]
pub struct CheckpointCounters {
    /// Checkpoints run (PASSIVE and TRUNCATE).
    pub runs: AtomicU64,
    /// The last checkpoint's frames, packed in one word so that a reader
    /// sees both of one run: the WAL's frames in the high 32 bits, those of
    /// them now in the database file (all, unless a reader still needed
    /// some) in the low 32. See [`CheckpointCounters::last_frames`].
    last: AtomicU64,
    /// Checkpoints that failed (logged; the next nudge tries again).
    pub failures: AtomicU64,
    /// TRUNCATE checkpoints that brought the WAL file back within its limit.
    pub truncations: AtomicU64,
    /// Time the writer was held for TRUNCATE checkpoints, in all and the
    /// longest once, in microseconds.
    pub paused_micros: AtomicU64,
    pub longest_pause_micros: AtomicU64,
    /// Time the writer waited before a group for the WAL to be truncated
    /// (that TRUNCATE's pause included), in all and the longest once, in
    /// microseconds: what bounding the WAL costs writes.
    pub waited_micros: AtomicU64,
    pub longest_wait_micros: AtomicU64,
}

impl CheckpointCounters {
    /// The last checkpoint's `(WAL frames, frames copied)`.
    pub fn last_frames(&self) -> (u64, u64) {
        let last = self.last.load(Ordering::Relaxed);
        (last >> 32, last & u64::from(u32::MAX))
    }

    fn record_pause(&self, paused: Duration) {
        add_micros(&self.paused_micros, &self.longest_pause_micros, paused);
        metrics::histogram!("sqlite_wal_truncate_pause_seconds").record(paused.as_secs_f64());
    }

    fn record_wait(&self, waited: Duration) {
        add_micros(&self.waited_micros, &self.longest_wait_micros, waited);
        metrics::histogram!("sqlite_wal_writer_wait_seconds").record(waited.as_secs_f64());
    }

    fn record(&self, log: i32, checkpointed: i32) {
        let frames = |n: i32| u64::from(u32::try_from(n).unwrap_or(0));
        self.last
            .store(frames(log) << 32 | frames(checkpointed), Ordering::Relaxed);
    }
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database `manager` opens;
    /// `guard` bounds its WAL file.
    pub fn start(
        manager: DbManager,
        guard: WalGuard,
        counters: Arc<CheckpointCounters>,
    ) -> std::io::Result<Self> {
        // One pending nudge is enough: a checkpoint copies everything
        // committed before it starts.
        let (nudge, nudged) = sync_channel(1);
        let pause = Arc::new(WriterPause::default());
        let wal = guard.file().clone();
        let mut thread = Thread {
            manager,
            conn: None,
            guard,
            pause: pause.clone(),
            counters: counters.clone(),
        };
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || thread.serve(&nudged))?;
        Ok(Self {
            nudge,
            pause,
            wal,
            counters,
        })
    }

    /// Called by the writer after a commit; never blocks. False when the
    /// checkpoint thread has stopped.
    pub fn nudge(&self) -> bool {
        match self.nudge.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => true,
            Err(TrySendError::Disconnected(())) => {
                tracing::warn!("the SQLite checkpoint thread has stopped");
                false
            }
        }
    }

    /// Called by the writer before it begins a group: when the WAL is past
    /// the guard's mark, waits (at most [`GROUP_WAIT`]) for the checkpoint
    /// thread's TRUNCATE, unless the guard put its next try off (readers,
    /// a group that ran long, or a failed checkpoint). The
    /// checkpoint thread alone would notice only after its next checkpoint,
    /// while back-to-back groups take the file far past its limit.
    pub fn make_room(&self) {
        if self.wal.size() <= self.wal.mark() || !self.nudge() {
            return;
        }
        let waited = self.pause.wait_for_truncate(&self.wal, GROUP_WAIT);
        if !waited.is_zero() {
            self.counters.record_wait(waited);
        }
    }

    /// Called by the writer before it begins a group (the group runs until
    /// the result is dropped); waits while the WAL is being truncated.
    pub fn enter_group(&self) -> InGroup {
        self.pause.enter_group()
    }
}

#[derive(QueryableByName)]
struct CheckpointResult {
    /// 1 when the checkpoint could not finish (a TRUNCATE that readers or
    /// another process's writer held off).
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Frames of it now in the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

#[derive(Debug, Clone, Copy)]
enum Mode {
    Passive,
    Truncate,
}

/// The checkpoint thread's state.
struct Thread {
    manager: DbManager,
    /// Its own connection, made on first use and after a failure.
    conn: Option<DbConn>,
    guard: WalGuard,
    pause: Arc<WriterPause>,
    counters: Arc<CheckpointCounters>,
}

impl Thread {
    fn serve(&mut self, nudged: &Receiver<()>) {
        let mut last: Option<Instant> = None;
        loop {
            // A commit, or the time to try again to empty a WAL left past
            // its limit.
            let woke = match self.guard.retry_in() {
                None => nudged.recv().is_ok(),
                Some(wait) => !matches!(
                    nudged.recv_timeout(wait),
                    Err(RecvTimeoutError::Disconnected)
                ),
            };
            if !woke {
                return;
            }
            // Past the guard's mark the writer waits before its next group
            // (`Checkpointer::make_room`): truncate at once, without the
            // PASSIVE checkpoint first, whose copy the TRUNCATE would redo
            // the syncs of.
            if let Some(before) = self.guard.due() {
                self.truncate(before);
                continue;
            }
            // Gather the commits of the next moment into this checkpoint,
            // unless a writer starts waiting for a TRUNCATE meanwhile.
            if let Some(wait) = last.and_then(|at| EVERY.checked_sub(at.elapsed())) {
                self.pause.gather(wait);
            }
            // A nudge that came while waiting is served by this run.
            let _ = nudged.try_recv();
            if let Some(before) = self.guard.due() {
                self.truncate(before);
                continue;
            }
            last = Some(Instant::now());
            // A failed PASSIVE checkpoint still leaves the guard its look:
            // a writer may be waiting, and its nudge was taken above.
            let _ = self.run(Mode::Passive);
            if let Some(before) = self.guard.due() {
                self.truncate(before);
            }
        }
    }

    /// A TRUNCATE checkpoint with the writer paused between two groups.
    fn truncate(&mut self, before: u64) {
        let pause = self.pause.clone();
        let Some(paused) = pause.pause(GROUP_WAIT) else {
            tracing::warn!(
                wal_bytes = before,
                "the SQLite writer's group did not end in time to truncate the WAL; trying again later"
            );
            self.guard.retry_later();
            return;
        };
        let paused_at = Instant::now();
        let ran = self.run(Mode::Truncate);
        self.counters.record_pause(paused_at.elapsed());
        let emptied = self.guard.tried(before);
        paused.tried();
        if emptied && ran.is_some_and(|r| r.busy == 0) {
            self.counters.truncations.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("sqlite_wal_truncations_total").increment(1);
        }
    }

    /// Runs one checkpoint and counts it; `None` when it failed.
    fn run(&mut self, mode: Mode) -> Option<CheckpointResult> {
        match self.checkpoint(mode) {
            Ok(result) => {
                self.counters.runs.fetch_add(1, Ordering::Relaxed);
                self.counters.record(result.log, result.checkpointed);
                metrics::counter!("sqlite_checkpoints_total").increment(1);
                tracing::trace!(
                    ?mode,
                    busy = result.busy,
                    log = result.log,
                    checkpointed = result.checkpointed,
                    "SQLite WAL checkpointed"
                );
                Some(result)
            }
            Err(err) => {
                self.conn = None;
                self.counters.failures.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("sqlite_checkpoint_failures_total").increment(1);
                tracing::warn!(error = %err, ?mode, "SQLite checkpoint failed; the next commit tries again");
                None
            }
        }
    }

    fn checkpoint(&mut self, mode: Mode) -> Result<CheckpointResult, super::DbError> {
        if self.conn.is_none() {
            let mut conn = self.manager.connect_writer()?;
            // Only a TRUNCATE waits (a PASSIVE checkpoint never calls the
            // busy handler): for the writer's lock, which the paused writer
            // does not hold, and briefly for readers.
            conn.batch_execute(&format!("PRAGMA busy_timeout = {TRUNCATE_WAIT_MS};"))?;
            self.conn = Some(conn);
        }
        let Some(DbConn::Sqlite(inner)) = self.conn.as_mut() else {
            unreachable!("checkpoints are run on SQLite only");
        };
        let sql = match mode {
            Mode::Passive => "PRAGMA wal_checkpoint(PASSIVE)",
            Mode::Truncate => "PRAGMA wal_checkpoint(TRUNCATE)",
        };
        Ok(diesel::sql_query(sql).get_result(inner)?)
    }
}
