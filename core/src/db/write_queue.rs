//! SQLite's one writer (docs/decisions/0013-sqlite-write-queue.md).
//!
//! SQLite lets one connection write at a time. Writers on a pool that find
//! the lock taken sleep in SQLite's busy handler (back-off up to 100 ms), so
//! several writers were slower than one and their tails grew. Here every
//! write transaction of this process is sent to one thread that owns the
//! write connection. It takes what is queued (up to [`MAX_GROUP`]), runs
//! each body in its own savepoint inside one `BEGIN IMMEDIATE` transaction,
//! and commits once: group commit. A body that fails or panics rolls back
//! only its savepoint; the others commit. Each caller gets its own result
//! after the commit, so after-commit effects still follow a commit.
//!
//! Bodies run in queue order, so the group is equivalent to running them one
//! after another: a body sees what the bodies before it wrote. The only
//! difference a caller can notice is that a failed COMMIT (disk full, I/O)
//! fails every body of the group, each with that error.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use tokio::sync::{mpsc, oneshot};

use super::checkpointer::{CheckpointCounters, Checkpointer};
use super::conn::{DbConn, DbError, DbManager};
use super::wal_guard::WalGuard;

/// Most bodies committed together. Bounds how long the first of a group
/// waits for the others, and the work a failed commit throws away.
pub const MAX_GROUP: usize = 64;

/// Waiting bodies beyond this make callers wait to enqueue (back-pressure
/// instead of unbounded memory).
const QUEUE_CAPACITY: usize = 4096;

/// The sending side, held by every clone of the [`super::Database`].
#[derive(Debug)]
pub struct WriteQueue {
    sender: mpsc::Sender<Box<dyn QueuedWrite>>,
    counters: Arc<Counters>,
    checkpoints: Arc<CheckpointCounters>,
}

/// What the writer has done since start (exported as metrics).
#[derive(Debug, Default)]
struct Counters {
    groups: AtomicU64,
    bodies: AtomicU64,
    largest_group: AtomicU64,
    failed_groups: AtomicU64,
}

/// A snapshot of the writer's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteQueueStats {
    /// Transactions committed or attempted (one per group).
    pub groups: u64,
    /// Bodies run (each caller's write).
    pub bodies: u64,
    /// The most bodies one group held.
    pub largest_group: u64,
    /// Groups whose BEGIN or COMMIT failed (every body got the error).
    pub failed_groups: u64,
    /// Bodies waiting in the queue right now.
    pub queued: u64,
    /// Checkpoints the checkpoint thread ran ([`super::checkpointer`]).
    pub checkpoints: u64,
    /// Checkpoints that failed.
    pub checkpoint_failures: u64,
    /// TRUNCATE checkpoints that brought the WAL file back within its
    /// limit ([`super::wal_guard`]).
    pub wal_truncations: u64,
    /// Time the writer was held for those TRUNCATE checkpoints, in all and
    /// the longest once (microseconds).
    pub wal_pause_micros: u64,
    pub wal_longest_pause_micros: u64,
    /// Time the writer waited before groups for the WAL to be truncated
    /// (those pauses included), in all and the longest once (microseconds).
    pub wal_wait_micros: u64,
    pub wal_longest_wait_micros: u64,
    /// WAL frames at the last checkpoint, and how many of them it copied.
    pub wal_frames: u64,
    pub wal_frames_checkpointed: u64,
}

impl WriteQueue {
    /// Starts the writer thread for the SQLite database `manager` opens.
    /// The thread ends when the last [`WriteQueue`] is dropped, and the
    /// checkpoint thread (which bounds the WAL with `wal`) with it.
    pub fn start(manager: DbManager, wal: WalGuard) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let counters = Arc::new(Counters::default());
        let checkpoints = Arc::new(CheckpointCounters::default());
        let checkpointer = Checkpointer::start(manager.clone(), wal, checkpoints.clone())?;
        let writer = Writer::new(manager, checkpointer, counters.clone());
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer.serve(receiver))?;
        Ok(Self {
            sender,
            counters,
            checkpoints,
        })
    }

    pub fn stats(&self) -> WriteQueueStats {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        let (wal_frames, wal_frames_checkpointed) = self.checkpoints.last_frames();
        WriteQueueStats {
            groups: read(&self.counters.groups),
            bodies: read(&self.counters.bodies),
            largest_group: read(&self.counters.largest_group),
            failed_groups: read(&self.counters.failed_groups),
            queued: (self.sender.max_capacity() - self.sender.capacity()) as u64,
            checkpoints: read(&self.checkpoints.runs),
            checkpoint_failures: read(&self.checkpoints.failures),
            wal_truncations: read(&self.checkpoints.truncations),
            wal_pause_micros: read(&self.checkpoints.paused_micros),
            wal_longest_pause_micros: read(&self.checkpoints.longest_pause_micros),
            wal_wait_micros: read(&self.checkpoints.waited_micros),
            wal_longest_wait_micros: read(&self.checkpoints.longest_wait_micros),
            wal_frames,
            wal_frames_checkpointed,
        }
    }

    /// Queues `work` and waits for its result, which arrives once the group
    /// it ran in has committed (or failed).
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job = Job {
            work: Some(work),
            outcome: None,
            reply,
            span: tracing::Span::current(),
            request: crate::request_id::current(),
        };
        if self.sender.send(Box::new(job)).await.is_err() {
            return Err(DbError::Join.into());
        }
        answer.await.map_err(|_| DbError::Join)?
    }
}

