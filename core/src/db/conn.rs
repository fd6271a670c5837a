//! The connection enum, the pool that builds the right variant from the URL,
//! and [`Database::run`], which moves blocking diesel work off the async
//! runtime. Checkouts go through a circuit breaker ([`super::breaker`]) so an
//! unreachable database is answered at once instead of after the pool
//! timeout.

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

use super::DatabaseUrl;
use super::breaker::{Admission, Breaker, Unavailable};
use super::wal_guard::{WAL_LIMIT_BYTES, WalGuard};
use super::write_queue::WriteQueue;

/// How long a checkout may wait for a free connection while the database is
/// reachable (all connections busy).
const CHECKOUT_BUDGET: Duration = Duration::from_secs(10);

/// Checkouts wait in slices this long, looking at the breaker in between, so
/// a caller already waiting when the database goes away is released as soon
/// as the breaker opens.
const CHECKOUT_SLICE: Duration = Duration::from_millis(100);

/// r2d2's own connection timeout. Its reconnect back-off is capped at half of
/// it, so the pool retries an unreachable database at least every second and
/// has connections again about a second after it returns.
const POOL_TIMEOUT: Duration = Duration::from_secs(2);

#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

impl std::fmt::Debug for DbConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Postgresql(_) => "DbConn::Postgresql",
            Self::Sqlite(_) => "DbConn::Sqlite",
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database query: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("database connection: {0}")]
    Connect(#[from] diesel::ConnectionError),
    #[error("database task panicked or was cancelled")]
    Join,
    /// The database is unreachable (the breaker is open) or no connection
    /// came free in time. The [`Unavailable`] is the error's source, so it
    /// stays findable through the transparent wrappers above it.
    #[error("database unavailable")]
    Unavailable(#[source] Unavailable),
}

/// Builds connections of the variant the URL names. The derived
/// `MultiConnection::establish` tries each backend in turn, and SQLite accepts
/// any string as a path, so a failed PostgreSQL connect would silently create
/// a file named after the URL; this manager never falls through.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: DatabaseUrl,
    breaker: Arc<Breaker>,
    /// The SQLite file this node opened at start. A connection is only
    /// good while that same file is at the configured path: writes through a
    /// connection to a moved or replaced file would be lost.
    sqlite_file: Option<FileIdentity>,
}

/// Device and inode of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileIdentity {
    dev: u64,
    ino: u64,
}

impl FileIdentity {
    fn of(path: &std::path::Path) -> std::io::Result<Self> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(path)?;
        if !meta.is_file() {
            return Err(std::io::Error::other("not a regular file"));
        }
        Ok(Self {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }
}

impl DbManager {
    /// [`Self::check_sqlite_file`] for the writer thread.
    pub(super) fn check_file(&self) -> Result<(), diesel::r2d2::Error> {
        self.check_sqlite_file()
    }

    /// A connection outside the pool (the SQLite writer's), reported to the
    /// breaker like the pool's.
    pub(super) fn connect_writer(&self) -> Result<DbConn, DbError> {
        self.connect_and_report().map_err(|e| match e {
            diesel::r2d2::Error::ConnectionError(e) => DbError::Connect(e),
            diesel::r2d2::Error::QueryError(e) => DbError::Query(e),
        })
    }

    /// Whether the file at the SQLite path is still the one opened at start.
    fn check_sqlite_file(&self) -> Result<(), diesel::r2d2::Error> {
        let (DatabaseUrl::Sqlite(path), Some(expected)) = (&self.url, self.sqlite_file) else {
            return Ok(());
        };
        match FileIdentity::of(path) {
            Ok(found) if found == expected => Ok(()),
            Ok(_) => Err(bad_connection(format!(
                "{} is no longer the database file this node opened",
                path.display()
            ))),
            Err(e) => Err(bad_connection(format!("{}: {e}", path.display()))),
        }
    }

    /// Connects, and tells the breaker how it went.
    fn connect_and_report(&self) -> Result<DbConn, diesel::r2d2::Error> {
        let outcome = self.connect_inner();
        match &outcome {
            Ok(_) => self.breaker.succeeded(),
            Err(e) => self.breaker.failed(&e.to_string()),
        }
        outcome
    }

