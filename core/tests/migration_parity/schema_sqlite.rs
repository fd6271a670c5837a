//! The schema of a SQLite database, from sqlite_master and the table-valued
//! pragmas (table_info, index_list, index_info, foreign_key_list).

use deskbind_core::db::DbConn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::{Schema, column_line, foreign_key_line, index_line, list, mapped_type};

/// Ordinary tables: not SQLite's own, not diesel's, and not a full-text
/// index (an FTS5 virtual table and its `<name>_*` shadow tables), which
/// [`fulltext_indexes`] describes in one line instead.
const OWN_TABLES: &str = "m.type = 'table' AND m.name NOT LIKE 'sqlite_%' \
                          AND m.name <> '__diesel_schema_migrations' \
                          AND m.sql NOT LIKE 'CREATE VIRTUAL TABLE%' \
                          AND NOT EXISTS (SELECT 1 FROM sqlite_master v \
                                WHERE v.sql LIKE 'CREATE VIRTUAL TABLE%' \
                                  AND m.name LIKE v.name || '\\_%' ESCAPE '\\')";

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    sql: String,
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    declared: String,
    #[diesel(sql_type = Bool)]
    not_null: bool,
    #[diesel(sql_type = Nullable<Text>)]
    default_value: Option<String>,
    /// Position in the primary key, 1-based; 0 when not part of it.
    #[diesel(sql_type = BigInt)]
    pk: i64,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    /// `c` made by CREATE INDEX, `u` by a UNIQUE constraint, `pk` by the
    /// primary key.
    #[diesel(sql_type = Text)]
    origin: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    sql: Option<String>,
}

#[derive(QueryableByName)]
struct ForeignKey {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    target: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Text)]
    target_columns: String,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

pub fn schema(conn: &mut DbConn) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<Table> = diesel::sql_query(format!(
        "SELECT m.name, m.sql FROM sqlite_master m WHERE {OWN_TABLES}"
    ))
    .load(conn)
    .expect("sqlite tables");
    for t in &tables {
        schema.insert(format!("table {}", t.name));
        schema.insert(format!("checks {} {}", t.name, check_count(&t.sql)));
    }

    let columns: Vec<Column> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, p.name, p.type AS declared, p.\"notnull\" AS not_null, \
                p.dflt_value AS default_value, p.pk \
           FROM sqlite_master m JOIN pragma_table_info(m.name) p \
          WHERE {OWN_TABLES} ORDER BY m.name, p.pk"
    ))
    .load(conn)
    .expect("sqlite columns");
    for c in &columns {
        let table_sql = tables
            .iter()
            .find(|t| t.name == c.table_name)
            .map_or("", |t| t.sql.as_str());
        let sole_pk = c.pk == 1
            && !columns
                .iter()
                .any(|o| o.table_name == c.table_name && o.pk > 1);
        // An INTEGER PRIMARY KEY is the 64-bit rowid, whatever "INTEGER"
        // means elsewhere; with AUTOINCREMENT it is generated, as an
        // identity column is on PostgreSQL.
        let rowid = sole_pk && c.declared.eq_ignore_ascii_case("integer");
        let mapped = if rowid {
            "int64".to_owned()
        } else {
            mapped_type(&c.declared)
        };
        let generated = rowid && table_sql.to_ascii_uppercase().contains("AUTOINCREMENT");
        // SQLite lets a non-INTEGER primary key hold NULL (a legacy quirk it
        // keeps for compatibility); the application never writes one, so a
        // primary key column counts as NOT NULL, as on PostgreSQL.
        let not_null = c.not_null || c.pk > 0;
        schema.insert(column_line(
            &c.table_name,
            &c.name,
            &mapped,
            not_null,
            c.default_value.as_deref(),
            generated,
        ));
    }
    for t in &tables {
        let pk: Vec<&str> = columns
            .iter()
            .filter(|c| c.table_name == t.name && c.pk > 0)
            .map(|c| c.name.as_str())
            .collect();
        if !pk.is_empty() {
            schema.insert(format!("primary key {} ({})", t.name, pk.join(", ")));
        }
    }

    let indexes: Vec<Index> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, il.name, il.\"unique\" AS is_unique, il.origin, \
                (SELECT group_concat(ii.name, ',') \
                   FROM (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) ii) AS columns, \
                s.sql \
           FROM sqlite_master m JOIN pragma_index_list(m.name) il \
           LEFT JOIN sqlite_master s ON s.type = 'index' AND s.name = il.name \
          WHERE {OWN_TABLES}"
    ))
    .load(conn)
    .expect("sqlite indexes");
    for i in &indexes {
        match i.origin.as_str() {
            "pk" => {} // the primary key line says it
            "u" => {
                schema.insert(format!("unique {} ({})", i.table_name, list(&i.columns)));
            }
            _ => {
                let predicate = i.sql.as_deref().and_then(partial_predicate);
                schema.insert(index_line(
                    &i.table_name,
                    &i.name,
                    &i.columns,
                    i.is_unique,
                    predicate,
                ));
            }
        }
    }

    let foreign_keys: Vec<ForeignKey> = diesel::sql_query(format!(
        "SELECT m.name AS table_name, f.\"table\" AS target, \
                group_concat(f.\"from\", ',') AS columns, group_concat(f.\"to\", ',') AS target_columns, \
                f.on_delete \
           FROM sqlite_master m JOIN pragma_foreign_key_list(m.name) f \
          WHERE {OWN_TABLES} GROUP BY m.name, f.id"
    ))
    .load(conn)
    .expect("sqlite foreign keys");
    for f in &foreign_keys {
        schema.insert(foreign_key_line(
            &f.table_name,
            &f.columns,
            &f.target,
            &f.target_columns,
            &f.on_delete,
        ));
    }
    fulltext_indexes(conn, &mut schema);
    schema
}

#[derive(QueryableByName)]
struct FulltextColumn {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
}

/// `fulltext index <name> (<columns>)` for each FTS5 table: PostgreSQL has
/// no such table (it indexes the column itself), so the line only has to
/// name what exists for KNOWN_DIFFERENCES to list it.
fn fulltext_indexes(conn: &mut DbConn, schema: &mut Schema) {
    let columns: Vec<FulltextColumn> = diesel::sql_query(
        "SELECT m.name AS table_name, p.name \
           FROM sqlite_master m JOIN pragma_table_info(m.name) p \
          WHERE m.type = 'table' AND m.sql LIKE 'CREATE VIRTUAL TABLE%' ORDER BY m.name, p.cid",
    )
    .load(conn)
    .expect("sqlite full-text indexes");
    let mut tables: Vec<&str> = columns.iter().map(|c| c.table_name.as_str()).collect();
    tables.dedup();
    for table in tables {
        let names: Vec<&str> = columns
            .iter()
            .filter(|c| c.table_name == table)
            .map(|c| c.name.as_str())
            .collect();
        schema.insert(format!("fulltext index {table} ({})", names.join(", ")));
    }
}

/// The `WHERE` of a partial index's CREATE INDEX statement.
fn partial_predicate(create_index: &str) -> Option<&str> {
    let upper = create_index.to_ascii_uppercase();
    upper.find(" WHERE ").map(|at| &create_index[at + 7..])
}

/// CHECK constraints in a CREATE TABLE statement (SQLite keeps them only in
/// its text); comments are skipped.
fn check_count(create_table: &str) -> usize {
    create_table
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .flat_map(|l| l.split(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
        .filter(|word| word.eq_ignore_ascii_case("check"))
        .count()
}
