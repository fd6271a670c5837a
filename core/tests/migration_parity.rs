#![allow(clippy::expect_used, clippy::unwrap_used)]
//! The SQLite and PostgreSQL migrations build the same schema: tables,
//! columns (name, mapped type, nullability, default), primary keys, unique
//! constraints, indexes (columns, uniqueness, partial predicate), foreign
//! keys and the number of CHECK constraints per table. Only the differences
//! listed in [`KNOWN_DIFFERENCES`] are allowed, each with its reason; a listed
//! difference that no longer occurs fails the test too, so the list stays
//! true. Each backend's schema also survives up → down → up unchanged.
//!
//! Runs on both backends whatever DESKBIND_TEST_BACKEND says, so PostgreSQL
//! (DESKBIND_TEST_POSTGRES_URL) must be reachable.

use std::collections::BTreeSet;

use deskbind_core::db::{self, Backend, Database, DbConn};
use deskbind_core::testing::TestDb;

#[path = "migration_parity/schema_postgres.rs"]
mod schema_postgres;
#[path = "migration_parity/schema_sqlite.rs"]
mod schema_sqlite;

/// Differences the two migration sets are allowed to have: (the line only
/// one backend shows, the backend that shows it, why).
const KNOWN_DIFFERENCES: &[(&str, Backend, &str)] = &[
    // recordings.uploaded_by and recording_uploads.user_id referenced users
    // on PostgreSQL only until 2026-12-02-000011 rebuilt the two SQLite
    // tables with the same foreign keys.
    (
        "fulltext index call_number_search (remote_digits)",
        Backend::Sqlite,
        "number search (decision 0014): SQLite's trigram index over \
         call_records.remote_digits is an FTS5 table kept by triggers",
    ),
    (
        "index call_records call_records_digits_trgm_idx (remote_digits)",
        Backend::Postgres,
        "number search (decision 0014): PostgreSQL's trigram index over \
         call_records.remote_digits is a pg_trgm GIN index on the column",
    ),
];

/// One schema, as sorted lines in a form both backends are mapped to:
/// `table t`, `column t.c <type> [not null] [default d] [generated]`,
/// `primary key t (a, b)`, `unique t (a)`, `index t name (a, b) [unique]
/// [where p]`, `foreign key t (a) -> r (b) on delete <action>`,
/// `checks t <n>`.
type Schema = BTreeSet<String>;

/// The SQL types both backends' columns map to. SQLite's declared types are
/// free text; these are the ones the migrations use.
fn mapped_type(declared: &str) -> String {
    match declared.to_ascii_lowercase().as_str() {
        "bigint" | "int8" => "int64".into(),
        "integer" | "int" | "int4" => "int32".into(),
        "smallint" | "int2" => "int16".into(),
        "text" | "character varying" | "varchar" => "text".into(),
        "boolean" | "bool" => "bool".into(),
        "bytea" | "blob" => "bytes".into(),
        "double precision" | "real" | "float8" => "float64".into(),
        other => format!("unmapped type {other}"),
    }
}

/// A default or partial-index predicate with the spelling each backend adds
/// removed: PostgreSQL's casts (`'x'::text`) and wrapping parentheses.
fn normalized_expression(expr: &str) -> String {
    let mut s = expr.trim().to_owned();
    for cast in ["::text", "::bigint", "::integer", "::character varying"] {
        s = s.replace(cast, "");
    }
    while s.starts_with('(') && s.ends_with(')') && balanced(&s[1..s.len() - 1]) {
        s = s[1..s.len() - 1].trim().to_owned();
    }
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn balanced(s: &str) -> bool {
    let mut depth = 0_i32;
    for c in s.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ => {}
        }
        if depth < 0 {
            return false;
        }
    }
    depth == 0
}

fn column_line(
    table: &str,
    column: &str,
    mapped: &str,
    not_null: bool,
    default: Option<&str>,
    generated: bool,
) -> String {
    let mut line = format!("column {table}.{column} {mapped}");
    if not_null {
        line.push_str(" not null");
    }
    if let Some(d) = default {
        line.push_str(&format!(" default {}", normalized_expression(d)));
    }
    if generated {
        line.push_str(" generated");
    }
    line
}

