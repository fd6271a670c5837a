//! The `call_records` table. Reads: one by id, the review list (newest
//! first, keyset), the sync feed (by change number) and the rows behind
//! statistics and digests; every one is scoped to the caller's organisation
//! and to the users the caller's role may see. Writes are the record
//! ingest's and recording linking's (`usecases::record_ingest`,
//! `usecases::recordings`), which number each change (`sync_seq`).

use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};

use super::{DbConn, RepoError, stored_id};
use crate::db::dialect;
use crate::db::schema::{call_annotations, call_records};
use crate::domain::call_facts::{CallFacts, Reporter};
use crate::domain::number_search::{self, stored_digits};
use crate::domain::push_message::{DIGEST_LATEST, Digest, DigestCall};
use crate::ids::{CallRecordId, OrgId, PhoneId};
use crate::time::{Micros, to_datetime};
use crate::wire::{CallDirection, CallRecord, CallResult, Recording};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = call_records)]
#[diesel(treat_none_as_default_value = false, treat_none_as_null = true)]
pub struct CallRecordRow {
    pub id: String,
    pub org_id: String,
    pub phone_id: String,
    pub call_id: String,
    pub user_id: Option<String>,
    pub dial_id: Option<String>,
    pub direction: String,
    pub local_number: Option<String>,
    pub local_e164: Option<String>,
    pub remote_number: String,
    pub remote_e164: Option<String>,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub duration_secs: Option<i64>,
    pub result: Option<String>,
    pub recording_id: Option<String>,
    pub phone_reported_at: Option<i64>,
    pub app_reported_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub sync_seq: i64,
    /// What number search looks in: the digits of `remote_number` and
    /// `remote_e164` (`number_search::stored_digits`, kept by `set_facts`).
    pub remote_digits: String,
    /// An inbound call from a number blocked for its user (set by the
    /// ingest, `usecases::record_ingest`).
    pub blocked: bool,
    /// The contact the remote number belongs to (`usecases::contact_links`
    /// keeps it).
    pub contact_id: Option<String>,
}

impl CallRecordRow {
    pub fn record_id(&self) -> Result<CallRecordId, RepoError> {
        stored_id(&self.id)
    }

    pub fn direction(&self) -> Result<CallDirection, RepoError> {
        CallDirection::parse(&self.direction)
            .ok_or_else(|| RepoError::Corrupt(format!("direction {:?}", self.direction)))
    }

    pub fn result(&self) -> Result<Option<CallResult>, RepoError> {
        self.result
            .as_deref()
            .map(|r| {
                CallResult::parse(r).ok_or_else(|| RepoError::Corrupt(format!("result {r:?}")))
            })
            .transpose()
    }

    /// The facts as stored, for merging a new report into.
    pub fn facts(&self) -> Result<CallFacts, RepoError> {
        Ok(CallFacts {
            call_id: self.call_id.clone(),
            direction: self.direction()?,
            local_number: self.local_number.clone(),
            local_e164: self.local_e164.clone(),
            remote_number: self.remote_number.clone(),
            remote_e164: self.remote_e164.clone(),
            started_at: self.started_at,
            answered_at: self.answered_at,
            ended_at: self.ended_at,
            duration_secs: self.duration_secs,
            result: self.result()?,
            dial_id: self.dial_id.as_deref().map(stored_id).transpose()?,
        })
    }

    /// A new record of `facts` in the organisation's phone, first reported
    /// by `reporter` at `now`; not yet numbered (`sync_seq` 0) and without
    /// a recording.
    pub fn new(
        org_id: String,
        phone_id: String,
        user_id: Option<String>,
        facts: &CallFacts,
        reporter: Reporter,
        now: Micros,
    ) -> Self {
        let mut row = Self {
            id: CallRecordId::new().to_string(),
            org_id,
            phone_id,
            call_id: facts.call_id.clone(),
            user_id,
            dial_id: None,
            direction: String::new(),
            local_number: None,
            local_e164: None,
            remote_number: String::new(),
            remote_e164: None,
            started_at: 0,
            answered_at: None,
            ended_at: None,
            duration_secs: None,
            result: None,
            recording_id: None,
            phone_reported_at: (reporter == Reporter::Phone).then_some(now),
            app_reported_at: (reporter == Reporter::App).then_some(now),
            created_at: now,
            updated_at: now,
            sync_seq: 0,
            remote_digits: String::new(),
            blocked: false,
            contact_id: None,
        };
        row.set_facts(facts);
        row
    }

