//! Test support: each test gets its own database. The backend comes from
//! `DESKBIND_TEST_BACKEND` (`sqlite`, the default, or `postgres`); PostgreSQL
//! tests create a fresh database on the server named by
//! `DESKBIND_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable)
//! and drop it afterwards. A missing server fails the test loudly.
//!
//! Two switches for a failing test (docs/testing.md): `DESKBIND_TEST_LOG`
//! shows the server's logs ([`test_logs`]), `DESKBIND_TEST_KEEP_DB=1` keeps
//! the test's database and scratch directory and prints where they are.

use diesel::connection::SimpleConnection as _;
use diesel::{Connection as _, PgConnection};

use crate::db::{Backend, DatabaseUrl};

pub mod push_fixture;
pub mod test_logs;

/// Keeps each test's database (and scratch directory) after the test.
pub const KEEP_DB_ENV: &str = "DESKBIND_TEST_KEEP_DB";

/// `sslmode=disable`: libpq would otherwise negotiate TLS with a local server,
/// and OpenSSL's exit-time cleanup then races with the server threads a test
/// leaves running when it returns (seen as "double free" aborts after passing
/// tests). Production shutdown drops the pool before exit, so it is unaffected.
const DEFAULT_ADMIN_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

pub fn backend() -> Backend {
    match std::env::var("DESKBIND_TEST_BACKEND").as_deref() {
        Ok("postgres") => Backend::Postgres,
        Ok("sqlite") | Err(_) => Backend::Sqlite,
        Ok(other) => panic!("DESKBIND_TEST_BACKEND={other:?}: use sqlite or postgres"),
    }
}

#[derive(Debug)]
pub struct TestDb {
    pub url: DatabaseUrl,
    pg: Option<(String, String)>,
    dir: tempfile::TempDir,
    keep: bool,
}

impl TestDb {
    /// A new empty database on the backend chosen by the environment.
    pub fn new() -> Self {
        Self::on(backend())
    }

    /// A new empty database on `backend`, whatever the environment chose
    /// (for tests that compare the two backends).
    pub fn on(backend: Backend) -> Self {
        test_logs::init();
        let mut dir =
            tempfile::tempdir().unwrap_or_else(|e| panic!("cannot create a temp dir: {e}"));
        let keep = keep_db();
        dir.disable_cleanup(keep);
        let db = Self::create(backend, dir, keep);
        if keep {
            // Printed at the start: a test that hangs or aborts never drops.
            let open = match &db.url {
                DatabaseUrl::Sqlite(path) => format!("sqlite3 {}", path.display()),
                DatabaseUrl::Postgres(url) => format!("psql '{url}'"),
            };
            eprintln!(
                "{KEEP_DB_ENV}: this test's database is kept, open it with: {open} \
                 (scratch directory, with the server's data dir: {})",
                db.dir().display()
            );
        }
        db
    }

    fn create(backend: Backend, dir: tempfile::TempDir, keep: bool) -> Self {
        match backend {
            Backend::Sqlite => Self {
                url: DatabaseUrl::sqlite_file(&dir.path().join("test.sqlite3")),
                pg: None,
                dir,
                keep,
            },
            Backend::Postgres => {
                let admin = std::env::var("DESKBIND_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| DEFAULT_ADMIN_URL.to_owned());
                let name = format!("deskbind_test_{}", uuid::Uuid::now_v7().simple());
                let mut conn = PgConnection::establish(&admin).unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for this test but {admin} is unreachable: {e}. \
                         Start it (see README) or point DESKBIND_TEST_POSTGRES_URL at a server."
                    )
                });
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
                let url = with_database(&admin, &name);
                Self {
                    url: DatabaseUrl::Postgres(url),
                    pg: Some((admin, name)),
                    dir,
                    keep,
                }
            }
        }
    }

    /// A scratch directory that lives as long as the database.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        if let Some((admin, name)) = &self.pg
            && let Ok(mut conn) = PgConnection::establish(admin)
            && let Err(e) =
                conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        {
            eprintln!("warning: could not drop test database {name}: {e}");
        }
    }
}

fn keep_db() -> bool {
    matches!(
        std::env::var(KEEP_DB_ENV).as_deref().map(str::trim),
        Ok("1" | "true" | "yes" | "on")
    )
}

/// `url` with its database path replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) => {
            parsed.set_path(&format!("/{name}"));
            parsed.to_string()
        }
        Err(e) => panic!("DESKBIND_TEST_POSTGRES_URL is not a URL: {e}"),
    }
}
