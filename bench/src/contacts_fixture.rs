//! The contacts benchmark's fixture: `--scale` × 1,000,000 contacts with
//! 1–3 numbers each and `--scale` × 10,000,000 call records, generated in
//! SQL (`generate_series` on PostgreSQL, a recursive CTE on SQLite) so a
//! full-scale build takes minutes, not hours. It is kept (a SQLite file in
//! `--fixture-dir`, a `deskbind_bench_contacts_<scale>` PostgreSQL database)
//! and reused by later runs at the same scale; a marker row written last
//! says the build finished.
//!
//! Numbers are German mobiles `+49151` + 8 digits of an index `k`:
//! contact `g` owns `k = 3g .. 3g + g % 3`; numbers from `no_contact_base`
//! on belong to nobody. Calls: the first `hot_calls` go to 20 hot numbers
//! in turn (0–9 owned by contacts 0–9, 10–19 by nobody; on the even ones
//! user 2, the salesperson the bench signs in as, never called); of the
//! rest 80 % go to a random contact number, 20 % to a random number
//! without a contact. Users take turns (user `k` at phone `k`).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use deskbind_core::auth::passwords;
use deskbind_core::db::schema::{sync_counters, users};
use deskbind_core::db::{Database, DatabaseUrl, DbConn};
use deskbind_core::ids::{OrgId, TeamId, UserId};
use deskbind_core::repo::teams;
use deskbind_core::time::{Micros, now_micros};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::records_fixture::{self, DbKind, Fixture};

/// Contacts and call records at `--scale 1`.
pub const FULL_CONTACTS: u64 = 1_000_000;
pub const FULL_CALLS: u64 = 10_000_000;
/// Hot numbers and the most calls each gets.
pub const HOT_NUMBERS: u64 = 20;
pub const HOT_CALLS_EACH: u64 = 10_000;
/// Users (one admin, a manager per ten, salespeople) and phones.
pub const USERS: usize = 50;
/// Signs in the admin, the manager (user 1, team of users 1–10) and the
/// salesperson (user 2).
pub const PASSWORD: &str = "bench-password-123";
/// Rows per generated INSERT statement (one transaction each).
const CHUNK: u64 = 500_000;

/// What a built fixture holds; stored as JSON in `bench_contacts_fixture`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ContactsFixture {
    pub org: OrgId,
    pub admin_email: String,
    pub manager_email: String,
    pub salesperson_email: String,
    pub team: TeamId,
    pub contacts: u64,
    pub contact_numbers: u64,
    pub calls: u64,
    pub hot_calls: u64,
    pub no_contact_base: u64,
    pub no_contact_count: u64,
    /// Seconds the build took, per part.
    pub build_secs: BuildTimes,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BuildTimes {
    pub contacts: f64,
    pub calls: f64,
    pub indexes: f64,
    pub analyze: f64,
}

/// The fixture's number `k` in E.164 (a valid German mobile number).
pub fn number(k: u64) -> String {
    format!("+49151{k:08}")
}

impl ContactsFixture {
    /// Hot number `h` (0–19).
    pub fn hot_number(&self, h: u64) -> u64 {
        if h < HOT_NUMBERS / 2 {
            3 * h
        } else {
            self.no_contact_base + h
        }
    }

    /// A random number some contact owns.
    pub fn contact_number(&self, rng: &mut fastrand::Rng) -> u64 {
        let g = rng.u64(HOT_NUMBERS..self.contacts);
        3 * g + rng.u64(0..=g % 3)
    }

    /// A random number nobody owns (and not a hot one).
    pub fn stray_number(&self, rng: &mut fastrand::Rng) -> u64 {
        self.no_contact_base + rng.u64(HOT_NUMBERS..self.no_contact_count)
    }

    /// The first number no fixture row uses: imports take theirs from here.
    pub fn free_numbers_from(&self) -> u64 {
        self.no_contact_base + self.no_contact_count
    }
}

/// Where a fixture of `scale` lives.
#[derive(Debug, Clone)]
pub struct Location {
    pub kind: DbKind,
    pub url: DatabaseUrl,
    sqlite_path: Option<PathBuf>,
    pg: Option<(String, String)>,
}

