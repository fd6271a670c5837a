//! Scoring's reads of `call_records`: the calls with a set of numbers, in
//! the few columns scoring needs, and the disposition codes of some calls
//! (`call_annotations` joined by hand with `dispositions`). Only reads;
//! the writers of these tables are their own modules.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::{call_annotations, call_records, dispositions};
use crate::ids::OrgId;

/// One call as scoring reads it.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct HistoryRow {
    pub id: String,
    pub remote_e164: Option<String>,
    pub direction: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub blocked: bool,
}

/// Keys per `IN (...)` list.
const KEY_CHUNK: usize = 500;

/// The columns of a [`HistoryRow`], in its order.
const HISTORY_COLUMNS: (
    call_records::id,
    call_records::remote_e164,
    call_records::direction,
    call_records::started_at,
    call_records::answered_at,
    call_records::blocked,
) = (
    call_records::id,
    call_records::remote_e164,
    call_records::direction,
    call_records::started_at,
    call_records::answered_at,
    call_records::blocked,
);

/// The organisation's calls with any of `numbers` (E.164).
pub fn with_numbers(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[String],
) -> Result<Vec<HistoryRow>, RepoError> {
    let org = org.to_string();
    let mut rows = Vec::new();
    for chunk in numbers.chunks(KEY_CHUNK) {
        rows.extend(
            call_records::table
                .filter(call_records::org_id.eq(&org))
                .filter(call_records::remote_e164.eq_any(chunk))
                .select(HISTORY_COLUMNS)
                .load::<HistoryRow>(conn)?,
        );
    }
    Ok(rows)
}

/// `(call id, disposition code)` of those of `calls` that have one.
pub fn disposition_codes(
    conn: &mut DbConn,
    org: OrgId,
    calls: &[String],
) -> Result<Vec<(String, String)>, RepoError> {
    let org = org.to_string();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for chunk in calls.chunks(KEY_CHUNK) {
        pairs.extend(
            call_annotations::table
                .filter(call_annotations::org_id.eq(&org))
                .filter(call_annotations::call_record_id.eq_any(chunk))
                .filter(call_annotations::disposition_id.is_not_null())
                .select((
                    call_annotations::call_record_id,
                    call_annotations::disposition_id.assume_not_null(),
                ))
                .load::<(String, String)>(conn)?,
        );
    }
    let mut ids: Vec<String> = pairs.iter().map(|(_, d)| d.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut codes = std::collections::HashMap::new();
    for chunk in ids.chunks(KEY_CHUNK) {
        codes.extend(
            dispositions::table
                .filter(dispositions::org_id.eq(&org))
                .filter(dispositions::id.eq_any(chunk))
                .select((dispositions::id, dispositions::code))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(pairs
        .into_iter()
        .filter_map(|(call, d)| codes.get(&d).map(|code| (call, code.clone())))
        .collect())
}

/// The organisation's calls among `ids` (a batch just stored or changed).
/// Found by primary key alone and the organisation checked here: with
/// `org_id = ?` in the query, SQLite (without ANALYZE statistics) walks
/// the organisation's whole index instead of fetching 500 rows by key,
/// which made this read a quarter of an ingest batch and grow with the
/// table (docs/performance.md, "statement profile").
pub fn with_ids(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[String],
) -> Result<Vec<HistoryRow>, RepoError> {
    let org = org.to_string();
    let mut rows = Vec::new();
    for chunk in ids.chunks(KEY_CHUNK) {
        let found = call_records::table
            .filter(call_records::id.eq_any(chunk))
            .select((call_records::org_id, HISTORY_COLUMNS))
            .load::<(String, HistoryRow)>(conn)?;
        rows.extend(
            found
                .into_iter()
                .filter(|(of, _)| *of == org)
                .map(|(_, row)| row),
        );
    }
    Ok(rows)
}

/// How many calls not flagged `blocked` one number has in one direction,
/// and how many of them were answered.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct NumberCounts {
    pub number: Option<String>,
    pub direction: String,
    pub calls: i64,
    pub answered: i64,
}

/// The counts of the organisation's unblocked calls with `numbers`, per
/// number and direction: what scoring's count rules count, read without
/// loading the calls.
pub fn counts_by_number(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[String],
) -> Result<Vec<NumberCounts>, RepoError> {
    use diesel::dsl::{count, count_star};
    let org = org.to_string();
    let mut rows = Vec::new();
    for chunk in numbers.chunks(KEY_CHUNK) {
        rows.extend(
            call_records::table
                .filter(call_records::org_id.eq(&org))
                .filter(call_records::remote_e164.eq_any(chunk))
                .filter(call_records::blocked.eq(false))
                .group_by((call_records::remote_e164, call_records::direction))
                .select((
                    call_records::remote_e164,
                    call_records::direction,
                    count_star(),
                    count(call_records::answered_at),
                ))
                .load::<NumberCounts>(conn)?,
        );
    }
    Ok(rows)
}
