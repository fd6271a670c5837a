//! The records benchmark's database and organisation: a fresh SQLite file
//! or PostgreSQL database, migrated, with one organisation, its users and
//! phones, and a binding history so every call resolves a holder; plus the
//! deterministic generator of the call records the phones upload.

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use deskbind_core::db::schema::{bindings, call_records, sync_counters};
use deskbind_core::db::{self, Database, DatabaseUrl, DbConn, DbManager, dialect};
use deskbind_core::domain::{Region, region_of};
use deskbind_core::ids::{BindingId, OrgId, PhoneId};
use deskbind_core::repo::bindings::BindingRow;
use deskbind_core::repo::call_records::CallRecordRow;
use deskbind_core::repo::phones::PhoneRow;
use deskbind_core::repo::users::UserRow;
use deskbind_core::repo::{phones, users};
use deskbind_core::time::{Micros, now_micros, seconds, to_datetime};
use deskbind_core::wire::{CallDirection, CallRecordUpload, CallResult};
use diesel::connection::SimpleConnection as _;
use diesel::prelude::*;

/// Where records start: one year before the run.
pub const SPAN_SECS: i64 = 365 * 24 * 3600;
/// Every phone's own number (Berlin); the extension tells them apart.
pub const PHONE_NUMBER: &str = "+4930901820";
/// Distinct remote parties the organisation talks to.
pub const CUSTOMERS: usize = 20_000;
/// The server's PostgreSQL tests use the same default (see core::testing).
pub const DEFAULT_POSTGRES_ADMIN_URL: &str =
    "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable";

/// Rows per multi-row INSERT of the bulk fill: 22 columns each stays below
/// both databases' limits on bound parameters (SQLite 32,766, PostgreSQL 65,535).
const FILL_CHUNK: usize = 1000;
/// INSERT statements per transaction of the bulk fill.
const FILL_CHUNKS_PER_TX: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

/// The database under test; a PostgreSQL database is dropped, and a SQLite
/// file's directory removed, when this goes out of scope (unless kept).
#[derive(Debug)]
pub struct BenchDb {
    pub url: DatabaseUrl,
    pub kind: DbKind,
    /// PostgreSQL: the admin URL and the database name, for the drop.
    pg: Option<(String, String)>,
    dir: Option<tempfile::TempDir>,
    keep: bool,
}

impl BenchDb {
    pub fn create(kind: DbKind, postgres_admin_url: &str, keep: bool) -> anyhow::Result<Self> {
        match kind {
            DbKind::Sqlite => {
                let dir = tempfile::Builder::new()
                    .prefix("deskbind-bench-records")
                    .tempdir()
                    .context("cannot create a temp dir")?;
                Ok(Self {
                    url: DatabaseUrl::sqlite_file(&dir.path().join("records.sqlite3")),
                    kind,
                    pg: None,
                    dir: Some(dir),
                    keep,
                })
            }
            DbKind::Postgres => {
                let name = format!("deskbind_bench_{}", uuid::Uuid::now_v7().simple());
                let mut admin = diesel::PgConnection::establish(postgres_admin_url)
                    .with_context(|| format!("cannot connect to {postgres_admin_url}"))?;
                admin
                    .batch_execute(&format!("CREATE DATABASE {name}"))
                    .with_context(|| format!("cannot create database {name}"))?;
                let url = url_with_database(postgres_admin_url, &name)?;
                Ok(Self {
                    url: DatabaseUrl::Postgres(url),
                    kind,
                    pg: Some((postgres_admin_url.to_owned(), name)),
                    dir: None,
                    keep,
                })
            }
        }
    }

    /// Where the data lives, for the report.
    pub fn describe(&self) -> String {
        match (&self.pg, &self.url) {
            (Some((_, name)), _) => format!("PostgreSQL database {name}"),
            (None, DatabaseUrl::Sqlite(path)) => format!("SQLite file {}", path.display()),
            (None, other) => other.redacted(),
        }
    }

    pub fn sqlite_path(&self) -> Option<PathBuf> {
        match &self.url {
            DatabaseUrl::Sqlite(path) => Some(path.clone()),
            DatabaseUrl::Postgres(_) => None,
        }
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        if self.keep {
            if let Some(dir) = self.dir.take() {
                let kept = dir.keep();
                println!("kept {}", kept.display());
            }
            if let Some((_, name)) = &self.pg {
                println!("kept PostgreSQL database {name}");
            }
            return;
        }
        if let Some((admin, name)) = &self.pg {
            let dropped = diesel::PgConnection::establish(admin)
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .map_err(|e| e.to_string())
                });
            match dropped {
                Ok(()) => println!("dropped PostgreSQL database {name}"),
                Err(e) => println!("warning: could not drop PostgreSQL database {name}: {e}"),
            }
        }
    }
}