/// `0.1` → `0_1`, for file and database names.
fn scale_tag(scale: f64) -> String {
    format!("{scale}").replace(['.', '-'], "_")
}

impl Location {
    pub fn new(
        kind: DbKind,
        scale: f64,
        dir: &Path,
        postgres_admin_url: &str,
    ) -> anyhow::Result<Self> {
        let tag = scale_tag(scale);
        Ok(match kind {
            DbKind::Sqlite => {
                let path = dir.join(format!("contacts-{tag}.sqlite3"));
                Self {
                    kind,
                    url: DatabaseUrl::sqlite_file(&path),
                    sqlite_path: Some(path),
                    pg: None,
                }
            }
            DbKind::Postgres => {
                let name = format!("deskbind_bench_contacts_{tag}");
                Self {
                    kind,
                    url: DatabaseUrl::Postgres(records_fixture::url_with_database(
                        postgres_admin_url,
                        &name,
                    )?),
                    sqlite_path: None,
                    pg: Some((postgres_admin_url.to_owned(), name)),
                }
            }
        })
    }

    pub fn describe(&self) -> String {
        match (&self.sqlite_path, &self.pg) {
            (Some(path), _) => format!("SQLite file {}", path.display()),
            (None, Some((_, name))) => format!("PostgreSQL database {name}"),
            (None, None) => self.url.redacted(),
        }
    }

    /// Removes the database (and creates an empty PostgreSQL one).
    pub fn reset(&self) -> anyhow::Result<()> {
        if let Some(path) = &self.sqlite_path {
            for suffix in ["", "-wal", "-shm"] {
                let file = PathBuf::from(format!("{}{suffix}", path.display()));
                if file.exists() {
                    std::fs::remove_file(&file)
                        .with_context(|| format!("remove {}", file.display()))?;
                }
            }
        }
        if let Some((admin, name)) = &self.pg {
            let mut admin = diesel::PgConnection::establish(admin)
                .with_context(|| format!("cannot connect to {admin}"))?;
            // Two calls: in one string they would run as one transaction.
            admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
            admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
        }
        Ok(())
    }

