//! PostgreSQL's job claim in one statement that stays prepared.
//!
//! The claim used to be three round trips (lock the due rows, lease them,
//! read them back), and the UPDATE among them was parsed and planned on
//! every call: diesel caches no UPDATE, and `sql_query` marks itself unsafe
//! to cache. Here the lock is a CTE of the UPDATE that leases, and
//! RETURNING hands back the leased rows with
//! the in-flight flag they had before (`due.in_flight`; RETURNING's own
//! columns show the new values). This type pushes fixed SQL and binds
//! without opting out of the cache, so diesel keeps the statement
//! prepared per connection, keyed by its SQL text.

use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Text};

use crate::db::schema::jobs;

/// Up to `limit` unfinished `kind` jobs due at `now` whose lease is free,
/// earliest first, locked `FOR UPDATE SKIP LOCKED` (concurrent claimers
/// split the queue) and leased to `owner` until `lease_until` in the same
/// statement. Loads as `(JobRow, in_flight before the claim)`, in no order.
/// SQLite's claim (dialect.rs) takes the same parameters from it.
pub(super) struct ClaimDueJobs<'a> {
    pub kind: &'a str,
    pub now: i64,
    pub limit: i64,
    pub owner: &'a str,
    pub lease_until: i64,
}

impl QueryId for ClaimDueJobs<'_> {
    type QueryId = ();
    // Not static: diesel then keys its statement cache by the SQL text,
    // which is the same on every call.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for ClaimDueJobs<'_> {
    type SqlType = (jobs::SqlType, BigInt);
}

impl<Conn> RunQueryDsl<Conn> for ClaimDueJobs<'_> {}

impl QueryFragment<Pg> for ClaimDueJobs<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        // The same filter and order as the SQLite claim (dialect.rs), so
        // the walk goes through `jobs_kind_due_idx (kind, run_at) WHERE
        // outcome IS NULL` and stops at the limit without a sort.
        // MATERIALIZED: the locking walk runs once. Inlined (PostgreSQL
        // 12+ may), a plan with it on the inner side of a nested loop
        // would run it per outer row and lease more than `limit` jobs.
        out.push_sql(
            "WITH due AS MATERIALIZED (SELECT id, in_flight FROM jobs \
             WHERE outcome IS NULL AND kind = ",
        );
        out.push_bind_param::<Text, _>(self.kind)?;
        out.push_sql(" AND run_at <= ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(" AND (lease_until IS NULL OR lease_until < ");
        out.push_bind_param::<BigInt, _>(&self.now)?;
        out.push_sql(") ORDER BY run_at LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)?;
        // SET's right-hand sides read the row as it was, so a job still
        // in flight (its last holder died mid-send) counts a possible
        // duplicate, as the SQLite claim does.
        out.push_sql(
            " FOR UPDATE SKIP LOCKED) \
             UPDATE jobs SET lease_owner = ",
        );
        out.push_bind_param::<Text, _>(self.owner)?;
        out.push_sql(", lease_until = ");
        out.push_bind_param::<BigInt, _>(&self.lease_until)?;
        out.push_sql(
            ", attempts = jobs.attempts + 1, \
             possible_duplicates = jobs.possible_duplicates + jobs.in_flight, \
             in_flight = 1 \
             FROM due WHERE jobs.id = due.id RETURNING ",
        );
        // The columns in the schema's order, as `JobRow` loads them.
        jobs::all_columns.walk_ast(out.reborrow())?;
        out.push_sql(", due.in_flight");
        Ok(())
    }
}
