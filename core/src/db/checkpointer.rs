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
//! once all of it was copied). [`super::wal_guard`] stays as the bound when
//! readers keep the WAL from being copied.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, Instant};

use diesel::QueryableByName;
use diesel::RunQueryDsl;
use diesel::sql_types::Integer;

use super::conn::{DbConn, DbManager};

/// The shortest time between two checkpoints: each syncs the database
/// file, so they are gathered rather than run after every commit.
pub const EVERY: Duration = Duration::from_millis(200);

/// The writer's handle: nudges the checkpoint thread. The thread ends when
/// the handle is dropped (with the writer).
#[derive(Debug)]
pub struct Checkpointer {
    nudge: SyncSender<()>,
}

/// What the checkpoint thread has done since start.
#[derive(Debug, Default)]
pub struct CheckpointCounters {
    /// Checkpoints run.
    pub runs: AtomicU64,
    /// The last checkpoint's frames, packed in one word so that a reader
    /// sees both of one run: the WAL's frames in the high 32 bits, those of
    /// them now in the database file (all, unless a reader still needed
    /// some) in the low 32. See [`CheckpointCounters::last_frames`].
    last: AtomicU64,
    /// Checkpoints that failed (logged; the next nudge tries again).
    pub failures: AtomicU64,
}

impl CheckpointCounters {
    /// The last checkpoint's `(WAL frames, frames copied)`.
    pub fn last_frames(&self) -> (u64, u64) {
        let last = self.last.load(Ordering::Relaxed);
        (last >> 32, last & u64::from(u32::MAX))
    }

    fn record(&self, log: i32, checkpointed: i32) {
        let frames = |n: i32| u64::from(u32::try_from(n).unwrap_or(0));
        self.last
            .store(frames(log) << 32 | frames(checkpointed), Ordering::Relaxed);
    }
}

impl Checkpointer {
    /// Starts the checkpoint thread for the database `manager` opens.
    pub fn start(manager: DbManager, counters: Arc<CheckpointCounters>) -> std::io::Result<Self> {
        // One pending nudge is enough: a checkpoint copies everything
        // committed before it starts.
        let (nudge, nudged) = sync_channel(1);
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || serve(&manager, &nudged, &counters))?;
        Ok(Self { nudge })
    }

    /// Called by the writer after a commit; never blocks.
    pub fn nudge(&self) {
        match self.nudge.try_send(()) {
            Ok(()) | Err(TrySendError::Full(())) => {}
            Err(TrySendError::Disconnected(())) => {
                tracing::warn!("the SQLite checkpoint thread has stopped");
            }
        }
    }
}

#[derive(QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = Integer)]
    busy: i32,
    /// Frames in the WAL.
    #[diesel(sql_type = Integer)]
    log: i32,
    /// Frames of it now in the database file.
    #[diesel(sql_type = Integer)]
    checkpointed: i32,
}

fn serve(manager: &DbManager, nudged: &Receiver<()>, counters: &CheckpointCounters) {
    let mut conn: Option<DbConn> = None;
    let mut last: Option<Instant> = None;
    while nudged.recv().is_ok() {
        // Gather the commits of the next moment into this checkpoint.
        if let Some(wait) = last.and_then(|at| EVERY.checked_sub(at.elapsed())) {
            std::thread::sleep(wait);
        }
        // A nudge that came while waiting is served by this run.
        let _ = nudged.try_recv();
        last = Some(Instant::now());
        match checkpoint(manager, &mut conn) {
            Ok(result) => {
                counters.runs.fetch_add(1, Ordering::Relaxed);
                counters.record(result.log, result.checkpointed);
                metrics::counter!("sqlite_checkpoints_total").increment(1);
                tracing::trace!(
                    busy = result.busy,
                    log = result.log,
                    checkpointed = result.checkpointed,
                    "SQLite WAL checkpointed"
                );
            }
            Err(err) => {
                conn = None;
                counters.failures.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("sqlite_checkpoint_failures_total").increment(1);
                tracing::warn!(error = %err, "SQLite checkpoint failed; the next commit tries again");
            }
        }
    }
}

fn checkpoint(
    manager: &DbManager,
    conn: &mut Option<DbConn>,
) -> Result<CheckpointResult, super::DbError> {
    if conn.is_none() {
        *conn = Some(manager.connect_writer()?);
    }
    let Some(DbConn::Sqlite(inner)) = conn.as_mut() else {
        unreachable!("checkpoints are run on SQLite only");
    };
    Ok(diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)").get_result(inner)?)
}