    fn connect_inner(&self) -> Result<DbConn, diesel::r2d2::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(
                &self.url.libpq_url().unwrap_or_else(|| url.clone()),
            )
            .map(DbConn::Postgresql)
            .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                // Checked before opening too: SQLite would create a new,
                // empty file where the database went missing.
                self.check_sqlite_file()?;
                let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                self.check_sqlite_file()?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

fn bad_connection(message: String) -> diesel::r2d2::Error {
    diesel::r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(message))
}

/// Per-connection SQLite settings: the busy timeout (15 s: how long a
/// connection waits for a lock another process holds, a CLI command or a
/// standalone worker; within this process writes queue on the writer
/// thread, [`super::write_queue`], instead), foreign keys (SQLite
/// leaves them off by default), NORMAL sync (durable at checkpoints, safe in
/// WAL mode), a page cache of 8 MiB per reader instead of 2 MiB, and reads
/// through a 256 MiB memory map (no `pread` copy per page).
const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL; PRAGMA cache_size = -8192; PRAGMA mmap_size = 268435456;";

/// The writer connection's extra settings: a 64 MiB page cache (ingest
/// touches every index's B-tree; the 2 MiB default made 47 % of its time
/// `pread`/`pwrite`), a WAL file truncated back to 32 MiB (the WAL guard's
/// mark) whenever the log restarts from its beginning, and no automatic
/// checkpoints: the checkpoint thread runs them ([`super::checkpointer`]),
/// so commits never wait for one, and it empties the file when it grows
/// past the mark anyway ([`super::wal_guard`]).
pub(super) const SQLITE_WRITER_PRAGMAS: &str = "PRAGMA cache_size = -65536; \
     PRAGMA journal_size_limit = 33554432; PRAGMA wal_autocheckpoint = 0;";

/// WAL (readers never block the writer) is a property of the file, set once
/// before the pool opens its connections in parallel: switching journal
/// modes needs a lock that SQLite may refuse without calling the busy
/// handler, which made pool start-up log "database is locked".
const SQLITE_ONCE: &str = "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL;";

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        self.connect_and_report()
    }

    /// Run on every checkout: a ping, and for SQLite the file check. A
    /// failed check only drops that one connection (r2d2 then hands out or
    /// makes another): idle connections closed by the server's idle
    /// timeout, a pooler or a firewall fail here while the database is
    /// fine, so only failed connects count towards opening the breaker.
    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        let outcome = self
            .check_sqlite_file()
            .and_then(|()| conn.ping().map_err(diesel::r2d2::Error::QueryError));
        if outcome.is_ok() {
            self.breaker.succeeded();
        }
        outcome
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<DbManager>,
    manager: DbManager,
    backend: super::Backend,
    url: DatabaseUrl,
    /// SQLite only: the one writer every [`Database::write`] goes through.
    writer: Option<Arc<WriteQueue>>,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("url", &self.url).finish()
    }
}

impl Database {
    /// Opens a pool; fails when the first connection cannot be made.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbError> {
        Self::connect_with_wal_limit(url, pool_size, WAL_LIMIT_BYTES)
    }

    /// [`Database::connect`] with the SQLite WAL kept under `wal_limit`
    /// bytes instead of 64 MiB (tests use a small one).
    pub fn connect_with_wal_limit(
        url: &DatabaseUrl,
        pool_size: u32,
        wal_limit: u64,
    ) -> Result<Self, DbError> {
        let mut sqlite_file = None;
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                // SQLite creates the file but not its directory.
                let _created = std::fs::create_dir_all(parent);
            }
            let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())?;
            conn.batch_execute(SQLITE_ONCE)?;
            sqlite_file = Some(FileIdentity::of(path).map_err(|e| {
                DbError::Connect(diesel::ConnectionError::BadConnection(format!(
                    "{}: {e}",
                    path.display()
                )))
            })?);
        }
        let manager = DbManager {
            url: url.clone(),
            breaker: Arc::default(),
            sqlite_file,
        };
        // Unchecked: r2d2's own check would wait for every idle connection
        // within POOL_TIMEOUT; one working connection is what start needs.
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(POOL_TIMEOUT)
            .build_unchecked(manager.clone());
        let writer = match url {
            DatabaseUrl::Sqlite(path) => Some(Arc::new(
                WriteQueue::start(manager.clone(), WalGuard::for_database(path, wal_limit))
                    .map_err(|e| {
                        DbError::Connect(diesel::ConnectionError::BadConnection(format!(
                            "starting the SQLite writer thread: {e}"
                        )))
                    })?,
            )),
            DatabaseUrl::Postgres(_) => None,
        };
        let db = Self {
            pool,
            manager,
            backend: url.backend(),
            url: url.clone(),
            writer,
        };
        drop(db.checkout(CHECKOUT_BUDGET)?);
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for synchronous callers (CLI commands, tests).
    pub fn get(&self) -> Result<r2d2::PooledConnection<DbManager>, DbError> {
        self.checkout(CHECKOUT_BUDGET)
    }

    /// A connection outside the pool, set as the one writes go through (on
    /// SQLite the writer thread's page cache and checkpoint settings), for
    /// a tool that must run a write body on a connection it can instrument:
    /// the records benchmark's statement profile. The server never calls
    /// it; its writes go through [`Database::write`].
    pub fn connect_like_writer(&self) -> Result<DbConn, DbError> {
        let mut conn = self.manager.connect_writer()?;
        if self.backend == Backend::Sqlite {
            conn.batch_execute(SQLITE_WRITER_PRAGMAS)?;
        }
        Ok(conn)
    }

    /// Runs `work` as one write transaction. On SQLite it joins the queue of
    /// the process's one writer connection and may be committed together
    /// with other queued writes, each in its own savepoint (see
    /// [`super::write_queue`]); the result arrives after the commit. On
    /// PostgreSQL it is [`write_tx`] on a pooled connection.
    pub async fn write<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + From<diesel::result::Error> + Send + 'static,
    {
        match &self.writer {
            Some(queue) => queue.write(work).await,
            None => self.run(move |conn| write_tx(conn, work)).await,
        }
    }

    /// The SQLite writer's counters; `None` on PostgreSQL, which has no queue.
    pub fn write_queue_stats(&self) -> Option<super::write_queue::WriteQueueStats> {
        self.writer.as_deref().map(WriteQueue::stats)
    }

    /// Runs blocking database work on tokio's blocking pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        self.run_within(CHECKOUT_BUDGET, work).await
    }

    /// [`Database::run`] with at most `budget` spent waiting for a
    /// connection (readiness checks answer within a second).
    pub async fn run_within<T, E, F>(&self, budget: Duration, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let db = self.clone();
        // The caller's span and request id follow the work onto the pool
        // thread: its logs and the jobs it queues name the request.
        let (span, request) = (tracing::Span::current(), crate::request_id::current());
        tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            crate::request_id::within(request, || {
                let mut conn = db.checkout(budget)?;
                work(&mut conn)
            })
        })
        .await
        .map_err(|_| DbError::Join)?
    }

    /// True while the breaker refuses checkouts.
    pub fn is_unavailable(&self) -> bool {
        self.manager.breaker.is_open()
    }

    /// A pooled connection, or [`DbError::Unavailable`] at once while the
    /// breaker is open, or once it opens while waiting, or when none came
    /// free within `budget`.
    fn checkout(&self, budget: Duration) -> Result<r2d2::PooledConnection<DbManager>, DbError> {
        let breaker = &self.manager.breaker;
        match breaker.admit() {
            Admission::Go => {}
            Admission::Refused(unavailable) => return Err(DbError::Unavailable(unavailable)),
            // A fresh connection of our own, not one from the pool, whose
            // reconnects may be waiting out their back-off.
            Admission::Probe => {
                if let Err(e) = self.manager.connect_and_report() {
                    return Err(unavailable(e.to_string()));
                }
            }
        }
        let start = Instant::now();
        loop {
            let slice = budget.saturating_sub(start.elapsed()).min(CHECKOUT_SLICE);
            match self.pool.get_timeout(slice) {
                Ok(conn) => return Ok(conn),
                Err(e) => {
                    if let Some(unavailable) = breaker.refusing() {
                        return Err(DbError::Unavailable(unavailable));
                    }
                    if start.elapsed() >= budget {
                        return Err(unavailable(format!("no connection free in time: {e}")));
                    }
                }
            }
        }
    }
}