    /// Whether the PostgreSQL database exists (SQLite: the file).
    pub fn exists(&self) -> anyhow::Result<bool> {
        if let Some(path) = &self.sqlite_path {
            return Ok(path.exists());
        }
        let Some((admin, name)) = &self.pg else {
            return Ok(false);
        };
        let mut admin = diesel::PgConnection::establish(admin)
            .with_context(|| format!("cannot connect to {admin}"))?;
        let found: i64 = diesel::sql_query(format!(
            "SELECT count(*) AS n FROM pg_database WHERE datname = '{name}'"
        ))
        .get_result::<Count>(&mut admin)?
        .n;
        Ok(found > 0)
    }
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[derive(QueryableByName)]
struct Text2 {
    #[diesel(sql_type = diesel::sql_types::Text)]
    a: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    b: String,
}

/// The stored fixture, if a finished one is there.
pub fn load(conn: &mut DbConn) -> anyhow::Result<Option<ContactsFixture>> {
    conn.batch_execute(
        "CREATE TABLE IF NOT EXISTS bench_contacts_fixture (a TEXT PRIMARY KEY, b TEXT NOT NULL)",
    )?;
    let rows: Vec<Text2> =
        diesel::sql_query("SELECT a, b FROM bench_contacts_fixture WHERE a = 'fixture'")
            .load(conn)?;
    match rows.first() {
        Some(row) => Ok(Some(serde_json::from_str(&row.b)?)),
        None => Ok(None),
    }
}

/// Builds the fixture in a fresh, empty database.
pub fn build(db: &Database, kind: DbKind, scale: f64) -> anyhow::Result<ContactsFixture> {
    let scaled = |n: u64| ((n as f64 * scale).round() as u64).max(100);
    let contacts = scaled(FULL_CONTACTS);
    let calls = scaled(FULL_CALLS);
    let hot_calls = (calls / 5).min(HOT_NUMBERS * HOT_CALLS_EACH);
    let no_contact_base = 3 * contacts;
    let no_contact_count = (contacts / 2).max(HOT_NUMBERS * 2);
    if number(no_contact_base + no_contact_count + 10 * 100_000).len() != 14 {
        bail!("--scale {scale} is too large for 8-digit numbers");
    }
    let base = Fixture::create(db, USERS, USERS, 24 * 7, None, None)?;
    let mut conn = db.get()?;
    let conn: &mut DbConn = &mut conn;
    let org = base.org;
    let hash = passwords::hash(PASSWORD).map_err(|e| anyhow::anyhow!("hash: {e:?}"))?;
    for id in &base.user_ids[0..3] {
        diesel::update(users::table.find(id))
            .set(users::password_hash.eq(&hash))
            .execute(conn)?;
    }
    let team = teams::insert(conn, org, "Bench team")?;
    let team: TeamId = team.id.parse()?;
    for id in &base.user_ids[1..=10] {
        let user: UserId = id.parse()?;
        teams::insert_membership(conn, org, team, user)?;
    }
    let sql = Sql { kind };
    conn.batch_execute("CREATE TABLE bench_people (k BIGINT PRIMARY KEY, user_id TEXT NOT NULL, phone_id TEXT NOT NULL)")?;
    let people: Vec<String> = base
        .user_ids
        .iter()
        .zip(&base.phone_ids)
        .enumerate()
        .map(|(k, (u, p))| format!("({k}, '{u}', '{p}')"))
        .collect();
    conn.batch_execute(&format!(
        "INSERT INTO bench_people (k, user_id, phone_id) VALUES {}",
        people.join(", ")
    ))?;
    let now = now_micros();

    let t = std::time::Instant::now();
    for (lo, hi) in chunks(contacts) {
        conn.transaction(|conn| {
            conn.batch_execute(&sql.contacts(org, lo, hi, now))?;
            conn.batch_execute(&sql.contact_numbers(org, lo, hi))
        })?;
        println!(
            "  contacts {hi}/{contacts} ({:.0} s)",
            t.elapsed().as_secs_f64()
        );
    }
    let contacts_secs = t.elapsed().as_secs_f64();

    let t = std::time::Instant::now();
    let saved = sql.drop_call_indexes(conn)?;
    let first_seq: i64 = sync_counters::table
        .find(org.to_string())
        .select(sync_counters::last_seq)
        .first::<i64>(conn)?
        + 1;
    let calls_sql = CallsSql {
        org,
        now,
        first_seq,
        contacts,
        hot_calls,
        no_contact_base,
        no_contact_count,
    };
    for (lo, hi) in chunks(calls) {
        conn.transaction(|conn| conn.batch_execute(&sql.calls(&calls_sql, lo, hi)))?;
        println!("  calls {hi}/{calls} ({:.0} s)", t.elapsed().as_secs_f64());
    }
    diesel::update(sync_counters::table.find(org.to_string()))
        .set(sync_counters::last_seq.eq(first_seq + i64::try_from(calls)? - 1))
        .execute(conn)?;
    let calls_secs = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    sql.restore_call_indexes(conn, &saved)?;
    let indexes_secs = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    conn.batch_execute("DROP TABLE bench_people; ANALYZE")?;
    let analyze_secs = t.elapsed().as_secs_f64();

    let contact_numbers: i64 = diesel::sql_query("SELECT count(*) AS n FROM contact_numbers")
        .get_result::<Count>(conn)?
        .n;
    let email = |u: usize| format!("user{u}@records-bench.example");
    let fixture = ContactsFixture {
        org,
        admin_email: email(0),
        manager_email: email(1),
        salesperson_email: email(2),
        team,
        contacts,
        contact_numbers: u64::try_from(contact_numbers)?,
        calls,
        hot_calls,
        no_contact_base,
        no_contact_count,
        build_secs: BuildTimes {
            contacts: contacts_secs,
            calls: calls_secs,
            indexes: indexes_secs,
            analyze: analyze_secs,
        },
    };
    let json = serde_json::to_string(&fixture)?.replace('\'', "''");
    conn.batch_execute(&format!(
        "CREATE TABLE IF NOT EXISTS bench_contacts_fixture (a TEXT PRIMARY KEY, b TEXT NOT NULL); \
         INSERT INTO bench_contacts_fixture (a, b) VALUES ('fixture', '{json}')"
    ))?;
    Ok(fixture)
}

/// `[lo, hi)` ranges of at most [`CHUNK`] covering `0..n`.
fn chunks(n: u64) -> Vec<(u64, u64)> {
    (0..n.div_ceil(CHUNK))
        .map(|c| (c * CHUNK, ((c + 1) * CHUNK).min(n)))
        .collect()
}

/// The numbers the calls use, and where the change numbers start.
struct CallsSql {
    org: OrgId,
    now: Micros,
    first_seq: i64,
    contacts: u64,
    hot_calls: u64,
    no_contact_base: u64,
    no_contact_count: u64,
}

/// The generating SQL, per database.
struct Sql {
    kind: DbKind,
}

/// An index or trigger to put back after the bulk insert.
struct Saved {
    name: String,
    sql: String,
}

impl Sql {
    /// `i` from `lo` to `hi - 1` as a row source named `s`, in a WITH.
    fn series(&self, lo: u64, hi: u64) -> String {
        match self.kind {
            DbKind::Postgres => {
                format!(
                    "s (i) AS (SELECT i::bigint FROM generate_series({lo}, {}) AS i)",
                    hi - 1
                )
            }
            DbKind::Sqlite => format!(
                "s (i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {})",
                hi - 1
            ),
        }
    }

