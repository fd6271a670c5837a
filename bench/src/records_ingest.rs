//! Ingestion runs: batches of generated uploads through the server's path
//! minus HTTP — `CallFacts::parse_batch`, then `record_ingest::store`
//! (`Database::write`: on SQLite the process's one writer with group
//! commit) — from one or more threads. The statement profile instead runs
//! `record_ingest::ingest` on an instrumented connection of its own: the
//! same transaction body, without the queue.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use deskbind_core::db::{Backend, Database, DbConn, dialect};
use deskbind_core::domain::call_facts::{CallFacts, Reporter};
use deskbind_core::relay::Relay;
use deskbind_core::repo::RepoError;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::Services;
use deskbind_core::usecases::record_ingest::{self, ItemOutcome, Uploader};
use diesel::connection::SimpleConnection as _;
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::records_fixture::{BatchSpec, Fixture};
use crate::statement_profile::{StatementProfile, StatementTally};
use crate::sys::CpuSample;

/// What the records of a run came out as.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Outcomes {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
    /// Refused by `CallFacts::parse` (never reached the database).
    pub parse_refused: u64,
    /// Created records whose remote number resolved to E.164.
    pub remote_e164: u64,
}

impl Outcomes {
    fn add(&mut self, other: &Self) {
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.rejected += other.rejected;
        self.parse_refused += other.parse_refused;
        self.remote_e164 += other.remote_e164;
    }
}

/// One run's figures.
#[derive(Debug, Clone)]
pub struct RunStats {
    pub writers: usize,
    pub records: u64,
    pub batches: u64,
    /// Start of the first batch to the end of the last, all threads.
    pub wall: Duration,
    /// Summed over threads: making the uploads (the bench's own work, in
    /// the wall time but not in the batch latency), parsing, and the
    /// `ingest` transaction.
    pub generate: Duration,
    pub parse: Duration,
    pub db: Duration,
    /// Per batch, parse + ingest, in microseconds.
    pub latency_us: Histogram<u64>,
    pub outcomes: Outcomes,
    /// This process's CPU in % of one CPU, and the whole machine's, 0–100 %.
    pub bench_cpu_pct: f64,
    pub machine_busy_pct: f64,
}

impl RunStats {
    pub fn records_per_sec(&self) -> f64 {
        self.records as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

pub fn histogram() -> anyhow::Result<Histogram<u64>> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).context("histogram bounds")
}

struct ThreadStats {
    records: u64,
    batches: u64,
    generate: Duration,
    parse: Duration,
    db: Duration,
    latency_us: Histogram<u64>,
    outcomes: Outcomes,
}

/// Sends `plan`'s batches from `writers` threads; thread `t` takes the
/// batches of phones `p` with `p % writers == t`, so no two threads write
/// for the same phone (they still share the organisation's change counter).
pub fn run(
    db: &Database,
    fixture: &Fixture,
    plan: &[BatchSpec],
    writers: usize,
) -> anyhow::Result<RunStats> {
    let writers = writers.max(1);
    let services = &Services::new(db.clone(), Relay::local());
    let pid = std::process::id();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    let cpu_before = CpuSample::take(&[pid])?;
    let started = Instant::now();
    let results: Vec<anyhow::Result<ThreadStats>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..writers)
            .map(|t| {
                let mine: Vec<BatchSpec> = plan
                    .iter()
                    .filter(|b| b.phone % writers == t)
                    .copied()
                    .collect();
                scope.spawn(move || writer(services, fixture, &mine))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("writer thread panicked")))
            })
            .collect()
    });
    let wall = started.elapsed();
    let (busy, per_process) = CpuSample::take(&[pid])?.since(&cpu_before, cpus);
    let mut total = RunStats {
        writers,
        records: 0,
        batches: 0,
        wall,
        generate: Duration::ZERO,
        parse: Duration::ZERO,
        db: Duration::ZERO,
        latency_us: histogram()?,
        outcomes: Outcomes::default(),
        bench_cpu_pct: per_process.first().copied().unwrap_or(0.0),
        machine_busy_pct: busy,
    };
    for result in results {
        let t = result?;
        total.records += t.records;
        total.batches += t.batches;
        total.generate += t.generate;
        total.parse += t.parse;
        total.db += t.db;
        total.latency_us.add(&t.latency_us)?;
        total.outcomes.add(&t.outcomes);
    }
    Ok(total)
}

/// One writer thread: its batches through `record_ingest::store`, the
/// upload route's call, on a runtime of its own (as a request's task).
fn writer(
    services: &Services,
    fixture: &Fixture,
    batches: &[BatchSpec],
) -> anyhow::Result<ThreadStats> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("writer runtime")?;
    write_batches(&mut Sink::Queue { services, runtime }, fixture, batches)
}

/// Where a writer's batches go.
enum Sink<'a> {
    /// `record_ingest::store`: `Database::write`, so SQLite's one writer
    /// and its group commit.
    Queue {
        services: &'a Services,
        runtime: tokio::runtime::Runtime,
    },
    /// `record_ingest::ingest` on a connection of the bench's own (the
    /// statement profile instruments it).
    Conn(&'a mut DbConn),
}

impl Sink<'_> {
    fn ingest(
        &mut self,
        who: Uploader,
        facts: Vec<CallFacts>,
        now: deskbind_core::time::Micros,
    ) -> Result<Vec<ItemOutcome>, RepoError> {
        match self {
            Self::Queue { services, runtime } => {
                runtime.block_on(record_ingest::store(services, who, facts, now))
            }
            Self::Conn(conn) => record_ingest::ingest(conn, &who, &facts, now),
        }
    }
}

