//! Everything that differs between SQLite and PostgreSQL, in one place.
//! Repositories, use cases, benchmarks and test fixtures call these
//! functions instead of matching on [`DbConn`] themselves; a new difference
//! is added here, with a line saying why the two backends need different
//! SQL.

#[allow(unused_imports)]
use super::DbConn;