fn unavailable(reason: String) -> DbError {
    DbError::Unavailable(Unavailable {
        retry_after: super::breaker::COOL_DOWN,
        reason,
    })
}

/// Runs `work` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so
/// the write lock is taken up front and waits on the busy timeout; a deferred
/// transaction that reads first would instead fail with SQLITE_BUSY when it
/// later tries to write. On PostgreSQL it is an ordinary transaction. Both go
/// through diesel's transaction manager, so a panic inside `work` marks the
/// connection broken (r2d2 then discards it instead of pooling an open
/// transaction) and nested `transaction` calls become savepoints.
pub fn write_tx<T, E, F>(conn: &mut DbConn, work: F) -> Result<T, E>
where
    F: FnOnce(&mut DbConn) -> Result<T, E>,
    E: From<diesel::result::Error>,
{
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let DbConn::Sqlite(inner) = conn else {
        return conn.transaction(work);
    };
    // Already inside a transaction (a body on the write queue): a savepoint.
    if AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()?
        .is_some()
    {
        return conn.transaction(work);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    let outcome = work(conn);
    let DbConn::Sqlite(inner) = conn else {
        return Err(diesel::result::Error::BrokenTransactionManager.into());
    };
    match outcome {
        Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
            Ok(()) => Ok(value),
            Err(err) => {
                rollback(inner);
                Err(err.into())
            }
        },
        Err(err) => {
            rollback(inner);
            Err(err)
        }
    }
}

fn rollback(inner: &mut diesel::SqliteConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    if let Err(err) = AnsiTransactionManager::rollback_transaction(inner) {
        tracing::error!(error = %err, "rollback failed");
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use r2d2::ManageConnection as _;

    use super::*;

    #[test]
    fn parallel_first_connections_to_a_fresh_sqlite_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let manager = DbManager {
            url: DatabaseUrl::sqlite_file(&dir.path().join("fresh.sqlite3")),
            breaker: Arc::default(),
            sqlite_file: None,
        };
        let start = Arc::new(Barrier::new(8));
        let opened: Vec<_> = (0..8)
            .map(|_| {
                let (manager, start) = (manager.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    manager.connect().map(drop).map_err(|e| e.to_string())
                })
            })
            .collect();
        for handle in opened {
            let outcome = handle
                .join()
                .unwrap_or_else(|_| Err("thread panicked".into()));
            assert_eq!(outcome, Ok(()), "a pool connection failed to open");
        }
    }
}