    /// Overwrites the fact columns with `facts`.
    pub fn set_facts(&mut self, facts: &CallFacts) {
        self.direction = facts.direction.as_str().to_owned();
        self.local_number = facts.local_number.clone();
        self.local_e164 = facts.local_e164.clone();
        self.remote_number = facts.remote_number.clone();
        self.remote_e164 = facts.remote_e164.clone();
        self.remote_digits = stored_digits(&self.remote_number, self.remote_e164.as_deref());
        self.started_at = facts.started_at;
        self.answered_at = facts.answered_at;
        self.ended_at = facts.ended_at;
        self.duration_secs = facts.duration_secs;
        self.result = facts.result.map(|r| r.as_str().to_owned());
        self.dial_id = facts.dial_id.map(|d| d.to_string());
    }

    /// Hides what a private call shows only to its own user: the numbers
    /// that identify the other party, the dial (which names the number)
    /// and the recording. The one place that decides what a private call
    /// hides in the record's columns; `usecases::record_reads::redact_for`
    /// applies it (and drops the annotation) for every read. A column that
    /// identifies the other party (a contact link) is cleared here too.
    pub fn redact_private(&mut self) {
        self.remote_number = String::new();
        self.remote_e164 = None;
        self.remote_digits = String::new();
        self.dial_id = None;
        self.recording_id = None;
        self.contact_id = None;
    }

    /// The record as sent, with its recording (read from `recordings`).
    pub fn to_wire(&self, recording: Option<Recording>) -> Result<CallRecord, RepoError> {
        Ok(CallRecord {
            id: self.record_id()?,
            phone_id: stored_id(&self.phone_id)?,
            call_id: self.call_id.clone(),
            user_id: self.user_id.as_deref().map(stored_id).transpose()?,
            dial_id: self.dial_id.as_deref().map(stored_id).transpose()?,
            direction: self.direction()?,
            local_number: self.local_number.clone(),
            local_number_e164: self.local_e164.clone(),
            remote_number: self.remote_number.clone(),
            remote_number_e164: self.remote_e164.clone(),
            started_at: to_datetime(self.started_at),
            answered_at: self.answered_at.map(to_datetime),
            ended_at: self.ended_at.map(to_datetime),
            duration_secs: self.duration_secs,
            result: self.result()?,
            recording,
            reported_by_phone: self.phone_reported_at.is_some(),
            reported_by_app: self.app_reported_at.is_some(),
            blocked: self.blocked,
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
            notes: None,
            tags: Vec::new(),
            disposition: None,
            callback_at: None,
            private: false,
            redacted: false,
            annotation_version: 0,
            contact: None,
        })
    }
}

/// Which users' calls a caller may see: `None` for the whole organisation
/// (admins), otherwise these user ids (a manager's teams and themself, a
/// salesperson themself).
pub type Scope = Option<Vec<String>>;

/// What the review list and the export filter on. All optional; they
/// combine with AND, and always within the caller's scope.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct CallFilter {
    /// Only these users' calls (a `user_id` filter, or a team's members).
    pub users: Option<Vec<String>>,
    pub phone_id: Option<PhoneId>,
    pub direction: Option<CallDirection>,
    pub result: Option<CallResult>,
    pub from: Option<Micros>,
    pub until: Option<Micros>,
    /// Digits the remote number contains, as reported or in E.164
    /// (characters other than digits are ignored; `number_search`).
    pub number: Option<String>,
    /// Only calls with (true) or without (false) a linked recording.
    pub has_recording: Option<bool>,
    /// Only calls that lasted at least this many seconds (calls without a
    /// duration never match a duration bound).
    pub min_duration_secs: Option<i64>,
    /// Only calls that lasted at most this many seconds.
    pub max_duration_secs: Option<i64>,
    /// Who searches: a number search never finds another user's private
    /// call (its number is hidden from them).
    pub searcher: Option<String>,
    /// Only calls with this disposition.
    pub disposition_id: Option<String>,
    /// Only calls linked to this contact.
    pub contact_id: Option<String>,
}

/// A position in the newest-first list: the last row's start and id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListCursor {
    pub started_at: Micros,
    pub id: String,
}