fn index_line(
    table: &str,
    name: &str,
    columns: &str,
    unique: bool,
    predicate: Option<&str>,
) -> String {
    let mut line = format!("index {table} {name} ({})", list(columns));
    if unique {
        line.push_str(" unique");
    }
    if let Some(p) = predicate {
        line.push_str(&format!(" where {}", normalized_expression(p)));
    }
    line
}

fn foreign_key_line(
    table: &str,
    columns: &str,
    target: &str,
    target_columns: &str,
    on_delete: &str,
) -> String {
    format!(
        "foreign key {table} ({}) -> {target} ({}) on delete {}",
        list(columns),
        list(target_columns),
        on_delete.to_lowercase()
    )
}

/// `a,b` as `a, b`.
fn list(comma_separated: &str) -> String {
    comma_separated
        .split(',')
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(", ")
}

fn migrated(backend: Backend) -> (TestDb, Database) {
    let test_db = TestDb::on(backend);
    let database = Database::connect(&test_db.url, 1).expect("connect");
    assert_eq!(database.backend(), backend);
    (test_db, database)
}

fn schema_of(conn: &mut DbConn, backend: Backend) -> Schema {
    match backend {
        Backend::Sqlite => schema_sqlite::schema(conn),
        Backend::Postgres => schema_postgres::schema(conn),
    }
}

/// Migrates up, down and up again; returns the schema after the first up and
/// checks the second up rebuilt exactly that.
fn up_down_up(backend: Backend) -> Schema {
    let (_db, database) = migrated(backend);
    let mut conn = database.get().expect("connection");
    let applied = db::run_pending(&mut conn).expect("first up");
    assert!(!applied.is_empty(), "no migrations were applied");
    let first = schema_of(&mut conn, backend);
    assert!(
        first.contains("table users"),
        "{backend:?} schema looks empty: {first:#?}"
    );

    let reverted = db::revert_all(&mut conn).expect("down");
    assert_eq!(reverted.len(), applied.len(), "every migration must revert");
    assert_eq!(
        schema_of(&mut conn, backend),
        Schema::new(),
        "{backend:?}: down must remove everything up created"
    );

    db::run_pending(&mut conn).expect("second up");
    let second = schema_of(&mut conn, backend);
    assert_eq!(
        second.symmetric_difference(&first).collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "{backend:?}: up after down must rebuild the same schema"
    );
    first
}

#[test]
fn sqlite_and_postgres_migrations_build_the_same_schema() {
    let sqlite = up_down_up(Backend::Sqlite);
    let postgres = up_down_up(Backend::Postgres);

    let only = |a: &Schema, b: &Schema, backend: Backend| -> Vec<(String, Backend)> {
        a.difference(b).map(|l| (l.clone(), backend)).collect()
    };
    let mut differences = only(&sqlite, &postgres, Backend::Sqlite);
    differences.extend(only(&postgres, &sqlite, Backend::Postgres));

    let allowed = |d: &(String, Backend)| {
        KNOWN_DIFFERENCES
            .iter()
            .any(|(line, backend, _)| *line == d.0 && *backend == d.1)
    };
    let unexpected: Vec<String> = differences
        .iter()
        .filter(|d| !allowed(d))
        .map(|(line, backend)| format!("only on {}: {line}", backend.name()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "the migrations of the two backends differ (fix them with a new migration pair, \
         or list the difference in KNOWN_DIFFERENCES with its reason):\n{}",
        unexpected.join("\n")
    );

    let stale: Vec<&str> = KNOWN_DIFFERENCES
        .iter()
        .filter(|(line, backend, _)| !differences.contains(&((*line).to_owned(), *backend)))
        .map(|(line, _, _)| *line)
        .collect();
    assert!(
        stale.is_empty(),
        "KNOWN_DIFFERENCES lists differences that no longer exist; remove them: {stale:#?}"
    );
}
