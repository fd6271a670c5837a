//! `retention`: the retention purge. `--records` call records of one
//! organisation started 400 days ago, `--recordings` of them with a
//! recording file on a local store, a 365-day policy, and a legal hold on
//! one of the two users, who made every `--held-every`th call. How fast does
//! one purge run (the worker's own `retention_purge::run`) delete the rest,
//! and how long does a concurrent write that takes the organisation's lock
//! (as placing a legal hold or changing a policy does) wait meanwhile?
//!
//! ```text
//! cargo run --release -p deskbind-bench --bin retention -- --db sqlite
//! cargo run --release -p deskbind-bench --bin retention -- --db postgres
//! ```
//!
//! The records are generated in SQL (a recursive CTE on SQLite,
//! `generate_series` on PostgreSQL). The headline is records purged per
//! second against a target of 5,000/s, and the longest purge batch (the
//! longest the organisation's lock is held) against 250 ms. Every unheld
//! record and recording must be gone and every held one kept, and (unless
//! `--no-archive`) the archive must count exactly the purged records;
//! anything else fails the run.

#![allow(clippy::print_stdout)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure};
use clap::Parser;
use deskbind_bench::records_fixture::{BenchDb, DEFAULT_POSTGRES_ADMIN_URL, DbKind};
use deskbind_bench::sys::loadavg;
use deskbind_core::db::{self, Database, DbError};
use deskbind_core::storage::{LocalStore, Storage};
use deskbind_core::testing::push_fixture::PushFixture;
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::retention_purge;
use deskbind_core::wire::RetentionDays;
use diesel::QueryableByName;
use diesel::RunQueryDsl as _;
use serde_json::json;

const TARGET_RECORDS_PER_SEC: f64 = 5_000.0;
const TARGET_LONGEST_BATCH_MS: f64 = 250.0;

#[derive(Parser, Debug)]
#[command(name = "retention", about = "deskbind retention purge benchmark")]
struct Args {
    #[arg(long, value_enum)]
    db: DbKind,
    #[arg(long, default_value_t = 1_000_000)]
    records: usize,
    /// Records (the first ones) with a recording file.
    #[arg(long, default_value_t = 10_000)]
    recordings: usize,
    /// Every this many calls are the held user's.
    #[arg(long, default_value_t = 10)]
    held_every: usize,
    #[arg(long, default_value = DEFAULT_POSTGRES_ADMIN_URL)]
    postgres_url: String,
    #[arg(long)]
    keep: bool,
    /// Purge without writing the archive first (`retention_archive = false`).
    #[arg(long)]
    no_archive: bool,
}

fn db_error(e: impl std::fmt::Display) -> DbError {
    DbError::Query(diesel::result::Error::QueryBuilderError(
        e.to_string().into(),
    ))
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

async fn count(db: &Database, sql: String) -> anyhow::Result<i64> {
    Ok(db
        .run(move |conn| {
            diesel::sql_query(sql)
                .get_result::<Count>(conn)
                .map(|c| c.n)
                .map_err(db_error)
        })
        .await?)
}

async fn execute(db: &Database, sql: String) -> anyhow::Result<()> {
    db.run(move |conn| diesel::sql_query(sql).execute(conn).map_err(db_error))
        .await?;
    Ok(())
}

/// Rows `lo..hi` as a CTE named `s (i)`, and the `WITH` it needs.
fn series(kind: DbKind, lo: usize, hi: usize) -> String {
    match kind {
        DbKind::Postgres => format!(
            "WITH s (i) AS (SELECT i::bigint FROM generate_series({lo}, {}) AS i)",
            hi - 1
        ),
        DbKind::Sqlite => format!(
            "WITH RECURSIVE s (i) AS (SELECT {lo} UNION ALL SELECT i + 1 FROM s WHERE i < {})",
            hi - 1
        ),
    }
}

/// A UUID-shaped id whose last 12 digits are `expr`.
fn id_of(kind: DbKind, prefix: &str, expr: &str) -> String {
    match kind {
        DbKind::Postgres => format!("'{prefix}' || lpad(({expr})::text, 12, '0')"),
        DbKind::Sqlite => format!("'{prefix}' || printf('%012d', {expr})"),
    }
}

const RECORD_ID: &str = "00000000-0000-7000-8000-";
const RECORDING_ID: &str = "00000000-0000-7000-9000-";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.records > 0 && args.recordings <= args.records && args.held_every > 0,
        "--records must be positive, --recordings at most --records, --held-every positive"
    );
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "retention purge benchmark: {:?}, {} call records ({} with a recording), every {}th held",
        args.db, args.records, args.recordings, args.held_every
    );
    println!("machine: {cpus} CPUs, load average {}", loadavg());
    let bench_db = BenchDb::create(args.db, &args.postgres_url, args.keep)?;
    println!("database: {}", bench_db.describe());
    let db = Database::connect(&bench_db.url, 6)?;
    let outcome = run(&args, &db).await;
    drop(db);
    outcome
}

