//! `contacts`: reverse-lookup latency over 1,000,000 contacts and
//! 10,000,000 call records, and the contact import rate, through the real
//! HTTP routes.
//!
//! ```text
//! cargo run --release -p deskbind-bench --bin contacts -- --db sqlite
//! cargo run --release -p deskbind-bench --bin contacts -- --db postgres --scale 0.1
//! ```
//!
//! The fixture (contacts_fixture.rs) is built in SQL on the first run at a
//! scale and kept for the next (`--rebuild` starts over). The server runs in
//! this process on a loopback port (`Application::build`); requests go one
//! at a time over a kept-alive connection, timed from send to the last body
//! byte.

#![allow(clippy::print_stdout)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context as _, ensure};
use clap::Parser;
use deskbind_api::Application;
use deskbind_bench::contacts_fixture::{self, ContactsFixture, Location, PASSWORD, number};
use deskbind_bench::records_fixture::{DEFAULT_POSTGRES_ADMIN_URL, DbKind};
use deskbind_bench::records_ingest::histogram;
use deskbind_bench::report::Quantiles;
use deskbind_core::config::Settings;
use deskbind_core::db::Database;
use deskbind_core::domain::E164;
use secrecy::SecretString;
use serde_json::json;

/// Issue target: lookup p99 through the route.
const LOOKUP_P99_TARGET_MS: f64 = 5.0;
/// Rows per import request (the route's most).
const IMPORT_BATCH: usize = 1000;

#[derive(Parser, Debug)]
#[command(
    name = "contacts",
    about = "deskbind contacts benchmark: reverse lookup p99 at scale and import rate"
)]
struct Args {
    #[arg(long, value_enum)]
    db: DbKind,
    /// 1 = 1,000,000 contacts and 10,000,000 call records.
    #[arg(long, default_value_t = 1.0)]
    scale: f64,
    /// Where SQLite fixtures are kept between runs.
    #[arg(long, default_value = "/tmp/deskbind-bench-contacts")]
    fixture_dir: PathBuf,
    /// Build the fixture again even if a finished one is there.
    #[arg(long)]
    rebuild: bool,
    /// Timed lookups per kind.
    #[arg(long, default_value_t = 500)]
    lookups: usize,
    /// Untimed lookups per kind first.
    #[arg(long, default_value_t = 20)]
    warmup: usize,
    /// Import requests (of 1000 rows) per import kind.
    #[arg(long, default_value_t = 5)]
    import_requests: usize,
    #[arg(long, default_value = DEFAULT_POSTGRES_ADMIN_URL)]
    postgres_url: String,
}

#[derive(Clone, Copy)]
enum Viewer {
    Admin,
    Manager,
    Salesperson,
}

#[derive(Clone, Copy)]
enum Pick {
    /// A random number some contact owns (a handful of calls).
    Contact,
    /// A random number nobody owns.
    Stray,
    /// A hot number with a contact, ~10,000 calls at full scale.
    HotContact,
    /// A hot number without a contact.
    HotStray,
}

struct Kind {
    key: &'static str,
    label: &'static str,
    viewer: Viewer,
    pick: Pick,
    /// Hot numbers: only the ones the salesperson never called (even), or
    /// only the others (odd).
    parity: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.scale > 0.0, "--scale must be positive");
    let started = Instant::now();
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "contacts benchmark: {:?}, scale {}; machine: {cpus} CPUs, load average {}",
        args.db,
        args.scale,
        deskbind_bench::sys::loadavg()
    );
    std::fs::create_dir_all(&args.fixture_dir)?;
    let location = Location::new(args.db, args.scale, &args.fixture_dir, &args.postgres_url)?;
    println!("database: {}", location.describe());
    let fixture = open_or_build(&args, &location)?;
    println!(
        "fixture: {} contacts, {} contact numbers, {} call records ({} to 20 hot numbers); built in {:.0} s contacts + {:.0} s calls + {:.0} s indexes + {:.0} s ANALYZE",
        fixture.contacts,
        fixture.contact_numbers,
        fixture.calls,
        fixture.hot_calls,
        fixture.build_secs.contacts,
        fixture.build_secs.calls,
        fixture.build_secs.indexes,
        fixture.build_secs.analyze
    );
    let summary = run(&args, &location, &fixture).await?;
    println!(
        "total time {:.1} s; load average at the end {}",
        started.elapsed().as_secs_f64(),
        deskbind_bench::sys::loadavg()
    );
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