/// How one body ended inside the group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BodyEnd {
    Succeeded,
    Failed,
    Panicked,
}

/// A queued body with its caller's reply, type-erased for the queue.
trait QueuedWrite: Send {
    /// Runs the body (once) and keeps its outcome until the group ends.
    fn run(&mut self, conn: &mut DbConn) -> BodyEnd;
    /// Answers the caller: the body's own error, or its value once the group
    /// committed, or the group's failure.
    fn complete(self: Box<Self>, group: Result<(), &GroupFailure>);
}

struct Job<T, E, F> {
    work: Option<F>,
    outcome: Option<Result<T, E>>,
    reply: oneshot::Sender<Result<T, E>>,
    span: tracing::Span,
    request: Option<String>,
}

impl<T, E, F> QueuedWrite for Job<T, E, F>
where
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DbError> + Send + 'static,
{
    fn run(&mut self, conn: &mut DbConn) -> BodyEnd {
        let Some(work) = self.work.take() else {
            return BodyEnd::Failed;
        };
        let _entered = self.span.enter();
        let request = self.request.clone();
        // The body's captured state is dropped with the job and its writes
        // are rolled back to the savepoint, so nothing half-done is observed.
        let ran = catch_unwind(AssertUnwindSafe(|| {
            crate::request_id::within(request, || work(conn))
        }));
        let (outcome, end) = match ran {
            Ok(Ok(value)) => (Ok(value), BodyEnd::Succeeded),
            Ok(Err(err)) => (Err(err), BodyEnd::Failed),
            Err(_) => (Err(DbError::Join.into()), BodyEnd::Panicked),
        };
        self.outcome = Some(outcome);
        end
    }

    fn complete(self: Box<Self>, group: Result<(), &GroupFailure>) {
        let answer = match (self.outcome, group) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(failure)) => Err(failure.to_error().into()),
            (None, Ok(())) => Err(DbError::Join.into()),
        };
        // The caller may have gone away (request cancelled): its work stays
        // committed, as a request that loses its client after a commit does.
        let _gone = self.reply.send(answer);
    }
}

/// Why a whole group did not commit. Kept as text and kind so every caller
/// can be given its own [`DbError`] (diesel's errors are not `Clone`).
#[derive(Debug)]
enum GroupFailure {
    Query {
        kind: DatabaseErrorKind,
        message: String,
    },
    Unavailable(DbError),
}

impl GroupFailure {
    fn query(err: &DieselError) -> Self {
        let kind = match err {
            DieselError::DatabaseError(kind, _) => *kind,
            _ => DatabaseErrorKind::Unknown,
        };
        // The SQLite message ("database or disk is full", ...) is what the
        // API maps to 503, so it is carried as is.
        let message = match err {
            DieselError::DatabaseError(_, info) => info.message().to_owned(),
            other => other.to_string(),
        };
        Self::Query { kind, message }
    }

    fn to_error(&self) -> DbError {
        match self {
            Self::Query { kind, message } => {
                DbError::Query(DieselError::DatabaseError(*kind, Box::new(message.clone())))
            }
            Self::Unavailable(err) => match err {
                DbError::Unavailable(unavailable) => DbError::Unavailable(unavailable.clone()),
                other => {
                    DbError::Connect(diesel::ConnectionError::BadConnection(other.to_string()))
                }
            },
        }
    }
}

/// The writer thread's state: its connection (made again after a failure)
/// and its handle on the checkpoint thread.
struct Writer {
    manager: DbManager,
    conn: Option<DbConn>,
    checkpointer: Checkpointer,
    counters: Arc<Counters>,
}

impl Writer {
    fn new(manager: DbManager, checkpointer: Checkpointer, counters: Arc<Counters>) -> Self {
        Self {
            manager,
            conn: None,
            checkpointer,
            counters,
        }
    }

