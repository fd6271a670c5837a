//! `records`: how fast call records are stored, and how fast the review
//! list answers over a year of them.
//!
//! ```text
//! CARGO_TARGET_DIR=/work/bench-target cargo run --release -p deskbind-bench --bin records -- --db sqlite
//! CARGO_TARGET_DIR=/work/bench-target cargo run --release -p deskbind-bench --bin records -- --db postgres
//! ```
//!
//! No server runs: the benchmark calls the repositories the routes call.
//! It creates a fresh database (a SQLite file in a temp dir, or a
//! PostgreSQL database `deskbind_bench_<uuid>` on 127.0.0.1 that it drops at
//! the end), migrates it, makes one organisation with users, phones and a
//! binding history, then:
//!
//! 1. ingestion: `--records` records in batches of `--batch` through
//!    `CallFacts::parse_batch` + `record_ingest::store` (the phone upload
//!    route minus HTTP and JSON: `Database::write`, so SQLite's one writer
//!    with group commit) from one thread; another `--records` from
//!    `--writers` threads on disjoint phones; then the first run's batches
//!    again (a replay: every record unchanged); then the statement profile:
//!    `--profile-records` new records through `record_ingest::ingest` on a
//!    connection whose every statement is timed, the costliest kinds
//!    printed.
//! 2. queries: grows the table to `--query-rows` with direct multi-row
//!    INSERTs, runs ANALYZE, then times `--queries` first pages (50 rows,
//!    newest first) of `call_records::list` over a mix of filters, and
//!    shows the plan of every kind that misses the target.
//! 3. the bench's peak resident memory (VmHWM).

#![allow(clippy::print_stdout)]

use std::time::Instant;

use anyhow::ensure;
use clap::Parser;
use deskbind_bench::records_fixture::{
    self, BenchDb, DEFAULT_POSTGRES_ADMIN_URL, DbKind, Fixture, Order, batch_plan,
};
use deskbind_bench::records_ingest::{self, ProfiledRun, RunStats};
use deskbind_bench::records_query::{self, KINDS, PAGE, WARMUP_PER_KIND};
use deskbind_bench::report::Quantiles;
use deskbind_core::db::Database;
use deskbind_core::wire::MAX_RECORD_BATCH;
use serde_json::json;

/// Targets from the issue.
const INGEST_TARGET_POSTGRES: f64 = 80_000.0;
const INGEST_TARGET_SQLITE: f64 = 150_000.0;
const QUERY_P99_TARGET_MS: f64 = 5.0;
/// Issue 18: a number search's first page, p99 over >= 1M rows.
const NUMBER_P99_TARGET_MS: f64 = 10.0;
const QUERY_TARGET_ROWS: i64 = 1_000_000;
const WAL_TARGET_MIB: u64 = 64;