    fn with(&self) -> &'static str {
        match self.kind {
            DbKind::Postgres => "WITH",
            DbKind::Sqlite => "WITH RECURSIVE",
        }
    }

    /// `expr` (an integer) as 8 digits.
    fn digits8(&self, expr: &str) -> String {
        match self.kind {
            DbKind::Postgres => format!("lpad(({expr})::text, 8, '0')"),
            DbKind::Sqlite => format!("printf('%08d', {expr})"),
        }
    }

    /// A UUID-shaped id from a kind tag and an integer.
    fn uuid(&self, tag: u32, expr: &str) -> String {
        match self.kind {
            DbKind::Postgres => {
                format!("'{tag:08x}-0000-4000-8000-' || lpad(to_hex({expr}), 12, '0')")
            }
            DbKind::Sqlite => format!("printf('{tag:08x}-0000-4000-8000-%012x', {expr})"),
        }
    }

    fn contacts(&self, org: OrgId, lo: u64, hi: u64, now: Micros) -> String {
        format!(
            "{with} {series}
             INSERT INTO contacts (id, org_id, name, company, notes, email, tags, external_id,
                 owner_id, custom_fields, source, score, search_text, created_at, updated_at)
             SELECT {id}, '{org}', 'Contact ' || i, 'Company ' || (i % 10007), NULL, NULL,
                 '[\"bench\"]', 'crm-' || i, NULL, '{{}}', 'import', i % 100,
                 'contact ' || i || ' company ' || (i % 10007), {now}, {now}
             FROM s",
            with = self.with(),
            series = self.series(lo, hi),
            id = self.uuid(1, "i"),
        )
    }

    fn contact_numbers(&self, org: OrgId, lo: u64, hi: u64) -> String {
        let k = "3 * i + j";
        format!(
            "{with} {series}, js (j) AS (SELECT 0 UNION ALL SELECT 1 UNION ALL SELECT 2)
             INSERT INTO contact_numbers (org_id, e164, contact_id, raw, digits, position)
             SELECT '{org}', '+49151' || {d}, {id}, '+49151' || {d}, '49151' || {d}, j
             FROM s JOIN js ON js.j <= s.i % 3",
            with = self.with(),
            series = self.series(lo, hi),
            d = self.digits8(k),
            id = self.uuid(1, "i"),
        )
    }