/// `admin` with its database path replaced by `name`, query kept.
pub fn url_with_database(admin: &str, name: &str) -> anyhow::Result<String> {
    let (base, query) = match admin.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (admin, None),
    };
    let scheme_end = base.find("://").context("PostgreSQL URL without ://")? + 3;
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    let mut url = format!("{}/{name}", &base[..host_end]);
    if let Some(q) = query {
        url.push('?');
        url.push_str(q);
    }
    Ok(url)
}

/// The organisation the records belong to.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub org: OrgId,
    /// The users who take turns at the phones.
    pub user_ids: Vec<String>,
    /// A user who never held a phone: no calls at all.
    pub quiet_user: String,
    pub phone_ids: Vec<PhoneId>,
    pub region: Option<Region>,
    /// Records start in `[start, end)`.
    pub start: Micros,
    pub end: Micros,
    /// Phone `p` is held during period `k` (of `binding_period` from
    /// `binding_start`) by user `(p + k) % users`.
    pub binding_start: Micros,
    pub binding_period: Micros,
    pub bindings: usize,
    /// Run on every connection the benchmark takes (`--conn-sql`).
    pub conn_sql: Option<String>,
    /// Turn off diesel's prepared-statement cache on every connection the
    /// benchmark takes (`--no-statement-cache`).
    pub no_statement_cache: bool,
}