#[derive(Parser, Debug)]
#[command(
    name = "records",
    about = "deskbind call-record benchmark: ingestion rate and review-list latency"
)]
struct Args {
    /// The database to run against (a fresh one is created).
    #[arg(long, value_enum)]
    db: DbKind,
    /// Records per ingestion run (the single-writer run and the concurrent one each).
    #[arg(long, default_value_t = 200_000)]
    records: usize,
    /// Records per upload batch (the API accepts at most 500).
    #[arg(long, default_value_t = 500)]
    batch: usize,
    /// Rows the table holds before the queries (direct inserts top it up).
    #[arg(long, default_value_t = 1_000_000)]
    query_rows: usize,
    /// Timed queries (spread over the filter kinds).
    #[arg(long, default_value_t = 2_000)]
    queries: usize,
    /// Rows inserted directly (and ANALYZEd) before the ingestion runs:
    /// ingestion into a table that already holds history, with statistics.
    #[arg(long, default_value_t = 0)]
    pre_rows: usize,
    /// Threads of the concurrent ingestion run, each on its own phones.
    #[arg(long, default_value_t = 4)]
    writers: usize,
    #[arg(long, default_value_t = 50)]
    users: usize,
    #[arg(long, default_value_t = 50)]
    phones: usize,
    /// The order the uploaded calls happened in: interleaved (a year of
    /// history from every phone at once) or live (each batch newer than
    /// everything before it).
    #[arg(long, value_enum, default_value = "interleaved")]
    order: Order,
    /// Each phone changes holder this often (24: a hot desk bound per day).
    #[arg(long, default_value_t = 24)]
    binding_hours: i64,
    /// Server and admin database for the fresh PostgreSQL database.
    #[arg(long, default_value = DEFAULT_POSTGRES_ADMIN_URL)]
    postgres_url: String,
    /// SQL run once after the migrations, e.g. to try an index.
    #[arg(long)]
    setup_sql: Option<String>,
    /// SQL run on every connection the benchmark takes itself, e.g. a
    /// PRAGMA or a SET: the statement profile's and the queries'. The
    /// timed ingestion runs go through `Database::write`, whose
    /// connections are the server's.
    #[arg(long)]
    conn_sql: Option<String>,
    /// Turn off diesel's prepared-statement cache on the benchmark's own
    /// connections (the statement profile's and the queries'; PostgreSQL
    /// then plans every statement with its values).
    #[arg(long)]
    no_statement_cache: bool,
    /// Show the plan of every query kind, not only those missing the target.
    #[arg(long)]
    explain_all: bool,
    /// Replays of the 1-writer run (each must keep its rate: a replay
    /// that drops below half the best one counts as a collapse).
    #[arg(long, default_value_t = 1)]
    replays: usize,
    /// Ingestion only: skip growing the table and timing the queries.
    #[arg(long)]
    no_queries: bool,
    /// Records of the statement profile: after the timed runs, new
    /// records from one writer with every statement timed (0: no profile).
    #[arg(long, default_value_t = 10_000)]
    profile_records: usize,
    /// Statement kinds the profile prints (the costliest first).
    #[arg(long, default_value_t = 12)]
    profile_top: usize,
    /// Keep the database (SQLite file or PostgreSQL database) afterwards.
    #[arg(long)]
    keep: bool,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.records > 0 && args.batch > 0,
        "--records and --batch must be positive"
    );
    ensure!(
        args.users >= 10,
        "--users must be at least 10 (a manager sees 10)"
    );
    ensure!(
        args.phones >= args.writers.max(1),
        "--phones must be at least --writers"
    );
    let started = Instant::now();
    println!(
        "records benchmark: {:?}, {} records per run in batches of {} ({:?} order), {} writers, {} users, {} phones (holder changes every {} h)",
        args.db,
        args.records,
        args.batch,
        args.order,
        args.writers,
        args.users,
        args.phones,
        args.binding_hours
    );
    if args.batch > MAX_RECORD_BATCH {
        println!("note: the API accepts at most {MAX_RECORD_BATCH} records per request");
    }
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let load_before = deskbind_bench::sys::loadavg();
    println!("machine: {cpus} CPUs, load average {load_before}");

    let bench_db = BenchDb::create(args.db, &args.postgres_url, args.keep)?;
    println!("database: {}", bench_db.describe());
    // One connection per writer, and one spare.
    let db = Database::connect(&bench_db.url, u32::try_from(args.writers + 1)?)?;
    let outcome = run(&args, &db, &bench_db, cpus, &load_before);
    // Close the pool before the drop of `bench_db` removes the database.
    drop(db);
    let summary = outcome?;
    println!(
        "total time {:.1} s; load average at the end {}",
        started.elapsed().as_secs_f64(),
        deskbind_bench::sys::loadavg()
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn run(
    args: &Args,
    db: &Database,
    bench_db: &BenchDb,
    cpus: usize,
    load_before: &str,
) -> anyhow::Result<serde_json::Value> {
    let t = Instant::now();
    let mut fixture = Fixture::create(
        db,
        args.users,
        args.phones,
        args.binding_hours,
        args.setup_sql.as_deref(),
        args.conn_sql.clone(),
    )?;
    fixture.no_statement_cache = args.no_statement_cache;
    if args.no_statement_cache {
        println!("diesel's prepared-statement cache is off on the benchmark's connections");
    }
    if let Some(sql) = &args.setup_sql {
        println!("setup SQL: {sql}");
    }
    if let Some(sql) = &args.conn_sql {
        println!("connection SQL: {sql}");
    }
    println!(
        "setup: migrated, 1 organisation, {} users (+1 without calls), {} phones, {} bindings in {:.2} s",
        fixture.user_ids.len(),
        fixture.phone_ids.len(),
        fixture.bindings,
        t.elapsed().as_secs_f64()
    );

    if args.pre_rows > 0 {
        let pre = records_fixture::fill_to(db, &fixture, args.pre_rows)?;
        println!(
            "pre-fill        {} rows inserted in {:.1} s, ANALYZE {:.1} s",
            pre.rows, pre.secs, pre.analyze_secs
        );
    }

    // 1. Ingestion.
    let parts = match args.order {
        Order::Interleaved => (0, 1),
        Order::Live => (0, 2),
    };
    let single_plan = batch_plan(&fixture, 's', args.records, args.batch, args.order, parts);
    let wal = WalWatch::start(bench_db.sqlite_path());
    println!("ingesting {} records from 1 writer ...", args.records);
    let single = records_ingest::run(db, &fixture, &single_plan, 1)?;
    print_run("1 writer", &single);
    let parts = (parts.1 - 1, parts.1);
    let multi_plan = batch_plan(&fixture, 'm', args.records, args.batch, args.order, parts);
    println!(
        "ingesting {} more records from {} writers ...",
        args.records, args.writers
    );
    let multi = records_ingest::run(db, &fixture, &multi_plan, args.writers)?;
    let multi_label = format!(
        "{} writer{}",
        args.writers,
        if args.writers == 1 { "" } else { "s" }
    );
    print_run(&multi_label, &multi);
    let mut replays = Vec::new();
    for n in 1..=args.replays.max(1) {
        println!("replaying the 1-writer run's batches ({n}) ...");
        let replay = records_ingest::run(db, &fixture, &single_plan, 1)?;
        print_run("replay", &replay);
        replays.push(replay);
    }
    let wal_peak = wal.stop();
    // Since the database opened: the fixture's writes are counted too.
    if let Some(q) = db.write_queue_stats() {
        println!(
            "write queue     {} groups ({} bodies, largest {}, {} failed); {} checkpoints ({} failed), {} WAL truncations holding the writer {:.1} ms in all, {:.1} ms at most; the writer waited for them {:.1} ms in all, {:.1} ms at most (since the database opened)",
            q.groups,
            q.bodies,
            q.largest_group,
            q.failed_groups,
            q.checkpoints,
            q.checkpoint_failures,
            q.wal_truncations,
            q.wal_pause_micros as f64 / 1000.0,
            q.wal_longest_pause_micros as f64 / 1000.0,
            q.wal_wait_micros as f64 / 1000.0,
            q.wal_longest_wait_micros as f64 / 1000.0
        );
    }
    let profile = if args.profile_records == 0 {
        None
    } else {
        let plan = batch_plan(
            &fixture,
            'p',
            args.profile_records,
            args.batch,
            args.order,
            parts,
        );
        println!(
            "profiling {} new records from 1 writer, every statement timed ...",
            args.profile_records
        );
        let profiled = records_ingest::run_profiled(db, &fixture, &plan)?;
        print_profile(&profiled, args.profile_top);
        Some(profiled)
    };
    let replay_rates: Vec<f64> = replays.iter().map(RunStats::records_per_sec).collect();
    let best_replay = replay_rates.iter().copied().fold(0.0, f64::max);
    let worst_replay = replay_rates.iter().copied().fold(f64::MAX, f64::min);
    let replay = replays.swap_remove(0);
    let sample: Vec<_> = single_plan
        .iter()
        .scan(0_usize, |n, b| {
            *n += b.count;
            (*n <= 50_000 || *n == b.count).then_some(*b)
        })
        .collect();
    let parse_cost = records_ingest::parse_cost(&fixture, &sample);
    println!(
        "parse alone     {:.2} µs per record ({} records, numbers memoised per batch); phone-number parsing without the memo (best_effort_e164) {:.2} µs",
        parse_cost.parse_us_per_record, parse_cost.records, parse_cost.e164_us_per_record
    );

    // 2. Queries.
    let (query_verdict, queries_json) = if args.no_queries {
        ("skipped (--no-queries)".to_owned(), serde_json::Value::Null)
    } else {
        queries(args, db, bench_db, &fixture)?
    };

    // 3. Memory, and the verdicts.
    let peak_rss = deskbind_bench::sys::peak_rss_kib()?;
    let ingest_target = match args.db {
        DbKind::Sqlite => INGEST_TARGET_SQLITE,
        DbKind::Postgres => INGEST_TARGET_POSTGRES,
    };
    println!();
    println!("== summary ({:?}) ==", args.db);
    print_run("1 writer", &single);
    print_run(&multi_label, &multi);
    print_run("replay", &replay);
    let at_least = |ok: bool| if ok { "MET" } else { "MISSED" };
    println!(
        "target          ingestion, 1 writer >= {ingest_target:.0} records/s: {} ({:.0})",
        at_least(single.records_per_sec() >= ingest_target),
        single.records_per_sec(),
    );
    println!(
        "target          ingestion, {multi_label} >= 1 writer: {} ({:.0} vs {:.0})",
        at_least(multi.records_per_sec() >= single.records_per_sec()),
        multi.records_per_sec(),
        single.records_per_sec(),
    );
    println!(
        "target          no replay collapse (every replay >= half the best; {} run(s)): {} (worst {worst_replay:.0}, best {best_replay:.0})",
        replay_rates.len(),
        at_least(worst_replay >= best_replay / 2.0),
    );
    if let Some(peak) = wal_peak {
        println!(
            "target          SQLite WAL during ingestion <= {WAL_TARGET_MIB} MiB: {} (peak {:.1} MiB)",
            at_least(peak <= WAL_TARGET_MIB * 1_048_576),
            peak as f64 / 1_048_576.0
        );
    }
    println!(
        "target          query p99 <= {QUERY_P99_TARGET_MS} ms over >= {QUERY_TARGET_ROWS} rows: {query_verdict}"
    );
    println!("peak RSS        {peak_rss} KiB (VmHWM of this process)");

    Ok(json!({
        "database": format!("{:?}", args.db).to_lowercase(),
        "cpus": cpus,
        "load_before": load_before,
        "records_per_run": args.records,
        "pre_rows": args.pre_rows,
        "batch": args.batch,
        "order": format!("{:?}", args.order).to_lowercase(),
        "writers": args.writers,
        "users": args.users,
        "phones": args.phones,
        "bindings": fixture.bindings,
        "setup_sql": args.setup_sql,
        "conn_sql": args.conn_sql,
        "no_statement_cache": args.no_statement_cache,
        "ingest": {
            "single": run_json(&single),
            "concurrent": run_json(&multi),
            "replay": run_json(&replay),
            "parse": parse_cost,
        },
        "replays_per_sec": replay_rates,
        "wal_peak_bytes": wal_peak,
        "statement_profile": profile,
        "queries": queries_json,
        "peak_rss_kib": peak_rss,
    }))
}

/// The statement profile: per batch, how many statements of each kind ran
/// and how long they took, the costliest kinds first.
fn print_profile(run: &ProfiledRun, top: usize) {
    let batches = run.batches.max(1) as f64;
    let total_us: u64 = run.statements.iter().map(|t| t.total_us).sum();
    let count: u64 = run.statements.iter().map(|t| t.count).sum();
    println!(
        "profile         {} records in {} batches: {:.1} statements and {:.1} ms per batch ({:.1} ms in statements, {} kinds); per record {:.1} µs",
        run.records,
        run.batches,
        count as f64 / batches,
        run.db_us as f64 / 1e3 / batches,
        total_us as f64 / 1e3 / batches,
        run.statements.len(),
        run.db_us as f64 / run.records.max(1) as f64,
    );
    println!("  share  ms/batch  n/batch  µs each  statement");
    for t in run.statements.iter().take(top) {
        println!(
            "  {:>4.1}%  {:>8.2}  {:>7.1}  {:>7.0}  {}",
            100.0 * t.total_us as f64 / total_us.max(1) as f64,
            t.total_us as f64 / 1e3 / batches,
            t.count as f64 / batches,
            t.total_us as f64 / t.count.max(1) as f64,
            t.sql
        );
    }
}

/// Grows the table and times the first pages; the verdict line and the
/// figures as JSON.
fn queries(
    args: &Args,
    db: &Database,
    bench_db: &BenchDb,
    fixture: &Fixture,
) -> anyhow::Result<(String, serde_json::Value)> {
    println!(
        "growing call_records to {} rows with direct inserts ...",
        args.query_rows
    );
    let fill = records_fixture::fill_to(db, fixture, args.query_rows)?;
    let rows = records_fixture::count_rows(db)?;
    let size = records_fixture::data_size_bytes(db, bench_db)?;
    println!(
        "fill            {} rows inserted in {:.1} s ({:.0} rows/s); ANALYZE {:.1} s",
        fill.rows,
        fill.secs,
        fill.rows as f64 / fill.secs.max(1e-9),
        fill.analyze_secs
    );
    let (size, wal) = size;
    match args.db {
        DbKind::Sqlite => println!(
            "table           {rows} rows; SQLite file {:.0} MiB ({:.0} bytes per row), WAL {:.0} MiB",
            size as f64 / 1048576.0,
            size as f64 / rows.max(1) as f64,
            wal as f64 / 1048576.0
        ),
        DbKind::Postgres => println!(
            "table           {rows} rows; call_records with indexes {:.0} MiB ({:.0} bytes per row)",
            size as f64 / 1048576.0,
            size as f64 / rows.max(1) as f64
        ),
    }
    println!(
        "querying: {} first pages of {PAGE} (after {WARMUP_PER_KIND} untimed per kind), one connection ...",
        args.queries
    );
    let queries = records_query::run(db, fixture, args.queries)?;
    println!();
    println!("== query latency (ms), first page of {PAGE}, newest first, over {rows} rows ==");
    let mut per_kind = serde_json::Map::new();
    let mut slow = Vec::new();
    for (kind, (h, returned)) in &queries.by_kind {
        let q = Quantiles::from_micros(h);
        println!(
            "{:<22} {}  rows/page {:.1}",
            kind.label(),
            fmt_q(&q),
            *returned as f64 / h.len().max(1) as f64
        );
        if q.p99 > QUERY_P99_TARGET_MS || args.explain_all {
            slow.push(*kind);
        }
        per_kind.insert(kind.key().into(), serde_json::to_value(&q)?);
    }
    let all = Quantiles::from_micros(&queries.all);
    let all_but_number = Quantiles::from_micros(&queries.all_but_number);
    println!("{:<22} {}", "overall", fmt_q(&all));
    println!("{:<22} {}", "overall w/o number", fmt_q(&all_but_number));

    if !slow.is_empty() && args.db == DbKind::Postgres {
        println!();
        println!(
            "note: plans below are for the values inlined (PostgreSQL's custom plan); the timed \
             queries use diesel's cached prepared statements, for which PostgreSQL may use a \
             generic plan after five executions"
        );
    }
    let mut rng = fastrand::Rng::with_seed(0xE8_91A1);
    for kind in KINDS.iter().filter(|k| slow.contains(k)) {
        let p = records_query::params(*kind, fixture, &mut rng);
        println!();
        println!("-- plan: {} --", kind.label());
        println!(
            "{}",
            records_query::sql_of(fixture, &p, args.db == DbKind::Postgres)
        );
        for line in records_query::explain(db, fixture, &p)? {
            println!("  {line}");
        }
    }

    let verdict = format!(
        "{} (overall p99 {:.3} ms, {rows} rows){}",
        if all.p99 <= QUERY_P99_TARGET_MS && rows >= QUERY_TARGET_ROWS {
            "MET"
        } else {
            "MISSED"
        },
        all.p99,
        if slow.is_empty() || args.explain_all {
            String::new()
        } else {
            format!(
                "; over target: {}",
                slow.iter()
                    .map(|k| k.label())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    let number_verdicts: Vec<String> = queries
        .by_kind
        .iter()
        .filter(|(kind, _)| kind.is_number_search())
        .map(|(kind, (h, _))| {
            let p99 = Quantiles::from_micros(h).p99;
            let met = p99 <= NUMBER_P99_TARGET_MS && rows >= QUERY_TARGET_ROWS;
            format!(
                "{} {} ({p99:.3} ms)",
                kind.label(),
                if met { "MET" } else { "MISSED" }
            )
        })
        .collect();
    println!(
        "target          number search p99 <= {NUMBER_P99_TARGET_MS} ms over >= {QUERY_TARGET_ROWS} rows: {}",
        number_verdicts.join(", ")
    );
    Ok((
        verdict,
        json!({
            "fill": { "rows": fill.rows, "secs": fill.secs, "analyze_secs": fill.analyze_secs },
            "rows": rows,
            "data_bytes": size,
            "wal_bytes": wal,
            "count": args.queries,
            "by_kind": per_kind,
            "overall": all,
            "overall_without_number": all_but_number,
        }),
    ))
}

/// Samples the SQLite WAL file's size every 50 ms while ingestion runs.
struct WalWatch {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    sampler: Option<std::thread::JoinHandle<u64>>,
}

impl WalWatch {
    fn start(db_file: Option<std::path::PathBuf>) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = db_file.map(|path| {
            let stop = stop.clone();
            let wal = format!("{}-wal", path.display());
            std::thread::spawn(move || {
                let mut peak = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    peak = peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                peak.max(std::fs::metadata(&wal).map_or(0, |m| m.len()))
            })
        });
        Self { stop, sampler }
    }

    /// The largest size seen, on SQLite.
    fn stop(self) -> Option<u64> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.sampler.and_then(|s| s.join().ok())
    }
}

fn fmt_q(q: &Quantiles) -> String {
    format!(
        "p50 {:>8.3}  p99 {:>8.3}  max {:>8.3}  (n={})",
        q.p50, q.p99, q.max, q.count
    )
}

fn print_run(label: &str, s: &RunStats) {
    let lat = Quantiles::from_micros(&s.latency_us);
    let o = &s.outcomes;
    println!(
        "{:<15} {:>9.0} records/s ({} records, {} batches, {:.2} s wall); batch p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        label,
        s.records_per_sec(),
        s.records,
        s.batches,
        s.wall.as_secs_f64(),
        lat.p50,
        lat.p99,
        lat.max
    );
    println!(
        "{:<15} time: generate {:.2} s, parse {:.2} s, ingest (DB) {:.2} s (summed over {} thread(s)); CPU: bench {:.0} % of one CPU, machine {:.0} % busy",
        "",
        s.generate.as_secs_f64(),
        s.parse.as_secs_f64(),
        s.db.as_secs_f64(),
        s.writers,
        s.bench_cpu_pct,
        s.machine_busy_pct
    );
    println!(
        "{:<15} outcomes: created {}, updated {}, unchanged {}, rejected {}, refused by parse {}; remote number in E.164 for {} created",
        "", o.created, o.updated, o.unchanged, o.rejected, o.parse_refused, o.remote_e164
    );
}

fn run_json(s: &RunStats) -> serde_json::Value {
    json!({
        "writers": s.writers,
        "records": s.records,
        "batches": s.batches,
        "wall_secs": s.wall.as_secs_f64(),
        "records_per_sec": s.records_per_sec(),
        "generate_secs": s.generate.as_secs_f64(),
        "parse_secs": s.parse.as_secs_f64(),
        "db_secs": s.db.as_secs_f64(),
        "batch_latency_ms": Quantiles::from_micros(&s.latency_us),
        "outcomes": s.outcomes,
        "bench_cpu_pct": s.bench_cpu_pct,
        "machine_busy_pct": s.machine_busy_pct,
    })
}
