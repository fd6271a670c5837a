//! The schema of a PostgreSQL database's `public` schema, from
//! information_schema.columns, pg_index and pg_constraint.

use deskbind_core::db::DbConn;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Bool, Nullable, Text};

use super::{Schema, column_line, foreign_key_line, index_line, list, mapped_type};

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
    #[diesel(sql_type = Bool)]
    identity: bool,
}

#[derive(QueryableByName)]
struct Index {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    /// The index exists because of a PRIMARY KEY or UNIQUE constraint (the
    /// constraint's line says it).
    #[diesel(sql_type = Bool)]
    backs_constraint: bool,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
}

#[derive(QueryableByName)]
struct Constraint {
    #[diesel(sql_type = Text)]
    table_name: String,
    /// `p` primary key, `u` unique, `f` foreign key, `c` check.
    #[diesel(sql_type = Text)]
    kind: String,
    #[diesel(sql_type = Text)]
    columns: String,
    #[diesel(sql_type = Nullable<Text>)]
    target: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_columns: Option<String>,
    #[diesel(sql_type = Text)]
    on_delete: String,
}

#[derive(QueryableByName)]
struct Table {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = BigInt)]
    checks: i64,
}

/// Column names of `attnums` (an int2[] expression) in relation `relid`, in
/// key order.
fn names(attnums: &str, relid: &str) -> String {
    format!(
        "(SELECT string_agg(a.attname, ',' ORDER BY k.ord) \
            FROM unnest({attnums}) WITH ORDINALITY k(attnum, ord) \
            JOIN pg_attribute a ON a.attrelid = {relid} AND a.attnum = k.attnum)"
    )
}

pub fn schema(conn: &mut DbConn) -> Schema {
    let mut schema = Schema::new();
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT t.table_name::text AS name, \
                (SELECT count(*) FROM pg_constraint c \
                  WHERE c.conrelid = ('public.' || t.table_name)::regclass AND c.contype = 'c') AS checks \
           FROM information_schema.tables t \
          WHERE t.table_schema = 'public' AND t.table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("postgres tables");
    for t in &tables {
        schema.insert(format!("table {}", t.name));
        schema.insert(format!("checks {} {}", t.name, t.checks));
    }

    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text AS name, data_type::text AS declared, \
                is_nullable = 'NO' AS not_null, column_default::text AS default_value, \
                is_identity = 'YES' AS identity \
           FROM information_schema.columns \
          WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(conn)
    .expect("postgres columns");
    for c in &columns {
        schema.insert(column_line(
            &c.table_name,
            &c.name,
            &mapped_type(&c.declared),
            c.not_null,
            c.default_value.as_deref(),
            c.identity,
        ));
    }

    let indexes: Vec<Index> = diesel::sql_query(format!(
        "SELECT t.relname::text AS table_name, i.relname::text AS name, x.indisunique AS is_unique, \
                EXISTS (SELECT 1 FROM pg_constraint c \
                         WHERE c.conindid = x.indexrelid AND c.contype IN ('p', 'u')) AS backs_constraint, \
                {} AS columns, \
                pg_get_expr(x.indpred, x.indrelid) AS predicate \
           FROM pg_index x \
           JOIN pg_class i ON i.oid = x.indexrelid \
           JOIN pg_class t ON t.oid = x.indrelid \
          WHERE t.relnamespace = 'public'::regnamespace AND t.relname <> '__diesel_schema_migrations'",
        names("x.indkey::int2[]", "x.indrelid")
    ))
    .load(conn)
    .expect("postgres indexes");
    for i in indexes.iter().filter(|i| !i.backs_constraint) {
        schema.insert(index_line(
            &i.table_name,
            &i.name,
            &i.columns,
            i.is_unique,
            i.predicate.as_deref(),
        ));
    }

    let constraints: Vec<Constraint> = diesel::sql_query(format!(
        "SELECT c.conrelid::regclass::text AS table_name, c.contype::text AS kind, \
                {} AS columns, \
                CASE WHEN c.contype = 'f' THEN c.confrelid::regclass::text END AS target, \
                {} AS target_columns, \
                CASE c.confdeltype WHEN 'c' THEN 'cascade' WHEN 'n' THEN 'set null' \
                     WHEN 'd' THEN 'set default' WHEN 'r' THEN 'restrict' ELSE 'no action' END AS on_delete \
           FROM pg_constraint c \
          WHERE c.connamespace = 'public'::regnamespace AND c.contype IN ('p', 'u', 'f') \
            AND c.conrelid::regclass::text <> '__diesel_schema_migrations'",
        names("c.conkey", "c.conrelid"),
        names("c.confkey", "c.confrelid"),
    ))
    .load(conn)
    .expect("postgres constraints");
    for c in &constraints {
        match (c.kind.as_str(), &c.target, &c.target_columns) {
            ("p", _, _) => {
                schema.insert(format!(
                    "primary key {} ({})",
                    c.table_name,
                    list(&c.columns)
                ));
            }
            ("u", _, _) => {
                schema.insert(format!("unique {} ({})", c.table_name, list(&c.columns)));
            }
            ("f", Some(target), Some(target_columns)) => {
                schema.insert(foreign_key_line(
                    &c.table_name,
                    &c.columns,
                    target,
                    target_columns,
                    &c.on_delete,
                ));
            }
            other => panic!("unexpected constraint {other:?} on {}", c.table_name),
        }
    }
    schema
}
