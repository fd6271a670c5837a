#![allow(clippy::expect_used, clippy::unwrap_used)]
//! Migrations: identical names per backend, and up → down → up leaves the
//! same schema. Runs on the backend chosen by DESKBIND_TEST_BACKEND.

use deskbind_core::db::{self, Backend, Database, DbConn};
use deskbind_core::testing::TestDb;
use diesel::prelude::*;
use diesel::sql_types::Text;

#[derive(QueryableByName)]
struct SchemaLine {
    #[diesel(sql_type = Text)]
    line: String,
}

const SQLITE_SCHEMA: &str = "SELECT type || ' ' || name || ' ' || coalesce(sql, '') AS line FROM sqlite_master \
     WHERE name NOT LIKE 'sqlite_%' AND tbl_name <> '__diesel_schema_migrations' ORDER BY 1";

const POSTGRES_SCHEMA: &str = "\
    SELECT 'col ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' \
        || coalesce(column_default, '') AS line \
      FROM information_schema.columns \
     WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations' \
    UNION ALL \
    SELECT 'idx ' || indexname || ' ' || indexdef FROM pg_indexes \
     WHERE schemaname = 'public' AND tablename <> '__diesel_schema_migrations' \
    UNION ALL \
    SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) \
      FROM pg_constraint \
     WHERE connamespace = 'public'::regnamespace AND conrelid::regclass::text <> '__diesel_schema_migrations' \
    ORDER BY 1";

fn schema(conn: &mut DbConn, backend: Backend) -> Vec<String> {
    let query = match backend {
        Backend::Sqlite => SQLITE_SCHEMA,
        Backend::Postgres => POSTGRES_SCHEMA,
    };
    diesel::sql_query(query)
        .load::<SchemaLine>(conn)
        .expect("schema query")
        .into_iter()
        .map(|l| l.line)
        .collect()
}

#[test]
fn up_down_up_leaves_the_same_schema() {
    let test_db = TestDb::new();
    let database = Database::connect(&test_db.url, 1).expect("connect");
    let backend = database.backend();
    let mut conn = database.get().expect("connection");

    let applied = db::run_pending(&mut conn).expect("first up");
    assert!(!applied.is_empty(), "no migrations were applied");
    let first = schema(&mut conn, backend);
    assert!(
        first.iter().any(|l| l.contains("users")),
        "schema dump looks empty: {first:?}"
    );

    let reverted = db::revert_all(&mut conn).expect("down");
    assert_eq!(reverted.len(), applied.len(), "every migration must revert");
    assert_eq!(
        schema(&mut conn, backend),
        Vec::<String>::new(),
        "down must remove everything up created"
    );

    db::run_pending(&mut conn).expect("second up");
    assert_eq!(
        schema(&mut conn, backend),
        first,
        "up after down must rebuild the same schema"
    );
    assert_eq!(
        db::applied_migrations(&mut conn).expect("applied").len(),
        applied.len()
    );
}

#[test]
fn both_backends_have_the_same_migration_names() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let names = |dir: &str| {
        let mut v: Vec<String> = std::fs::read_dir(root.join(dir))
            .expect("migrations dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let sqlite = names("sqlite");
    assert!(!sqlite.is_empty());
    assert_eq!(sqlite, names("postgres"));
}