async fn run(args: &Args, db: &Database) -> anyhow::Result<()> {
    db.run(|conn| db::run_pending(conn).map(drop).map_err(db_error))
        .await?;
    let now = now_micros();
    let fixture = db
        .write(move |conn| PushFixture::create(conn, 2, 0, "UTC", now).map_err(db_error))
        .await?;
    let org = fixture.org.to_string();
    let (kept_user, held_user) = (fixture.user_ids[0].clone(), fixture.user_ids[1].clone());
    let phone = {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Text)]
            id: String,
        }
        let sql = format!("SELECT id FROM phones WHERE org_id = '{org}'");
        db.run(move |conn| {
            diesel::sql_query(sql)
                .get_result::<Id>(conn)
                .map(|r| r.id)
                .map_err(db_error)
        })
        .await?
    };
    let store_dir = tempfile::tempdir()?;
    let store = LocalStore::open(store_dir.path().to_owned())?;

    let t = Instant::now();
    let started = now - seconds(400 * 24 * 3600);
    if args.recordings > 0 {
        let sql = format!(
            "{with} INSERT INTO recordings (id, org_id, phone_id, call_id, storage_key, size_bytes, \
             sha256, format, uploaded_at, store_id) \
             SELECT {id}, '{org}', '{phone}', 'call-' || i, 'bench/' || i || '.wav', 44, \
             '{sha}', 'wav', {started} + i, '{store}' FROM s",
            with = series(args.db, 0, args.recordings),
            id = id_of(args.db, RECORDING_ID, "i"),
            sha = "0".repeat(64),
            store = store.id(),
        );
        execute(db, sql).await?;
        std::fs::create_dir_all(store_dir.path().join("bench"))?;
        for i in 0..args.recordings {
            std::fs::write(store_dir.path().join(format!("bench/{i}.wav")), [0u8; 44])?;
        }
    }
    let step = 100_000;
    for lo in (0..args.records).step_by(step) {
        let hi = (lo + step).min(args.records);
        let sql = format!(
            "{with} INSERT INTO call_records (id, org_id, phone_id, call_id, user_id, direction, \
             remote_number, remote_e164, started_at, created_at, updated_at, sync_seq, \
             remote_digits, blocked, recording_id, phone_reported_at) \
             SELECT {id}, '{org}', '{phone}', 'call-' || i, \
             CASE WHEN i % {every} = 0 THEN '{held_user}' ELSE '{kept_user}' END, 'outbound', \
             '+4930123456', '+4930123456', {started} + i, {now}, {now}, i + 1, '4930123456', \
             false, CASE WHEN i < {recordings} THEN {rec_id} ELSE NULL END, {now} FROM s",
            with = series(args.db, lo, hi),
            id = id_of(args.db, RECORD_ID, "i"),
            every = args.held_every,
            recordings = args.recordings,
            rec_id = id_of(args.db, RECORDING_ID, "i"),
        );
        execute(db, sql).await?;
    }
    execute(
        db,
        format!(
            "INSERT INTO retention_policies (org_id, call_record_days, recording_days, updated_at, updated_by) \
             VALUES ('{org}', 365, NULL, {now}, '{kept_user}')"
        ),
    )
    .await?;
    execute(
        db,
        format!(
            "INSERT INTO legal_holds (id, org_id, subject_type, subject_id, reason, created_by, created_at) \
             VALUES ('00000000-0000-7000-a000-000000000001', '{org}', 'user', '{held_user}', 'bench', '{kept_user}', {now})"
        ),
    )
    .await?;
    if args.db == DbKind::Postgres {
        execute(db, "ANALYZE".into()).await?;
    }
    println!(
        "fixture: {} records and {} recordings written in {:.1} s",
        args.records,
        args.recordings,
        t.elapsed().as_secs_f64()
    );
    let held = count(
        db,
        format!("SELECT COUNT(*) AS n FROM call_records WHERE user_id = '{held_user}'"),
    )
    .await?;
    let held_recordings = count(
        db,
        format!(
            "SELECT COUNT(*) AS n FROM recordings r JOIN call_records c ON c.recording_id = r.id \
             WHERE c.user_id = '{held_user}'"
        ),
    )
    .await?;

    // A concurrent writer taking the organisation's lock every 20 ms: how
    // long it waits is what a purge costs an admin meanwhile.
    let stop = Arc::new(AtomicBool::new(false));
    let probe = {
        let (db, stop, org) = (db.clone(), stop.clone(), org.clone());
        tokio::spawn(async move {
            let mut waits = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let org = org.clone();
                let t = Instant::now();
                let locked = db
                    .write(move |conn| {
                        deskbind_core::repo::orgs::lock(conn, &org).map_err(|e| {
                            DbError::Query(diesel::result::Error::QueryBuilderError(
                                e.to_string().into(),
                            ))
                        })
                    })
                    .await;
                if locked.is_ok() {
                    waits.push(t.elapsed());
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            waits
        })
    };
    let storage = Storage::Local(LocalStore::open(store_dir.path().to_owned())?);
    let none = RetentionDays::UNCHOSEN;
    let t0 = Instant::now();
    let options = retention_purge::PurgeOptions {
        defaults: none,
        archive: !args.no_archive,
    };
    let report = retention_purge::run(db, &storage, options, now_micros()).await?;
    let elapsed = t0.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut waits = probe.await?;
    waits.sort();
    let wait_ms = |q: f64| {
        waits
            .get(((waits.len() as f64 * q) as usize).min(waits.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };

    let left = count(db, "SELECT COUNT(*) AS n FROM call_records".into()).await?;
    let recordings_left = count(db, "SELECT COUNT(*) AS n FROM recordings".into()).await?;
    let files_left = std::fs::read_dir(store_dir.path().join("bench"))
        .map(|d| d.count())
        .unwrap_or(0);
    let archived = count(
        db,
        "SELECT CAST(COALESCE(SUM(records), 0) AS BIGINT) AS n FROM call_archives \
         WHERE completed_at IS NOT NULL"
            .into(),
    )
    .await?;
    let rate = report.call_records as f64 / elapsed;
    let longest_ms = report.longest_batch.as_secs_f64() * 1000.0;
    println!(
        "purged: {} records and {} recordings ({} bytes) in {elapsed:.2} s: {rate:.0} records/s",
        report.call_records, report.recordings, report.recording_bytes
    );
    println!(
        "archived: {archived} records in {} parts ({} bytes){}",
        report.archive_parts,
        report.archive_bytes,
        if args.no_archive {
            " (--no-archive)"
        } else {
            ""
        }
    );
    println!(
        "kept: {left} records ({held} held), {recordings_left} recordings ({held_recordings} held), {files_left} files"
    );
    println!(
        "concurrent org-locked write, {} samples: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        waits.len(),
        wait_ms(0.5),
        wait_ms(0.99),
        wait_ms(1.0)
    );
    let verdict = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!(
        "target          purge >= {TARGET_RECORDS_PER_SEC:.0} records/s: {rate:.0}/s -> {}",
        verdict(rate >= TARGET_RECORDS_PER_SEC)
    );
    println!(
        "target          longest batch (lock held) <= {TARGET_LONGEST_BATCH_MS:.0} ms: {longest_ms:.1} ms -> {}",
        verdict(longest_ms <= TARGET_LONGEST_BATCH_MS)
    );
    println!("load average at the end {}", loadavg());
    println!(
        "{}",
        json!({
            "bench": "retention", "db": format!("{:?}", args.db), "records": args.records,
            "recordings": args.recordings, "archive": !args.no_archive, "purge_secs": elapsed, "records_per_sec": rate,
            "longest_batch_ms": longest_ms, "probe_p99_ms": wait_ms(0.99), "probe_max_ms": wait_ms(1.0),
        })
    );
    let expected_gone = args.records as i64 - held;
    let expected_archived = if args.no_archive { 0 } else { expected_gone };
    if report.call_records as i64 != expected_gone
        || archived != expected_archived
        || left != held
        || recordings_left != held_recordings
        || files_left as i64 != held_recordings
    {
        bail!(
            "purged {} of {expected_gone} records, archived {archived}; {left} left ({held} held); {recordings_left} recordings and {files_left} files left ({held_recordings} held)",
            report.call_records
        );
    }
    Ok(())
}