fn open_or_build(args: &Args, location: &Location) -> anyhow::Result<ContactsFixture> {
    if !args.rebuild && location.exists()? {
        let db = Database::connect(&location.url, 2)?;
        let mut conn = db.get()?;
        if let Some(fixture) = contacts_fixture::load(&mut conn)? {
            println!("reusing the fixture built earlier");
            return Ok(fixture);
        }
        println!("the fixture there is unfinished: building it again");
    }
    location.reset()?;
    let db = Database::connect(&location.url, 2)?;
    let t = Instant::now();
    println!("building the fixture ...");
    let fixture = contacts_fixture::build(&db, args.db, args.scale)?;
    println!("fixture built in {:.1} s", t.elapsed().as_secs_f64());
    Ok(fixture)
}

async fn run(
    args: &Args,
    location: &Location,
    fixture: &ContactsFixture,
) -> anyhow::Result<serde_json::Value> {
    // The generated numbers must be what the route would store.
    for k in [0, fixture.free_numbers_from()] {
        let n = number(k);
        ensure!(
            E164::parse("number", &n, None)?.as_str() == n,
            "{n} is not canonical E.164"
        );
    }
    let data_dir = tempfile::Builder::new()
        .prefix("deskbind-bench-contacts")
        .tempdir()?;
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir.path().to_path_buf(),
        database_url: Some(SecretString::from(location.url.expose_url())),
        embedded_worker: false,
        db_pool_size: 4,
        ..Settings::default()
    };
    let app = Application::build(settings)
        .await
        .context("start the server")?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let handle = app.handle();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()?;
    let admin = login(&client, &base, &fixture.admin_email).await?;
    let manager = login(&client, &base, &fixture.manager_email).await?;
    let salesperson = login(&client, &base, &fixture.salesperson_email).await?;

    let lookups = lookup_phase(
        args,
        fixture,
        &client,
        &base,
        [&admin, &manager, &salesperson],
    )
    .await?;
    let imports = import_phase(args, fixture, &client, &base, &admin).await?;

    handle.stop(true).await;
    server.await??;
    Ok(json!({
        "bench": "contacts",
        "db": format!("{:?}", args.db),
        "scale": args.scale,
        "contacts": fixture.contacts,
        "calls": fixture.calls,
        "lookup_p99_target_ms": LOOKUP_P99_TARGET_MS,
        "lookups": lookups,
        "imports": imports,
    }))
}