impl Fixture {
    /// Migrates, then creates the organisation, `users` users (one admin, a
    /// manager per ten, the rest salespeople), `phones` phones, and the
    /// binding history: each phone changes holder every `period_hours`,
    /// from a day before the first record on; the last binding is active.
    pub fn create(
        db: &Database,
        users_n: usize,
        phones_n: usize,
        period_hours: i64,
        setup_sql: Option<&str>,
        conn_sql: Option<String>,
    ) -> anyhow::Result<Self> {
        let mut conn = db.get()?;
        let conn: &mut DbConn = &mut conn;
        db::run_pending(conn)?;
        if let Some(sql) = setup_sql {
            execute(conn, sql).with_context(|| format!("--setup-sql {sql:?}"))?;
        }
        let now = now_micros();
        let org = deskbind_core::usecases::orgs::create(conn, "Records bench")?;
        let org_s = org.to_string();
        let mut user_ids = Vec::with_capacity(users_n);
        for u in 0..=users_n {
            let id = deskbind_core::ids::UserId::new().to_string();
            let role = match u {
                0 => "admin",
                u if u % 10 == 1 => "manager",
                _ => "salesperson",
            };
            users::insert(
                conn,
                &UserRow {
                    id: id.clone(),
                    org_id: org_s.clone(),
                    email: format!("user{u}@records-bench.example"),
                    display_name: format!("User {u}"),
                    role: role.into(),
                    // Nobody logs in: any non-empty string will do.
                    password_hash: "not-a-hash".into(),
                    time_zone: "Europe/Berlin".into(),
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            user_ids.push(id);
        }
        let quiet_user = user_ids.pop().context("no users")?;
        let mut phone_ids = Vec::with_capacity(phones_n);
        for p in 0..phones_n {
            let id = PhoneId::new();
            phones::insert(
                conn,
                &PhoneRow {
                    id: id.to_string(),
                    org_id: org_s.clone(),
                    number_e164: PHONE_NUMBER.into(),
                    extension: format!("{}", 100 + p),
                    label: format!("Desk {p}"),
                    vendor: None,
                    model: None,
                    disabled_at: None,
                    created_at: now,
                    updated_at: now,
                    driver: None,
                },
            )?;
            phone_ids.push(id);
        }
        let end = now - seconds(60);
        let start = end - seconds(SPAN_SECS);
        let binding_start = start - seconds(24 * 3600);
        let binding_period = seconds(period_hours.max(1) * 3600);
        let periods = usize::try_from((now - binding_start) / binding_period + 1).unwrap_or(1);
        let mut rows = Vec::with_capacity(periods * phones_n);
        for (p, phone) in phone_ids.iter().enumerate() {
            for k in 0..periods {
                let started_at = binding_start + i64::try_from(k).unwrap_or(0) * binding_period;
                let last = k + 1 == periods;
                rows.push(BindingRow {
                    id: BindingId::new().to_string(),
                    org_id: org_s.clone(),
                    phone_id: phone.to_string(),
                    user_id: user_ids[(p + k) % users_n].clone(),
                    via: "app".into(),
                    started_at,
                    expires_at: None,
                    ended_at: (!last).then_some(started_at + binding_period),
                    end_reason: (!last).then(|| "unbound".to_owned()),
                });
            }
        }
        let bindings_n = rows.len();
        conn.transaction(|conn| {
            for chunk in rows.chunks(FILL_CHUNK) {
                dialect::insert_batch(conn, diesel::insert_into(bindings::table).values(chunk))?;
            }
            diesel::QueryResult::Ok(())
        })?;
        Ok(Self {
            org,
            user_ids,
            quiet_user,
            phone_ids,
            region: region_of(PHONE_NUMBER),
            start,
            end,
            binding_start,
            binding_period,
            bindings: bindings_n,
            conn_sql,
            no_statement_cache: false,
        })
    }

    /// A pooled connection with `--conn-sql` applied.
    pub fn conn(&self, db: &Database) -> anyhow::Result<r2d2::PooledConnection<DbManager>> {
        let mut conn = db.get()?;
        self.prepare(&mut conn)?;
        Ok(conn)
    }

    /// Applies `--no-statement-cache` and `--conn-sql` to `conn`.
    pub fn prepare(&self, conn: &mut DbConn) -> anyhow::Result<()> {
        if self.no_statement_cache {
            conn.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
        }
        if let Some(sql) = &self.conn_sql {
            execute(conn, sql).with_context(|| format!("--conn-sql {sql:?}"))?;
        }
        Ok(())
    }

    /// Index of the user holding phone `p` at `at`.
    pub fn holder(&self, p: usize, at: Micros) -> usize {
        let k = usize::try_from((at - self.binding_start) / self.binding_period).unwrap_or(0);
        (p + k) % self.user_ids.len()
    }

    /// Records of phone `p` when `total` are spread over all phones.
    pub fn per_phone(&self, total: usize, p: usize) -> usize {
        let n = self.phone_ids.len();
        total / n + usize::from(p < total % n)
    }
}

/// The order in which the uploads' calls happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Order {
    /// Backfill: each phone's batches walk through the whole year in step
    /// with the other phones, so every batch's rows land between rows
    /// already stored (for every index that starts with a time or a user).
    Interleaved,
    /// Live: every batch's calls come after all calls uploaded before it,
    /// the way phones upload as they go; the first run fills the first half
    /// of the year, the second run the second half. Rows are appended at
    /// the end of the time-ordered indexes.
    Live,
}

/// How one batch of uploads is made: deterministic, so a replay sends the
/// very same records.
#[derive(Debug, Clone, Copy)]
pub struct BatchSpec {
    /// Distinguishes the runs' call ids.
    pub run: char,
    pub phone: usize,
    /// Index of the first record among this phone's `of` records.
    pub first: usize,
    pub count: usize,
    pub of: usize,
    pub order: Order,
    /// Live order: this batch's place among the run's `slots` batches,
    /// and the run's time window.
    pub slot: usize,
    pub slots: usize,
    pub window: (Micros, Micros),
}

/// Every phone's records in batches of `batch`, each phone's in time order,
/// phones taking turns (the way many phones upload at once). `part` of
/// `parts` names the run's share of the year in live order.
pub fn batch_plan(
    fixture: &Fixture,
    run: char,
    total: usize,
    batch: usize,
    order: Order,
    (part, parts): (i64, i64),
) -> Vec<BatchSpec> {
    let phones = fixture.phone_ids.len();
    let per: Vec<usize> = (0..phones).map(|p| fixture.per_phone(total, p)).collect();
    let rounds = per
        .iter()
        .max()
        .copied()
        .unwrap_or(0)
        .div_ceil(batch.max(1));
    let share = (fixture.end - fixture.start) / parts.max(1);
    let window = (
        fixture.start + part * share,
        fixture.start + (part + 1) * share,
    );
    let mut plan = Vec::new();
    for r in 0..rounds {
        for (p, &of) in per.iter().enumerate() {
            let first = r * batch;
            if first < of {
                plan.push(BatchSpec {
                    run,
                    phone: p,
                    first,
                    count: batch.min(of - first),
                    of,
                    order,
                    slot: plan.len(),
                    slots: 0,
                    window,
                });
            }
        }
    }
    let slots = plan.len();
    for b in &mut plan {
        b.slots = slots;
    }
    plan
}

impl BatchSpec {
    /// The uploads, as the phone would send them.
    pub fn uploads(&self, fixture: &Fixture) -> Vec<CallRecordUpload> {
        let seed = (u64::from(self.run) << 48) ^ ((self.phone as u64) << 32) ^ self.first as u64;
        let mut rng = fastrand::Rng::with_seed(seed);
        let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        // Interleaved: the phone's records spread evenly over the year.
        // Live: this batch's records spread over its own slot of the window.
        let (base, step) = match self.order {
            Order::Interleaved => {
                let span = fixture.end - fixture.start;
                (fixture.start, span / as_i64(self.of.max(1)))
            }
            Order::Live => {
                let slot_len = (self.window.1 - self.window.0) / as_i64(self.slots.max(1));
                (
                    self.window.0 + as_i64(self.slot) * slot_len
                        - as_i64(self.first) * (slot_len / as_i64(self.count.max(1))),
                    slot_len / as_i64(self.count.max(1)),
                )
            }
        };
        (self.first..self.first + self.count)
            .map(|j| {
                let at = base + as_i64(j) * step + rng.i64(0..step.max(1));
                upload(&mut rng, format!("{}{}-{j}", self.run, self.phone), at)
            })
            .collect()
    }
}

/// One call record as a phone reports it: a third each outbound, inbound
/// and missed; 60 % of the others answered, the rest split over the five
/// other results; remote numbers from a pool of customers written the ways
/// phones show them, plus some anonymous and internal calls.
pub fn upload(rng: &mut fastrand::Rng, call_id: String, started_at: Micros) -> CallRecordUpload {
    let direction = match rng.u8(0..3) {
        0 => CallDirection::Outbound,
        1 => CallDirection::Inbound,
        _ => CallDirection::Missed,
    };
    let (answered_at, ended_at, result) = match direction {
        CallDirection::Missed => {
            let result = match rng.u8(0..4) {
                0 => None,
                1 => Some(CallResult::NoAnswer),
                2 => Some(CallResult::Rejected),
                _ => Some(CallResult::Cancelled),
            };
            (None, Some(started_at + seconds(rng.i64(5..40))), result)
        }
        _ if rng.u8(0..10) < 6 => {
            let answered = started_at + seconds(rng.i64(2..20));
            let ended = answered + seconds(rng.i64(5..1200));
            (Some(answered), Some(ended), Some(CallResult::Answered))
        }
        _ => {
            let result = match rng.u8(0..5) {
                0 => CallResult::Busy,
                1 => CallResult::NoAnswer,
                2 => CallResult::Rejected,
                3 => CallResult::Failed,
                _ => CallResult::Cancelled,
            };
            (
                None,
                Some(started_at + seconds(rng.i64(2..40))),
                Some(result),
            )
        }
    };
    let local_number = rng.bool().then(|| PHONE_NUMBER.to_owned());
    CallRecordUpload {
        call_id,
        direction,
        local_number,
        remote_number: remote_number(rng),
        started_at: to_datetime(started_at),
        answered_at: answered_at.map(to_datetime),
        ended_at: ended_at.map(to_datetime),
        duration_secs: None,
        result,
        dial_id: None,
    }
}

/// Customer `k`'s subscriber digits (7 for landlines, 8 for mobiles).
pub fn customer_digits(k: usize) -> String {
    let n = (k as u64).wrapping_mul(7919) % 9_000_000 + 1_000_000;
    if k % 4 == 3 {
        format!("{n}{}", k % 10)
    } else {
        n.to_string()
    }
}

/// Area code (without the trunk 0) of customer `k`.
fn customer_area(k: usize) -> &'static str {
    const LANDLINE: [&str; 5] = ["30", "40", "89", "221", "69"];
    const MOBILE: [&str; 4] = ["151", "160", "170", "176"];
    if k % 4 == 3 {
        MOBILE[(k / 4) % MOBILE.len()]
    } else {
        LANDLINE[k % LANDLINE.len()]
    }
}

