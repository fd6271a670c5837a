//! Review-list queries: first pages (newest first, 50 rows) through
//! `call_records::list`, for the filters the review screen offers, timed
//! one by one; and the query plans behind them.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context as _;
use deskbind_core::db::{Backend, Database, DbConn, dialect};
use deskbind_core::repo::call_records::{self, CallFilter, Scope};
use deskbind_core::time::seconds;
use deskbind_core::wire::{CallDirection, CallResult};
use hdrhistogram::Histogram;

use crate::records_fixture::{CUSTOMERS, Fixture, customer_digits};
use crate::records_ingest::histogram;

pub const PAGE: i64 = 50;
/// Untimed queries of each kind before the timed ones.
pub const WARMUP_PER_KIND: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// An admin's list: the whole organisation.
    Org,
    /// A salesperson's list: their own calls.
    User,
    /// A salesperson who never made a call (a new hire): an empty page.
    QuietUser,
    /// A manager's list: ten users.
    Manager,
    /// A salesperson's list filtered to one direction.
    UserDirection,
    /// Admin: answered calls in a 30-day window.
    AnsweredWindow,
    /// Admin: one phone.
    Phone,
    /// Admin: a customer's full subscriber number (7–8 digits; about
    /// 1/20,000 of the rows match).
    Number,
    /// Admin: 4 random digits anywhere in the number (about 0.2 % of the
    /// rows match).
    Number4,
    /// Admin: 3 random digits, the fewest a search takes (about 2 % of the
    /// rows match).
    Number3,
}

pub const KINDS: [Kind; 10] = [
    Kind::Org,
    Kind::User,
    Kind::QuietUser,
    Kind::Manager,
    Kind::UserDirection,
    Kind::AnsweredWindow,
    Kind::Phone,
    Kind::Number,
    Kind::Number4,
    Kind::Number3,
];

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Org => "admin, no filter",
            Self::User => "salesperson (1 user)",
            Self::QuietUser => "user without calls",
            Self::Manager => "manager (10 users)",
            Self::UserDirection => "user + direction",
            Self::AnsweredWindow => "answered + 30 days",
            Self::Phone => "phone_id",
            Self::Number => "number (7-8 digits)",
            Self::Number4 => "number (4 digits)",
            Self::Number3 => "number (3 digits)",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Self::Org => "org",
            Self::User => "user",
            Self::QuietUser => "quiet_user",
            Self::Manager => "manager",
            Self::UserDirection => "user_direction",
            Self::AnsweredWindow => "answered_window",
            Self::Phone => "phone",
            Self::Number => "number",
            Self::Number4 => "number4",
            Self::Number3 => "number3",
        }
    }

    pub fn is_number_search(self) -> bool {
        matches!(self, Self::Number | Self::Number4 | Self::Number3)
    }
}

/// One query's scope and filter.
#[derive(Debug, Clone)]
pub struct Params {
    pub scope: Scope,
    pub filter: CallFilter,
}

pub fn params(kind: Kind, fixture: &Fixture, rng: &mut fastrand::Rng) -> Params {
    let users = &fixture.user_ids;
    let user = |rng: &mut fastrand::Rng| users[rng.usize(0..users.len())].clone();
    let mut filter = CallFilter::default();
    let mut scope = None;
    match kind {
        Kind::Org => {}
        Kind::User => scope = Some(vec![user(rng)]),
        Kind::QuietUser => scope = Some(vec![fixture.quiet_user.clone()]),
        Kind::Manager => {
            let first = rng.usize(0..users.len());
            scope = Some(
                (0..10.min(users.len()))
                    .map(|i| users[(first + i) % users.len()].clone())
                    .collect(),
            );
        }
        Kind::UserDirection => {
            scope = Some(vec![user(rng)]);
            filter.direction = Some(match rng.u8(0..3) {
                0 => CallDirection::Outbound,
                1 => CallDirection::Inbound,
                _ => CallDirection::Missed,
            });
        }
        Kind::AnsweredWindow => {
            let window = seconds(30 * 24 * 3600);
            let from = fixture.start + rng.i64(0..(fixture.end - fixture.start - window));
            filter.result = Some(CallResult::Answered);
            filter.from = Some(from);
            filter.until = Some(from + window);
        }
        Kind::Phone => {
            filter.phone_id = Some(fixture.phone_ids[rng.usize(0..fixture.phone_ids.len())]);
        }
        Kind::Number => filter.number = Some(customer_digits(rng.usize(0..CUSTOMERS))),
        Kind::Number4 => filter.number = Some(format!("{:04}", rng.u16(0..10_000))),
        Kind::Number3 => filter.number = Some(format!("{:03}", rng.u16(0..1_000))),
    }
    Params { scope, filter }
}