async fn login(client: &reqwest::Client, base: &str, email: &str) -> anyhow::Result<String> {
    let res = client
        .post(format!("{base}/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await?;
    let status = res.status();
    let body: serde_json::Value = res.json().await?;
    ensure!(status == 200, "login {email}: {status} {body}");
    body["access_token"]
        .as_str()
        .map(str::to_owned)
        .context("no access_token")
}

async fn lookup_phase(
    args: &Args,
    fixture: &ContactsFixture,
    client: &reqwest::Client,
    base: &str,
    [admin, manager, salesperson]: [&String; 3],
) -> anyhow::Result<serde_json::Value> {
    let kinds = [
        Kind {
            key: "sales_contact",
            label: "salesperson, contact number",
            viewer: Viewer::Salesperson,
            pick: Pick::Contact,
            parity: 0,
        },
        Kind {
            key: "sales_stray",
            label: "salesperson, no contact",
            viewer: Viewer::Salesperson,
            pick: Pick::Stray,
            parity: 0,
        },
        Kind {
            key: "sales_hot_own",
            label: "salesperson, hot, some own",
            viewer: Viewer::Salesperson,
            pick: Pick::HotContact,
            parity: 1,
        },
        Kind {
            key: "sales_hot_none",
            label: "salesperson, hot, none own",
            viewer: Viewer::Salesperson,
            pick: Pick::HotContact,
            parity: 0,
        },
        Kind {
            key: "sales_hot_stray_none",
            label: "salesperson, hot no contact, none own",
            viewer: Viewer::Salesperson,
            pick: Pick::HotStray,
            parity: 0,
        },
        Kind {
            key: "manager_contact",
            label: "manager, contact number",
            viewer: Viewer::Manager,
            pick: Pick::Contact,
            parity: 0,
        },
        Kind {
            key: "manager_stray",
            label: "manager, no contact",
            viewer: Viewer::Manager,
            pick: Pick::Stray,
            parity: 0,
        },
        Kind {
            key: "manager_hot",
            label: "manager, hot with contact",
            viewer: Viewer::Manager,
            pick: Pick::HotContact,
            parity: 1,
        },
        Kind {
            key: "manager_hot_stray",
            label: "manager, hot no contact",
            viewer: Viewer::Manager,
            pick: Pick::HotStray,
            parity: 0,
        },
        Kind {
            key: "admin_hot",
            label: "admin, hot with contact",
            viewer: Viewer::Admin,
            pick: Pick::HotContact,
            parity: 1,
        },
    ];
    println!(
        "== GET /v1/contacts/lookup (ms), {} requests per kind after {} untimed ==",
        args.lookups, args.warmup
    );
    println!(
        "{:<40} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "kind", "p50", "p99", "p99.9", "max", "calls"
    );
    let mut rng = fastrand::Rng::with_seed(0x100C);
    let mut results = serde_json::Map::new();
    let mut verdicts = Vec::new();
    let mut worst: f64 = 0.0;
    for kind in &kinds {
        let token = match kind.viewer {
            Viewer::Admin => admin,
            Viewer::Manager => manager,
            Viewer::Salesperson => salesperson,
        };
        let mut h = histogram()?;
        let mut calls_seen = 0_usize;
        let mut with_contact = 0_usize;
        for i in 0..args.warmup + args.lookups {
            let k = match kind.pick {
                Pick::Contact => fixture.contact_number(&mut rng),
                Pick::Stray => fixture.stray_number(&mut rng),
                Pick::HotContact => fixture.hot_number(2 * rng.u64(0..5) + kind.parity),
                Pick::HotStray => fixture.hot_number(10 + 2 * rng.u64(0..5) + kind.parity),
            };
            let url = format!("{base}/v1/contacts/lookup?number=%2B{}", &number(k)[1..]);
            let sent = Instant::now();
            let res = client.get(&url).bearer_auth(token).send().await?;
            let status = res.status();
            let body = res.bytes().await?;
            let took = sent.elapsed();
            ensure!(
                status == 200,
                "{url} answered {status}: {}",
                String::from_utf8_lossy(&body)
            );
            if i >= args.warmup {
                h.record(u64::try_from(took.as_micros()).unwrap_or(u64::MAX).max(1))?;
                let v: serde_json::Value = serde_json::from_slice(&body)?;
                calls_seen += v["recent_calls"].as_array().map_or(0, Vec::len);
                with_contact += usize::from(!v["contact"].is_null());
            }
        }
        let q = Quantiles::from_micros(&h);
        worst = worst.max(q.p99);
        println!(
            "{:<40} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.1}",
            kind.label,
            q.p50,
            q.p99,
            q.p999,
            q.max,
            calls_seen as f64 / args.lookups.max(1) as f64
        );
        // A kind that must find contacts and did not measures the wrong thing.
        let wants_contact = matches!(kind.pick, Pick::Contact | Pick::HotContact);
        ensure!(
            !wants_contact || with_contact == args.lookups,
            "{}: only {with_contact} of {} lookups found the contact",
            kind.label,
            args.lookups
        );
        if q.p99 > LOOKUP_P99_TARGET_MS {
            verdicts.push(format!("{} {:.2} ms", kind.label, q.p99));
        }
        results.insert(kind.key.into(), serde_json::to_value(&q)?);
    }
    println!(
        "target          lookup p99 <= {LOOKUP_P99_TARGET_MS} ms: worst p99 {worst:.2} ms -> {}",
        if verdicts.is_empty() {
            "met".to_owned()
        } else {
            format!("MISSED ({})", verdicts.join(", "))
        }
    );
    Ok(serde_json::Value::Object(results))
}

/// Import figures: rows per second through `POST /v1/contacts/import`.
async fn import_phase(
    args: &Args,
    fixture: &ContactsFixture,
    client: &reqwest::Client,
    base: &str,
    admin: &str,
) -> anyhow::Result<serde_json::Value> {
    // Numbers and external ids of their own per run, so "new" rows are new
    // on a reused fixture too.
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut rng = fastrand::Rng::with_seed(now_seed());
    let per_kind = args.import_requests * IMPORT_BATCH;
    // A random slot of the free 8-digit numbers (JSON and CSV rows, every
    // other number), so that runs on a kept fixture rarely meet.
    let slot = 4 * per_kind as u64;
    let slots = (100_000_000 - fixture.free_numbers_from()) / slot;
    ensure!(
        slots > 0,
        "--import-requests too large for the free numbers"
    );
    let number_base = fixture.free_numbers_from() + rng.u64(0..slots) * slot;
    println!(
        "== POST /v1/contacts/import, {} requests of {IMPORT_BATCH} rows per kind ==",
        args.import_requests
    );
    println!(
        "{:<28} {:>10} {:>12} {:>14}",
        "kind", "rows/s", "request p50", "request max"
    );
    let mut results = serde_json::Map::new();
    for (format, offset) in [(Format::Json, 0), (Format::Csv, per_kind)] {
        let batches: Vec<Vec<Row>> = (0..args.import_requests)
            .map(|r| {
                (0..IMPORT_BATCH)
                    .map(|j| {
                        let i = offset + r * IMPORT_BATCH + j;
                        Row {
                            external_id: format!("imp-{run}-{i}"),
                            name: format!("Imported {i}"),
                            company: format!("Import Co {}", i % 97),
                            numbers: vec![number(number_base + 2 * i as u64)],
                            tags: vec!["imported".into(), format!("batch{r}")],
                        }
                    })
                    .collect()
            })
            .collect();
        for (pass, expect) in [("new", "created"), ("replay", "unchanged")] {
            let mut h = histogram()?;
            let t = Instant::now();
            for batch in &batches {
                let sent = Instant::now();
                let req = client
                    .post(format!("{base}/v1/contacts/import"))
                    .bearer_auth(admin);
                let req = match format {
                    Format::Json => req.json(&json!({ "rows": batch })),
                    Format::Csv => req.header("content-type", "text/csv").body(csv(batch)),
                };
                let res = req.send().await?;
                let status = res.status();
                let body: serde_json::Value = res.json().await?;
                h.record(
                    u64::try_from(sent.elapsed().as_micros())
                        .unwrap_or(u64::MAX)
                        .max(1),
                )?;
                ensure!(status == 200, "import answered {status}: {body:.300}");
                let results = body["results"].as_array().context("no results")?;
                let wrong = results
                    .iter()
                    .filter(|r| r["status"] != expect)
                    .take(1)
                    .collect::<Vec<_>>();
                ensure!(
                    results.len() == batch.len() && wrong.is_empty(),
                    "{format:?} {pass}: expected every row {expect}, got {wrong:?}"
                );
            }
            let secs = t.elapsed().as_secs_f64();
            let rate = per_kind as f64 / secs;
            let q = Quantiles::from_micros(&h);
            let label = format!("{format:?}, {pass}");
            println!(
                "{label:<28} {rate:>10.0} {:>9.1} ms {:>11.1} ms",
                q.p50, q.max
            );
            results.insert(
                format!("{format:?}_{pass}").to_lowercase(),
                json!({"rows_per_sec": rate, "rows": per_kind, "request_ms": q}),
            );
        }
    }
    Ok(serde_json::Value::Object(results))
}

fn now_seed() -> u64 {
    u64::try_from(deskbind_core::time::now_micros()).unwrap_or(0)
}

#[derive(Debug, Clone, Copy)]
enum Format {
    Json,
    Csv,
}

#[derive(serde::Serialize)]
struct Row {
    external_id: String,
    name: String,
    company: String,
    numbers: Vec<String>,
    tags: Vec<String>,
}

/// The rows as the import's CSV (no field needs quoting).
fn csv(rows: &[Row]) -> String {
    let mut out = String::from("external_id,name,company,numbers,tags\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{}\n",
            r.external_id,
            r.name,
            r.company,
            r.numbers.join(";"),
            r.tags.join(";")
        ));
    }
    out
}
