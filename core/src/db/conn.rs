//! The connection enum, the pool that builds the right variant from the URL,
//! and [`Database::run`], which moves blocking diesel work off the async
//! runtime.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::R2D2Connection;

use super::DatabaseUrl;

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
}

/// Builds connections of the variant the URL names. The derived
/// `MultiConnection::establish` tries each backend in turn, and SQLite accepts
/// any string as a path, so a failed PostgreSQL connect would silently create
/// a file named after the URL; this manager never falls through.
#[derive(Debug, Clone)]
pub struct DbManager {
    url: DatabaseUrl,
}

/// Per-connection SQLite settings: a busy timeout so concurrent writers queue
/// instead of failing, and foreign keys, which SQLite leaves off by default.
const SQLITE_PRAGMAS: &str =
    "PRAGMA busy_timeout = 15000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;";

/// WAL (readers never block the writer) is a property of the file, set once
/// before the pool opens its connections in parallel: switching journal
/// modes needs a lock that SQLite may refuse without calling the busy
/// handler, which made pool start-up log "database is locked".
const SQLITE_ONCE: &str = "PRAGMA busy_timeout = 15000; PRAGMA journal_mode = WAL;";

impl r2d2::ManageConnection for DbManager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        match &self.url {
            DatabaseUrl::Postgres(url) => diesel::PgConnection::establish(url)
                .map(DbConn::Postgresql)
                .map_err(diesel::r2d2::Error::ConnectionError),
            DatabaseUrl::Sqlite(path) => {
                let path = path.to_string_lossy();
                let mut conn = diesel::SqliteConnection::establish(&path)
                    .map_err(diesel::r2d2::Error::ConnectionError)?;
                conn.batch_execute(SQLITE_PRAGMAS)
                    .map_err(diesel::r2d2::Error::QueryError)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        conn.ping().map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        conn.is_broken()
    }
}

/// A pool of connections to one database.
#[derive(Clone)]
pub struct Database {
    pool: r2d2::Pool<DbManager>,
    backend: super::Backend,
    url: DatabaseUrl,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database").field("url", &self.url).finish()
    }
}

impl Database {
    /// Opens a pool; fails when the first connection cannot be made.
    pub fn connect(url: &DatabaseUrl, pool_size: u32) -> Result<Self, DbError> {
        if let DatabaseUrl::Sqlite(path) = url {
            if let Some(parent) = path.parent()
                && !parent.as_os_str().is_empty()
            {
                // SQLite creates the file but not its directory.
                let _created = std::fs::create_dir_all(parent);
            }
            let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())?;
            conn.batch_execute(SQLITE_ONCE)?;
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .connection_timeout(Duration::from_secs(10))
            .build(DbManager { url: url.clone() })?;
        Ok(Self {
            pool,
            backend: url.backend(),
            url: url.clone(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A connection for synchronous callers (CLI commands, tests).
    pub fn get(&self) -> Result<r2d2::PooledConnection<DbManager>, DbError> {
        Ok(self.pool.get()?)
    }

    /// Runs blocking database work on tokio's blocking pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DbError> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().map_err(DbError::from)?;
            work(&mut conn)
        })
        .await
        .map_err(|_| DbError::Join)?
    }
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