impl ListCursor {
    pub fn encode(&self) -> String {
        format!("{}_{}", self.started_at, self.id)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (at, id) = raw.split_once('_')?;
        let started_at = at.parse().ok()?;
        id.parse::<CallRecordId>().ok()?;
        Some(Self {
            started_at,
            id: id.to_owned(),
        })
    }

    pub fn of(row: &CallRecordRow) -> Self {
        Self {
            started_at: row.started_at,
            id: row.id.clone(),
        }
    }
}

type Boxed<ST> = call_records::BoxedQuery<'static, crate::db::DbBackend, ST>;
type RowSql = diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<CallRecordRow, crate::db::DbBackend>>;

fn rows() -> Boxed<RowSql> {
    call_records::table
        .select(CallRecordRow::as_select())
        .into_boxed()
}

fn scoped<ST>(mut query: Boxed<ST>, org: OrgId, scope: &Scope) -> Boxed<ST> {
    query = query.filter(call_records::org_id.eq(org.to_string()));
    if let Some(users) = scope {
        query = only_users(query, users);
    }
    query
}

/// One user is an equality, so PostgreSQL walks the (org, user, started)
/// index in order; `= ANY(array)` makes it scan the organisation's index
/// and filter (measured: p99 5 ms instead of 1 ms over 1M rows).
fn only_users<ST>(query: Boxed<ST>, users: &[String]) -> Boxed<ST> {
    match users {
        [one] => query.filter(call_records::user_id.eq(one.clone())),
        many => query.filter(call_records::user_id.eq_any(many.to_vec())),
    }
}

/// How a number search runs (docs/decisions/0014-number-search.md).
enum NumberPlan {
    /// No number filter.
    Off,
    /// `remote_digits LIKE '%digits%'`: served by the trigram index on
    /// PostgreSQL; on SQLite a walk in `started_at` order, chosen when the
    /// digits are so common that the walk meets a page of them soon.
    Contains(String),
    /// SQLite: exactly the records with these rowids match (from the FTS5
    /// index), few enough to fetch and sort.
    Rowids(Vec<i64>),
}

/// The most rowids SQLite's index may return for a search to fetch them
/// all; beyond this the digits are common and the walk is quicker. Chosen
/// by measurement (docs/performance.md, "Call records").
const ROWID_LIST_CAP: i64 = 5_000;

fn number_plan(conn: &mut DbConn, filter: &CallFilter, cap: i64) -> Result<NumberPlan, RepoError> {
    let Some(number) = &filter.number else {
        return Ok(NumberPlan::Off);
    };
    let digits = number_search::digits_of(number);
    if digits.len() >= number_search::MIN_SEARCH_DIGITS
        && let Some(rowids) = dialect::number_search_rowids(conn, &digits, cap + 1)?
        && i64::try_from(rowids.len()).is_ok_and(|n| n <= cap)
    {
        return Ok(NumberPlan::Rowids(rowids));
    }
    Ok(NumberPlan::Contains(digits))
}