    fn calls(&self, c: &CallsSql, lo: u64, hi: u64) -> String {
        let CallsSql {
            org,
            now,
            first_seq,
            contacts,

            hot_calls,
            no_contact_base,
            no_contact_count,
        } = c;
        let half = HOT_NUMBERS / 2;
        let span: i64 = 365 * 24 * 3600 * 1_000_000;
        let end = now - 60_000_000;
        let stray = no_contact_count.saturating_sub(HOT_NUMBERS).max(1);
        let d = self.digits8("b.k");
        format!(
            "{with} {series},
             a AS (SELECT i, i % {HOT_NUMBERS} AS h, (i * 2654435761) % {contacts} AS g,
                          (i / {HOT_NUMBERS}) % {others} AS kk FROM s),
             b AS (SELECT i, g,
                CASE WHEN i < {hot_calls} THEN
                        CASE WHEN h < {half} THEN 3 * h ELSE {no_contact_base} + h END
                     WHEN (i * 7) % 10 < 8 THEN 3 * g + (i / 7) % (1 + g % 3)
                     ELSE {no_contact_base} + {HOT_NUMBERS} + (i * 40503) % {stray} END AS k,
                CASE WHEN i < {hot_calls} AND h % 2 = 0
                     THEN kk + CASE WHEN kk >= 2 THEN 1 ELSE 0 END
                     WHEN i < {hot_calls} THEN (i / {HOT_NUMBERS}) % {USERS}
                     ELSE (i * 31) % {USERS} END AS uk,
                {end} - (i * 2654435761 + 12345) % {span} AS at
                FROM a)
             INSERT INTO call_records (id, org_id, phone_id, call_id, user_id, dial_id, direction,
                 local_number, local_e164, remote_number, remote_e164, started_at, answered_at,
                 ended_at, duration_secs, result, recording_id, phone_reported_at,
                 app_reported_at, created_at, updated_at, sync_seq, remote_digits, blocked)
             SELECT {id}, '{org}', p.phone_id, 'bench-' || b.i, p.user_id, NULL,
                 CASE b.i % 3 WHEN 0 THEN 'outbound' WHEN 1 THEN 'inbound' ELSE 'missed' END,
                 NULL, NULL, '+49151' || {d}, '+49151' || {d}, b.at,
                 CASE WHEN b.i % 3 < 2 THEN b.at + 5000000 END, b.at + 65000000,
                 CASE WHEN b.i % 3 < 2 THEN 60 END,
                 CASE WHEN b.i % 3 < 2 THEN 'answered' ELSE 'no_answer' END, NULL,
                 {now}, NULL, {now}, {now}, {first_seq} + b.i, '49151' || {d}, FALSE
             FROM b JOIN bench_people p ON p.k = b.uk",
            with = self.with(),
            series = self.series(lo, hi),
            others = USERS - 1,
            id = self.uuid(2, "b.i"),
        )
    }

    /// Drops call_records' secondary indexes (and, on SQLite, its triggers)
    /// so the bulk insert does not maintain them row by row.
    fn drop_call_indexes(&self, conn: &mut DbConn) -> anyhow::Result<Vec<Saved>> {
        let query = match self.kind {
            DbKind::Postgres => {
                "SELECT indexname AS a, indexdef AS b FROM pg_indexes
                 WHERE schemaname = current_schema() AND tablename = 'call_records'
                   AND indexname <> 'call_records_pkey'"
            }
            DbKind::Sqlite => {
                "SELECT type || ' ' || name AS a, sql AS b FROM sqlite_master
                 WHERE tbl_name = 'call_records' AND type IN ('index', 'trigger')
                   AND sql IS NOT NULL"
            }
        };
        let rows: Vec<Text2> = diesel::sql_query(query).load(conn)?;
        let saved: Vec<Saved> = rows
            .into_iter()
            .map(|r| Saved {
                name: r.a,
                sql: r.b,
            })
            .collect();
        for s in &saved {
            let drop = match self.kind {
                DbKind::Postgres => format!("DROP INDEX {}", s.name),
                DbKind::Sqlite => format!("DROP {}", s.name),
            };
            conn.batch_execute(&drop)?;
        }
        Ok(saved)
    }

    fn restore_call_indexes(&self, conn: &mut DbConn, saved: &[Saved]) -> anyhow::Result<()> {
        for s in saved {
            let t = std::time::Instant::now();
            conn.batch_execute(&s.sql)?;
            println!("  {} ({:.0} s)", s.name, t.elapsed().as_secs_f64());
        }
        if self.kind == DbKind::Sqlite {
            let t = std::time::Instant::now();
            conn.batch_execute(
                "INSERT INTO call_number_search (call_number_search) VALUES ('rebuild')",
            )?;
            println!(
                "  call_number_search rebuild ({:.0} s)",
                t.elapsed().as_secs_f64()
            );
        }
        Ok(())
    }
}