    fn serve(mut self, mut receiver: mpsc::Receiver<Box<dyn QueuedWrite>>) {
        let mut group: Vec<Box<dyn QueuedWrite>> = Vec::with_capacity(MAX_GROUP);
        while let Some(first) = receiver.blocking_recv() {
            group.push(first);
            // A WAL past the guard's mark is emptied before the file grows
            // further (what queues meanwhile joins this group).
            self.checkpointer.make_room();
            // Between two groups the checkpoint thread may hold the writer
            // while it truncates the WAL; what queues meanwhile joins this group.
            let turn = self.checkpointer.enter_group();
            while group.len() < MAX_GROUP {
                match receiver.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            let outcome = self.run_group(&mut group);
            drop(turn);
            let size = group.len() as u64;
            self.counters.groups.fetch_add(1, Ordering::Relaxed);
            self.counters.bodies.fetch_add(size, Ordering::Relaxed);
            self.counters
                .largest_group
                .fetch_max(size, Ordering::Relaxed);
            metrics::counter!("sqlite_write_groups_total").increment(1);
            metrics::counter!("sqlite_write_bodies_total").increment(size);
            metrics::histogram!("sqlite_write_group_size").record(size as f64);
            if let Err(failure) = &outcome {
                self.counters.failed_groups.fetch_add(1, Ordering::Relaxed);
                metrics::counter!("sqlite_write_failed_groups_total").increment(1);
                tracing::warn!(bodies = group.len(), ?failure, "SQLite write group failed");
            }
            for job in group.drain(..) {
                job.complete(outcome.as_ref().map(|_| ()));
            }
            if outcome.is_ok() {
                let _ = self.checkpointer.nudge();
            }
        }
    }

    /// Runs every body of the group in one transaction, each in its own
    /// savepoint, and commits.
    fn run_group(&mut self, group: &mut [Box<dyn QueuedWrite>]) -> Result<(), GroupFailure> {
        let conn = self.connection()?;
        let DbConn::Sqlite(inner) = &mut *conn else {
            unreachable!("the write queue only runs on SQLite");
        };
        if let Err(e) = AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE") {
            if AnsiTransactionManager::is_broken_transaction_manager(inner) {
                self.conn = None;
            }
            return Err(GroupFailure::query(&e));
        }
        let outcome = Self::run_bodies(conn, group);
        let DbConn::Sqlite(inner) = &mut *conn else {
            unreachable!("the write queue only runs on SQLite");
        };
        let finished = outcome.and_then(|()| {
            AnsiTransactionManager::commit_transaction(inner).map_err(|e| GroupFailure::query(&e))
        });
        if finished.is_err() && !roll_back_all(inner) {
            self.conn = None;
        }
        finished
    }

    fn run_bodies(
        conn: &mut DbConn,
        group: &mut [Box<dyn QueuedWrite>],
    ) -> Result<(), GroupFailure> {
        for job in group.iter_mut() {
            let DbConn::Sqlite(inner) = &mut *conn else {
                unreachable!("the write queue only runs on SQLite");
            };
            // At depth 1 diesel's manager opens a savepoint.
            AnsiTransactionManager::begin_transaction(inner)
                .map_err(|e| GroupFailure::query(&e))?;
            let end = job.run(conn);
            let DbConn::Sqlite(inner) = &mut *conn else {
                unreachable!("the write queue only runs on SQLite");
            };
            let closed = match end {
                BodyEnd::Succeeded => AnsiTransactionManager::commit_transaction(inner),
                BodyEnd::Failed | BodyEnd::Panicked => roll_back_to_group(inner),
            };
            closed.map_err(|e| GroupFailure::query(&e))?;
        }
        Ok(())
    }

    /// The write connection, made on first use and after a failure; the
    /// database file is checked before every group, as pool checkouts do.
    fn connection(&mut self) -> Result<&mut DbConn, GroupFailure> {
        if let Err(e) = self.manager.check_file() {
            self.conn = None;
            return Err(GroupFailure::Unavailable(DbError::Connect(
                diesel::ConnectionError::BadConnection(e.to_string()),
            )));
        }
        match &mut self.conn {
            Some(conn) => Ok(conn),
            slot @ None => {
                let mut conn = self
                    .manager
                    .connect_writer()
                    .map_err(GroupFailure::Unavailable)?;
                conn.batch_execute(super::conn::SQLITE_WRITER_PRAGMAS)
                    .map_err(|e| GroupFailure::query(&e))?;
                Ok(slot.insert(conn))
            }
        }
    }
}

/// Rolls back whatever a failed or panicked body left open, down to the
/// group's own transaction (depth 1): its savepoint, and any nested one a
/// panic left behind.
fn roll_back_to_group(inner: &mut diesel::SqliteConnection) -> diesel::QueryResult<()> {
    loop {
        let depth = AnsiTransactionManager::transaction_manager_status_mut(inner)
            .transaction_depth()?
            .map_or(0, std::num::NonZeroU32::get);
        match depth {
            0 => return Err(DieselError::NotInTransaction),
            1 => return Ok(()),
            _ => AnsiTransactionManager::rollback_transaction(inner)?,
        }
    }
}

/// Rolls the whole group back; false when the connection is no longer
/// usable (it is then made again for the next group).
fn roll_back_all(inner: &mut diesel::SqliteConnection) -> bool {
    loop {
        let depth = AnsiTransactionManager::transaction_manager_status_mut(inner)
            .transaction_depth()
            .map(|d| d.map_or(0, std::num::NonZeroU32::get));
        match depth {
            Ok(0) => return true,
            Ok(_) => {
                if let Err(err) = AnsiTransactionManager::rollback_transaction(inner) {
                    tracing::error!(error = %err, "rollback of a write group failed");
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}