fn remote_number(rng: &mut fastrand::Rng) -> String {
    let k = rng.usize(0..CUSTOMERS);
    let (area, digits) = (customer_area(k), customer_digits(k));
    match rng.u8(0..100) {
        0..40 => format!("+49 {area} {digits}"),
        40..80 => format!("0{area} {digits}"),
        80..90 => format!("0{area}{digits}"),
        90..95 => "anonymous".to_owned(),
        _ => format!("{}", 200 + rng.u16(0..100)),
    }
}

/// The stored row for `facts`, as `record_ingest` would write it for a new
/// record reported by the phone (without a recording).
pub fn row_for(
    fixture: &Fixture,
    phone: usize,
    facts: &deskbind_core::domain::call_facts::CallFacts,
    now: Micros,
    sync_seq: i64,
) -> CallRecordRow {
    let mut row = CallRecordRow::new(
        fixture.org.to_string(),
        fixture.phone_ids[phone].to_string(),
        Some(fixture.user_ids[fixture.holder(phone, facts.started_at)].clone()),
        facts,
        deskbind_core::domain::call_facts::Reporter::Phone,
        now,
    );
    row.sync_seq = sync_seq;
    row
}

/// What the bulk fill did.
#[derive(Debug, Clone, Copy)]
pub struct Fill {
    pub rows: usize,
    pub secs: f64,
    pub analyze_secs: f64,
}

