//! Persistence: one diesel connection type over SQLite and PostgreSQL, the
//! pool, embedded migrations and the write-transaction helper. The backend is
//! picked at run time from the database URL; nothing else branches on it:
//! the differences live in [`dialect`] (and in [`write_tx`] and the
//! migration runner).

pub mod breaker;
mod checkpointer;
mod column_types;
mod conn;
pub mod dialect;
mod migrate;
mod pg_job_claim;
pub mod schema;
mod url;
mod wal_guard;
pub mod write_queue;

pub use column_types::UnreadableValue;
pub use conn::{
    Backend, Database, DbConn, DbError, DbManager, MultiBackend as DbBackend, write_tx,
};
pub use migrate::{
    MigrationError, applied_migrations, pending_migrations, revert_all, revert_through, run_pending,
};
pub use url::{DatabaseUrl, DatabaseUrlError};