/// Latency per kind, in microseconds, and rows returned.
#[derive(Debug)]
pub struct QueryStats {
    pub by_kind: BTreeMap<Kind, (Histogram<u64>, u64)>,
    pub all: Histogram<u64>,
    pub all_but_number: Histogram<u64>,
}

/// `total` timed first-page queries, kinds taking turns in a shuffled order,
/// after [`WARMUP_PER_KIND`] untimed ones of each kind; one connection.
pub fn run(db: &Database, fixture: &Fixture, total: usize) -> anyhow::Result<QueryStats> {
    let mut conn = fixture.conn(db)?;
    let conn: &mut DbConn = &mut conn;
    let mut rng = fastrand::Rng::with_seed(0x51E5);
    for kind in KINDS {
        for _ in 0..WARMUP_PER_KIND {
            let p = params(kind, fixture, &mut rng);
            call_records::list(conn, fixture.org, &p.scope, &p.filter, None, PAGE)?;
        }
    }
    let mut order: Vec<Kind> = (0..total).map(|i| KINDS[i % KINDS.len()]).collect();
    rng.shuffle(&mut order);
    let mut stats = QueryStats {
        by_kind: BTreeMap::new(),
        all: histogram()?,
        all_but_number: histogram()?,
    };
    for kind in KINDS {
        stats.by_kind.insert(kind, (histogram()?, 0));
    }
    for kind in order {
        let p = params(kind, fixture, &mut rng);
        let t = Instant::now();
        let rows = call_records::list(conn, fixture.org, &p.scope, &p.filter, None, PAGE)?;
        let us = u64::try_from(t.elapsed().as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        std::hint::black_box(&rows);
        stats.all.saturating_record(us);
        if !kind.is_number_search() {
            stats.all_but_number.saturating_record(us);
        }
        if let Some((h, n)) = stats.by_kind.get_mut(&kind) {
            h.saturating_record(us);
            *n += rows.len() as u64;
        }
    }
    Ok(stats)
}

/// The SQL `call_records::list` sends for `p` (first page), with the values
/// inlined, for EXPLAIN. Mirrors `filtered` in core/src/repo/call_records.rs:
/// one user is an equality; several are `IN (...)` on SQLite and
/// `= ANY(array)` on PostgreSQL, as diesel writes them.
pub fn sql_of(fixture: &Fixture, p: &Params, postgres: bool) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let any = |col: &str, ids: &[String]| {
        let list: Vec<String> = ids.iter().map(|s| quote(s)).collect();
        match list.as_slice() {
            [one] => format!("{col} = {one}"),
            _ if postgres => format!("{col} = ANY(ARRAY[{}])", list.join(", ")),
            _ => format!("{col} IN ({})", list.join(", ")),
        }
    };
    let mut clauses = vec![format!("org_id = {}", quote(&fixture.org.to_string()))];
    if let Some(users) = &p.scope {
        clauses.push(any("user_id", users));
    }
    let f = &p.filter;
    if let Some(users) = &f.users {
        clauses.push(any("user_id", users));
    }
    if let Some(phone) = f.phone_id {
        clauses.push(format!("phone_id = {}", quote(&phone.to_string())));
    }
    if let Some(d) = f.direction {
        clauses.push(format!("direction = {}", quote(d.as_str())));
    }
    if let Some(r) = f.result {
        clauses.push(format!("result = {}", quote(r.as_str())));
    }
    if let Some(from) = f.from {
        clauses.push(format!("started_at >= {from}"));
    }
    if let Some(until) = f.until {
        clauses.push(format!("started_at < {until}"));
    }
    // The number search as PostgreSQL runs it (its trigram index), and as
    // SQLite runs it for common digits (a walk in started order); for rarer
    // digits SQLite fetches the rowids its FTS5 index lists instead
    // (`call_records::list`, decision 0014).
    if let Some(number) = &f.number {
        clauses.push(format!(
            "remote_digits LIKE {}",
            quote(&format!("%{number}%"))
        ));
    }
    format!(
        "SELECT * FROM call_records WHERE {} ORDER BY started_at DESC, id DESC LIMIT {PAGE}",
        clauses.join(" AND ")
    )
}

/// The plan of `p`'s query: `EXPLAIN (ANALYZE, BUFFERS)` on PostgreSQL (it
/// runs the query), `EXPLAIN QUERY PLAN` on SQLite. With the values inlined
/// PostgreSQL shows its custom plan; the timed queries go through diesel's
/// prepared-statement cache, where PostgreSQL may switch to a generic plan
/// after five executions (compare a run with `--no-statement-cache`).
pub fn explain(db: &Database, fixture: &Fixture, p: &Params) -> anyhow::Result<Vec<String>> {
    let mut conn = fixture.conn(db)?;
    let postgres = dialect::backend_of(&conn) == Backend::Postgres;
    let sql = sql_of(fixture, p, postgres);
    dialect::query_plan(&mut conn, &sql).with_context(|| sql.clone())
}