/// Grows `call_records` to at least `target` rows with direct multi-row
/// INSERTs (records spread randomly over the year, every phone and so
/// every user), taking change numbers above the counter and moving the
/// counter past them, then runs ANALYZE.
pub fn fill_to(db: &Database, fixture: &Fixture, target: usize) -> anyhow::Result<Fill> {
    use deskbind_core::domain::call_facts::CallFacts;
    let started = std::time::Instant::now();
    let mut conn = fixture.conn(db)?;
    let conn: &mut DbConn = &mut conn;
    let have: i64 = call_records::table.count().get_result(conn)?;
    let have_n = usize::try_from(have).unwrap_or(0);
    let missing = target.saturating_sub(have_n);
    let org_s = fixture.org.to_string();
    if missing > 0 {
        let now = now_micros();
        let first_seq: i64 = sync_counters::table
            .find(&org_s)
            .select(sync_counters::last_seq)
            .first::<i64>(conn)?
            + 1;
        let phones = fixture.phone_ids.len();
        let span = fixture.end - fixture.start;
        let mut rng = fastrand::Rng::with_seed(0xB0_1C ^ have_n as u64);
        let mut made = 0_usize;
        let tx_rows = FILL_CHUNK * FILL_CHUNKS_PER_TX;
        while made < missing {
            let in_tx = tx_rows.min(missing - made);
            let mut rows = Vec::with_capacity(in_tx);
            for i in made..made + in_tx {
                let phone = i % phones;
                let at = fixture.start + rng.i64(0..span);
                // Unique across fills: numbered after the rows already there.
                let up = upload(&mut rng, format!("b{phone}-{}", have_n + i), at);
                let facts = CallFacts::parse(&up, fixture.region, now)
                    .map_err(|e| anyhow::anyhow!("generated record refused: {e}"))?;
                let seq = first_seq + i64::try_from(i).unwrap_or(0);
                rows.push(row_for(fixture, phone, &facts, now, seq));
            }
            conn.transaction(|conn| {
                for chunk in rows.chunks(FILL_CHUNK) {
                    let query = diesel::insert_into(call_records::table).values(chunk);
                    dialect::insert_batch(conn, query)?;
                }
                diesel::QueryResult::Ok(())
            })?;
            made += in_tx;
        }
        let last = first_seq + i64::try_from(missing).unwrap_or(0) - 1;
        diesel::update(sync_counters::table.find(&org_s))
            .set(sync_counters::last_seq.eq(last))
            .execute(conn)?;
    }
    let secs = started.elapsed().as_secs_f64();
    let analyzing = std::time::Instant::now();
    execute(conn, "ANALYZE")?;
    Ok(Fill {
        rows: missing,
        secs,
        analyze_secs: analyzing.elapsed().as_secs_f64(),
    })
}

/// Runs SQL statements (no results).
pub fn execute(conn: &mut DbConn, sql: &str) -> diesel::QueryResult<()> {
    conn.batch_execute(sql)
}

/// Rows in `call_records`.
pub fn count_rows(db: &Database) -> anyhow::Result<i64> {
    let mut conn = db.get()?;
    Ok(call_records::table.count().get_result(&mut *conn)?)
}

/// Size of the data on disk, bytes: the SQLite file and its WAL, or the
/// PostgreSQL table with its indexes (and no WAL).
pub fn data_size_bytes(db: &Database, bench: &BenchDb) -> anyhow::Result<(u64, u64)> {
    if let Some(path) = bench.sqlite_path() {
        let main = std::fs::metadata(&path)?.len();
        let wal = std::fs::metadata(format!("{}-wal", path.display())).map_or(0, |m| m.len());
        return Ok((main, wal));
    }
    let mut conn = db.get()?;
    let Some(bytes) = dialect::table_size_bytes(&mut conn, "call_records")? else {
        bail!("not PostgreSQL");
    };
    Ok((u64::try_from(bytes).unwrap_or(0), 0))
}