fn filtered<ST>(
    query: Boxed<ST>,
    org: OrgId,
    scope: &Scope,
    filter: &CallFilter,
    number: &NumberPlan,
) -> Boxed<ST> {
    let mut query = match number {
        NumberPlan::Off | NumberPlan::Contains(_) => {
            query.filter(call_records::org_id.eq(org.to_string()))
        }
        NumberPlan::Rowids(rowids) => {
            let list: Vec<String> = rowids.iter().map(i64::to_string).collect();
            // `org_id || ''` is not indexable, so SQLite fetches the listed
            // rows instead of walking the organisation's index past them
            // (without ANALYZE it guesses that index yields ten rows).
            query
                .filter(call_records::org_id.concat("").eq(org.to_string()))
                .filter(sql::<Bool>(&format!(
                    "call_records.rowid IN ({})",
                    list.join(",")
                )))
        }
    };
    if let Some(users) = scope {
        query = only_users(query, users);
    }
    if let Some(users) = &filter.users {
        query = only_users(query, users);
    }
    if let Some(phone) = filter.phone_id {
        query = query.filter(call_records::phone_id.eq(phone.to_string()));
    }
    if let Some(direction) = filter.direction {
        query = query.filter(call_records::direction.eq(direction.as_str()));
    }
    if let Some(result) = filter.result {
        query = query.filter(call_records::result.eq(result.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(call_records::started_at.ge(from));
    }
    if let Some(until) = filter.until {
        query = query.filter(call_records::started_at.lt(until));
    }
    match filter.has_recording {
        Some(true) => query = query.filter(call_records::recording_id.is_not_null()),
        Some(false) => query = query.filter(call_records::recording_id.is_null()),
        None => {}
    }
    if let Some(min) = filter.min_duration_secs {
        query = query.filter(call_records::duration_secs.ge(min));
    }
    if let Some(max) = filter.max_duration_secs {
        query = query.filter(call_records::duration_secs.le(max));
    }
    if let Some(disposition) = &filter.disposition_id {
        // Another user's private call hides its disposition, so it never
        // matches this filter either.
        let searcher = filter.searcher.clone().unwrap_or_default();
        query = query.filter(
            sql::<Bool>(
                "EXISTS (SELECT 1 FROM call_annotations a WHERE a.call_record_id = call_records.id AND a.disposition_id = ",
            )
            .bind::<Text, _>(disposition.clone())
            .sql(" AND (a.private = 0 OR call_records.user_id = ")
            .bind::<Text, _>(searcher)
            .sql("))"),
        );
    }
    if let Some(contact) = &filter.contact_id {
        query = query.filter(call_records::contact_id.eq(contact.clone()));
    }
    // Another user's private call hides its number and its contact, so a
    // search by either never finds it.
    let hidden_matters = !matches!(number, NumberPlan::Off) || filter.contact_id.is_some();
    if let (true, Some(searcher)) = (hidden_matters, &filter.searcher) {
        query = query.filter(
            sql::<Bool>(
                "NOT EXISTS (SELECT 1 FROM call_annotations a WHERE a.call_record_id = call_records.id AND a.private = 1 AND call_records.user_id <> ",
            )
            .bind::<Text, _>(searcher.clone())
            .sql(")"),
        );
    }
    if let NumberPlan::Contains(digits) = number {
        // A literal with a bound value is never a cached prepared statement,
        // so PostgreSQL plans each search with its digits (a generic plan
        // cannot tell a rare number from a common prefix).
        query = query.filter(
            sql::<Bool>("call_records.remote_digits LIKE ").bind::<Text, _>(format!("%{digits}%")),
        );
    }
    query
}

/// One page of the newest-first list after `cursor`; fetches `limit` rows.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    filter: &CallFilter,
    cursor: Option<&ListCursor>,
    limit: i64,
) -> Result<Vec<CallRecordRow>, RepoError> {
    list_capped(conn, org, scope, filter, cursor, limit, ROWID_LIST_CAP)
}

/// [`list`] with another [`ROWID_LIST_CAP`], so that a test reaches both of
/// SQLite's number-search plans with a few hundred rows.
#[cfg(feature = "test-support")]
pub fn list_with_rowid_cap(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    filter: &CallFilter,
    cursor: Option<&ListCursor>,
    limit: i64,
    rowid_cap: i64,
) -> Result<Vec<CallRecordRow>, RepoError> {
    list_capped(conn, org, scope, filter, cursor, limit, rowid_cap)
}

fn list_capped(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    filter: &CallFilter,
    cursor: Option<&ListCursor>,
    limit: i64,
    rowid_cap: i64,
) -> Result<Vec<CallRecordRow>, RepoError> {
    let number = number_plan(conn, filter, rowid_cap)?;
    if matches!(&number, NumberPlan::Rowids(r) if r.is_empty()) {
        return Ok(Vec::new());
    }
    let mut query = filtered(rows(), org, scope, filter, &number);
    if let Some(c) = cursor {
        // The bare `<=` is what the databases can start an index range at;
        // the OR alone is only a filter, and a deep page would walk every
        // row of the pages before it.
        query = query
            .filter(call_records::started_at.le(c.started_at))
            .filter(
                call_records::started_at
                    .lt(c.started_at)
                    .or(call_records::started_at
                        .eq(c.started_at)
                        .and(call_records::id.lt(c.id.clone()))),
            );
    }
    Ok(query
        .order((call_records::started_at.desc(), call_records::id.desc()))
        .limit(limit)
        .load(conn)?)
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    id: CallRecordId,
) -> Result<CallRecordRow, RepoError> {
    Ok(scoped(rows(), org, scope)
        .filter(call_records::id.eq(id.to_string()))
        .first(conn)?)
}

/// Records changed after change number `after`, oldest change first.
pub fn changed_since(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<CallRecordRow>, RepoError> {
    Ok(scoped(rows(), org, scope)
        .filter(call_records::sync_seq.gt(after))
        .order(call_records::sync_seq.asc())
        .limit(limit)
        .load(conn)?)
}

/// The digest of records that arrived or changed after change `after` up
/// to and including `through`, within the scope: counts by direction and
/// the newest few. `through` must be a committed change number
/// (`sync_seq::current`), so nothing inside the range can still appear.
pub fn digest(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    after: i64,
    through: i64,
) -> Result<Digest, RepoError> {
    let mut digest = Digest {
        through_seq: through,
        ..Digest::default()
    };
    if through <= after {
        return Ok(digest);
    }
    let directions: Vec<String> = in_range(
        org,
        scope,
        after,
        through,
        call_records::table
            .select(call_records::direction)
            .into_boxed(),
    )
    .load(conn)?;
    for direction in &directions {
        match CallDirection::parse(direction) {
            Some(CallDirection::Missed) => digest.missed += 1,
            Some(CallDirection::Inbound) => digest.inbound += 1,
            Some(CallDirection::Outbound) => digest.outbound += 1,
            None => return Err(RepoError::Corrupt(format!("direction {direction:?}"))),
        }
    }
    digest.records = u32::try_from(directions.len()).unwrap_or(u32::MAX);
    let latest: Vec<(String, String, String, Option<String>, i64)> = in_range(
        org,
        scope,
        after,
        through,
        call_records::table
            .select((
                call_records::id,
                call_records::direction,
                call_records::remote_number,
                call_records::remote_e164,
                call_records::started_at,
            ))
            .into_boxed(),
    )
    .order((call_records::started_at.desc(), call_records::id.desc()))
    .limit(DIGEST_LATEST as i64)
    .load(conn)?;
    // A digest is shared by everyone with the same scope, so a private
    // call's number is left out for all of them (its user sees it in the
    // app); the call is still counted.
    let ids: Vec<&str> = latest.iter().map(|l| l.0.as_str()).collect();
    let private: Vec<String> = call_annotations::table
        .filter(call_annotations::call_record_id.eq_any(&ids))
        .filter(call_annotations::private.ne(0))
        .select(call_annotations::call_record_id)
        .load(conn)?;
    digest.latest = latest
        .into_iter()
        .map(|(id, direction, raw, e164, started_at)| {
            let remote_number = if private.contains(&id) {
                PRIVATE_NUMBER.to_owned()
            } else {
                e164.unwrap_or(raw)
            };
            Ok(DigestCall {
                id,
                direction: CallDirection::parse(&direction)
                    .ok_or_else(|| RepoError::Corrupt(format!("direction {direction:?}")))?,
                remote_number,
                started_at: to_datetime(started_at)
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            })
        })
        .collect::<Result<_, RepoError>>()?;
    Ok(digest)
}

/// What a digest shows in place of a private call's number.
pub const PRIVATE_NUMBER: &str = "private";

/// Records of the scope whose change number is in `(after, through]`.
fn in_range<ST>(
    org: OrgId,
    scope: &Scope,
    after: i64,
    through: i64,
    query: Boxed<ST>,
) -> Boxed<ST> {
    scoped(query, org, scope)
        .filter(call_records::sync_seq.gt(after))
        .filter(call_records::sync_seq.le(through))
}

/// The phone's records of `call_ids`.
pub fn by_call_ids(
    conn: &mut DbConn,
    phone_id: &str,
    call_ids: &[&str],
) -> Result<Vec<CallRecordRow>, RepoError> {
    Ok(call_records::table
        .filter(call_records::phone_id.eq(phone_id))
        .filter(call_records::call_id.eq_any(call_ids))
        .select(CallRecordRow::as_select())
        .load(conn)?)
}

/// The records `ids` of `org`, oldest first (the order the purge reads).
/// Found by primary key alone and then sorted and checked here: with the
/// organisation or an ORDER BY in the query, SQLite walks the
/// organisation's index instead, a million rows per call.
pub fn by_ids_oldest_first(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[String],
) -> Result<Vec<CallRecordRow>, RepoError> {
    let org = org.to_string();
    let mut rows: Vec<CallRecordRow> = call_records::table
        .filter(call_records::id.eq_any(ids))
        .select(CallRecordRow::as_select())
        .load(conn)?;
    rows.retain(|r| r.org_id == org);
    rows.sort_unstable_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
    Ok(rows)
}

/// The phone's record of `call_id` as `(id, owner)`, if it has arrived.
pub fn id_and_owner(
    conn: &mut DbConn,
    phone_id: &str,
    call_id: &str,
) -> Result<Option<(String, Option<String>)>, RepoError> {
    Ok(call_records::table
        .filter(call_records::phone_id.eq(phone_id))
        .filter(call_records::call_id.eq(call_id))
        .select((call_records::id, call_records::user_id))
        .first(conn)
        .optional()?)
}

/// New rows, in multi-row INSERTs.
pub fn insert_many(conn: &mut DbConn, rows: &[CallRecordRow]) -> Result<(), RepoError> {
    dialect::insert_batch(conn, diesel::insert_into(call_records::table).values(rows))?;
    Ok(())
}

/// Writes every column of a stored row.
pub fn update(conn: &mut DbConn, row: &CallRecordRow) -> Result<(), RepoError> {
    diesel::update(call_records::table.find(row.id.clone()))
        .set(row)
        .execute(conn)?;
    Ok(())
}

/// Links recording `recording_id` to record `record_id` as change `seq`.
pub fn link_recording(
    conn: &mut DbConn,
    record_id: &str,
    recording_id: &str,
    seq: i64,
    now: Micros,
) -> Result<(), RepoError> {
    diesel::update(call_records::table.find(record_id))
        .set((
            call_records::recording_id.eq(recording_id),
            call_records::sync_seq.eq(seq),
            call_records::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// The newest `limit` records of the scope with the remote number `e164`
/// (reverse lookup; served by `call_records_remote_e164_idx`).
pub fn latest_with_number(
    conn: &mut DbConn,
    org: OrgId,
    scope: &Scope,
    e164: &str,
    limit: i64,
) -> Result<Vec<CallRecordRow>, RepoError> {
    Ok(scoped(rows(), org, scope)
        .filter(call_records::remote_e164.eq(e164.to_owned()))
        .order((call_records::started_at.desc(), call_records::id.desc()))
        .limit(limit)
        .load(conn)?)
}

/// Numbers an annotation change as change `seq`, so the sync feed carries
/// the record again.
pub fn touch(conn: &mut DbConn, record_id: &str, seq: i64, now: Micros) -> Result<(), RepoError> {
    diesel::update(call_records::table.find(record_id))
        .set((
            call_records::sync_seq.eq(seq),
            call_records::updated_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Links the organisation's unlinked records with one of `numbers` (E.164)
/// to `contact`; how many.
pub fn link_numbers(
    conn: &mut DbConn,
    org: &str,
    numbers: &[&str],
    contact: &str,
) -> Result<usize, RepoError> {
    if numbers.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        call_records::table
            .filter(call_records::org_id.eq(org))
            .filter(call_records::remote_e164.eq_any(numbers))
            .filter(call_records::contact_id.is_null()),
    )
    .set(call_records::contact_id.eq(contact))
    .execute(conn)?)
}

/// Unlinks the records linked to `contact` whose number is not one of
/// `keep`; how many.
pub fn unlink_except(
    conn: &mut DbConn,
    org: &str,
    contact: &str,
    keep: &[&str],
) -> Result<usize, RepoError> {
    let linked = call_records::table
        .filter(call_records::org_id.eq(org))
        .filter(call_records::contact_id.eq(contact));
    let unlink = call_records::contact_id.eq(None::<String>);
    Ok(if keep.is_empty() {
        diesel::update(linked).set(unlink).execute(conn)?
    } else {
        diesel::update(
            linked.filter(
                call_records::remote_e164
                    .is_null()
                    .or(call_records::remote_e164.ne_all(keep)),
            ),
        )
        .set(unlink)
        .execute(conn)?
    })
}

/// Moves every record linked to `from` to `to`; how many.
pub fn relink(conn: &mut DbConn, org: &str, from: &str, to: &str) -> Result<usize, RepoError> {
    Ok(diesel::update(
        call_records::table
            .filter(call_records::org_id.eq(org))
            .filter(call_records::contact_id.eq(from)),
    )
    .set(call_records::contact_id.eq(to))
    .execute(conn)?)
}
