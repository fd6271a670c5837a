//! Embedded migrations, one folder per backend with identical names, applied
//! at start and by the `migrate` subcommand.

use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use super::DbConn;

const SQLITE: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

#[derive(Debug, thiserror::Error)]
#[error("migration failed: {0}")]
pub struct MigrationError(String);

type Boxed = Box<dyn std::error::Error + Send + Sync>;

fn wrap(err: Boxed) -> MigrationError {
    MigrationError(err.to_string())
}

/// Applies every pending migration; returns the versions applied now.
pub fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE).map_err(wrap)?,
        DbConn::Postgresql(c) => c.run_pending_migrations(POSTGRES).map_err(wrap)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Reverts every applied migration, newest first.
pub fn revert_all(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE).map_err(wrap)?,
        DbConn::Postgresql(c) => c.revert_all_migrations(POSTGRES).map_err(wrap)?,
    };
    Ok(reverted.iter().map(ToString::to_string).collect())
}

/// Versions recorded as applied in the database.
pub fn applied_migrations(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c.applied_migrations().map_err(wrap)?,
        DbConn::Postgresql(c) => c.applied_migrations().map_err(wrap)?,
    };
    Ok(applied.iter().map(ToString::to_string).collect())
}

/// Versions embedded in this build that the database has not applied.
pub fn pending_migrations(conn: &mut DbConn) -> Result<Vec<String>, MigrationError> {
    Ok(match conn {
        DbConn::Sqlite(c) => c
            .pending_migrations(SQLITE)
            .map_err(wrap)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
        DbConn::Postgresql(c) => c
            .pending_migrations(POSTGRES)
            .map_err(wrap)?
            .iter()
            .map(|m| m.name().to_string())
            .collect(),
    })
}

/// Reverts applied migrations newest first, through the one whose version
/// is `version` (e.g. `20261202000013`); returns the versions reverted. For
/// tests that run a migration over rows written before it.
pub fn revert_through(conn: &mut DbConn, version: &str) -> Result<Vec<String>, MigrationError> {
    let mut reverted = Vec::new();
    while applied_migrations(conn)?.iter().any(|v| v == version) {
        let last = match conn {
            DbConn::Sqlite(c) => c.revert_last_migration(SQLITE).map_err(wrap)?,
            DbConn::Postgresql(c) => c.revert_last_migration(POSTGRES).map_err(wrap)?,
        };
        reverted.push(last.to_string());
    }
    Ok(reverted)
}