/// A single-writer run with every statement timed.
#[derive(Debug, Clone, Serialize)]
pub struct ProfiledRun {
    pub records: u64,
    pub batches: u64,
    /// The ingest transactions, instrumentation included.
    pub db_us: u64,
    /// Every statement kind, the costliest first.
    pub statements: Vec<StatementTally>,
}

/// `plan`'s batches from one thread on a connection set like the writer's
/// (`Database::connect_like_writer`) whose statements are timed
/// ([`StatementProfile`]).
pub fn run_profiled(
    db: &Database,
    fixture: &Fixture,
    plan: &[BatchSpec],
) -> anyhow::Result<ProfiledRun> {
    let mut conn = db.connect_like_writer()?;
    fixture.prepare(&mut conn)?;
    let profile = StatementProfile::attach(&mut conn);
    let stats = write_batches(&mut Sink::Conn(&mut conn), fixture, plan)?;
    let statements = profile.tallies();
    if dialect::backend_of(&conn) == Backend::Sqlite {
        // Like the writer, this connection never checkpoints; the log it
        // grew must not slow the queries that follow.
        conn.batch_execute("PRAGMA wal_checkpoint(TRUNCATE)")
            .context("checkpoint after the profile")?;
    }
    Ok(ProfiledRun {
        records: stats.records,
        batches: stats.batches,
        db_us: u64::try_from(stats.db.as_micros()).unwrap_or(u64::MAX),
        statements,
    })
}

fn write_batches(
    sink: &mut Sink<'_>,
    fixture: &Fixture,
    batches: &[BatchSpec],
) -> anyhow::Result<ThreadStats> {
    let mut stats = ThreadStats {
        records: 0,
        batches: 0,
        generate: Duration::ZERO,
        parse: Duration::ZERO,
        db: Duration::ZERO,
        latency_us: histogram()?,
        outcomes: Outcomes::default(),
    };
    for spec in batches {
        let t0 = Instant::now();
        let uploads = spec.uploads(fixture);
        let t1 = Instant::now();
        // As the route does: one `now` per request, parse, then the batch.
        let now = now_micros();
        let mut facts: Vec<CallFacts> = Vec::with_capacity(uploads.len());
        for parsed in CallFacts::parse_batch(&uploads, fixture.region, now) {
            match parsed {
                Ok(f) => facts.push(f),
                Err(_) => stats.outcomes.parse_refused += 1,
            }
        }
        let t2 = Instant::now();
        let uploader = Uploader {
            org: fixture.org,
            phone: fixture.phone_ids[spec.phone],
            reporter: Reporter::Phone,
            app_user: None,
        };
        let with_e164: Vec<bool> = facts.iter().map(|f| f.remote_e164.is_some()).collect();
        let outcomes = sink
            .ingest(uploader, facts, now)
            .with_context(|| format!("ingest of {spec:?}"))?;
        let t3 = Instant::now();
        for (outcome, e164) in outcomes.iter().zip(&with_e164) {
            match outcome {
                ItemOutcome::Created(_) => {
                    stats.outcomes.created += 1;
                    stats.outcomes.remote_e164 += u64::from(*e164);
                }
                ItemOutcome::Updated(_) => stats.outcomes.updated += 1,
                ItemOutcome::Unchanged(_) => stats.outcomes.unchanged += 1,
                ItemOutcome::Rejected(_) => stats.outcomes.rejected += 1,
            }
        }
        if outcomes.len() != with_e164.len() {
            bail!(
                "ingest answered {} outcomes for {} records",
                outcomes.len(),
                with_e164.len()
            );
        }
        stats.records += uploads.len() as u64;
        stats.batches += 1;
        stats.generate += t1 - t0;
        stats.parse += t2 - t1;
        stats.db += t3 - t2;
        let us = u64::try_from((t3 - t1).as_micros()).unwrap_or(u64::MAX);
        stats.latency_us.saturating_record(us.max(1));
    }
    Ok(stats)
}

/// Parse only, single thread, over `plan`'s uploads: the whole of
/// `CallFacts::parse`, and the part of it that is phone-number handling
/// (`best_effort_e164` on the remote and local numbers, as parse calls it).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ParseCost {
    pub records: u64,
    pub parse_us_per_record: f64,
    pub e164_us_per_record: f64,
}

pub fn parse_cost(fixture: &Fixture, plan: &[BatchSpec]) -> ParseCost {
    use deskbind_core::domain::best_effort_e164;
    let now = now_micros();
    let mut n = 0_u64;
    let (mut parse, mut e164) = (Duration::ZERO, Duration::ZERO);
    for spec in plan {
        let uploads = spec.uploads(fixture);
        let t = Instant::now();
        // As the route parses: the batch's numbers memoised.
        std::hint::black_box(CallFacts::parse_batch(&uploads, fixture.region, now));
        let t1 = Instant::now();
        for upload in &uploads {
            let remote = best_effort_e164(upload.remote_number.trim(), fixture.region);
            let local = upload
                .local_number
                .as_deref()
                .and_then(|l| best_effort_e164(l.trim(), fixture.region));
            std::hint::black_box((&remote, &local));
        }
        e164 += t1.elapsed();
        parse += t1 - t;
        n += uploads.len() as u64;
    }
    let per = |d: Duration| d.as_secs_f64() * 1e6 / n.max(1) as f64;
    ParseCost {
        records: n,
        parse_us_per_record: per(parse),
        e164_us_per_record: per(e164),
    }
}
