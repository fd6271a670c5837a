//! Storing uploaded call records: one write transaction per batch.
//!
//! The batch takes the organisation's change lock first, then reads what it
//! needs for every item in a handful of queries (the stored copies, the dial
//! commands named, the phone's bindings over the batch's time span, and
//! recordings already uploaded), decides each item in memory, and writes
//! new rows in multi-row inserts. Replays and concurrent copies of the same
//! batch serialise on the lock, so each call becomes exactly one row (the
//! unique index on (phone_id, call_id) backs that up).

use crate::wire::ErrorCode;
use std::collections::HashMap;

use diesel::prelude::*;

use crate::db::schema::bindings;
use crate::db::{Backend, dialect};
use crate::db::{DbConn, write_tx};
use crate::domain::FieldError;
use crate::domain::call_facts::{CallFacts, Reporter};
use crate::domain::recording_link::may_link;
use crate::ids::{CallRecordId, OrgId, PhoneId, UserId};
use crate::repo::call_records::{self, CallRecordRow};
use crate::repo::{RepoError, dials, push_schedules, recordings, stored_id, sync_seq};
use crate::time::Micros;
use crate::usecases::blocklist_check::{self, Screened};
use crate::usecases::call_list_dials::{self, ArrivedRecord};
use crate::usecases::scoring::Touched;
use crate::usecases::{
    AfterCommit, Services, call_record_events, call_rollups, contact_links, scoring,
};
use crate::wire::{CallDirection, CallRecordChange};

/// Rows per multi-row INSERT: 22 columns each stays far below both
/// databases' limits on bound parameters.
const INSERT_CHUNK: usize = 500;
/// Keys per `IN (...)` list.
const KEY_CHUNK: usize = 500;

#[derive(Debug, Clone, Copy)]
pub struct Uploader {
    pub org: OrgId,
    pub phone: PhoneId,
    pub reporter: Reporter,
    /// The app user uploading (the NFC path): every record must be a call
    /// they held the phone for.
    pub app_user: Option<UserId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOutcome {
    Created(CallRecordId),
    Updated(CallRecordId),
    Unchanged(CallRecordId),
    Rejected(FieldError),
}

/// Stores an uploaded batch (already checked by `CallFacts::parse`); one
/// outcome per item, in order. The digests the new records make due are
/// due in the same transaction, as are the `call_record` events of the
/// records created or changed; their users' streams wake after the commit.
pub async fn store(
    services: &Services,
    who: Uploader,
    items: Vec<CallFacts>,
    now: Micros,
) -> Result<Vec<ItemOutcome>, RepoError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let (outcomes, woken) = services
        .db
        .write(move |conn| ingest_locked(conn, &who, &items, now))
        .await?;
    let mut after = AfterCommit::new();
    for user in woken {
        after.wake_user(user);
    }
    after.run(services).await;
    Ok(outcomes)
}

/// [`store`] on a connection (streams are not woken: they read the events
/// at their next keep-alive).
pub fn ingest(
    conn: &mut DbConn,
    who: &Uploader,
    items: &[CallFacts],
    now: Micros,
) -> Result<Vec<ItemOutcome>, RepoError> {
    if items.is_empty() {
        return Ok(Vec::new());
    }
    write_tx(conn, |conn| ingest_locked(conn, who, items, now)).map(|(outcomes, _)| outcomes)
}

/// [`ingest`] inside the caller's write transaction.
fn ingest_locked(
    conn: &mut DbConn,
    who: &Uploader,
    items: &[CallFacts],
    now: Micros,
) -> Result<(Vec<ItemOutcome>, Vec<UserId>), RepoError> {
    let org_id = who.org.to_string();
    let phone_id = who.phone.to_string();
    custom_plans(conn)?;
    sync_seq::lock(conn, &org_id)?;
    let context = Context::load(conn, &org_id, &phone_id, items)?;
    let mut work = Work::default();
    let outcomes = items
        .iter()
        .map(|facts| work.apply(&context, who, facts, now))
        .collect::<Result<Vec<_>, RepoError>>()?;
    let woken = work.write(conn, &org_id)?;
    Ok((outcomes, woken))
}

/// On PostgreSQL, plans this transaction's statements for their values.
/// diesel keeps them prepared, and after five executions PostgreSQL may
/// switch to a generic plan; for the batch's lookups by `ANY(array)` that
/// plan cannot see how many keys there are, and replay runs collapsed from
/// ~70k to ~8k records/s when it picked one. A custom plan costs a few
/// tens of µs per statement, a handful of statements per batch.
fn custom_plans(conn: &mut DbConn) -> Result<(), RepoError> {
    if dialect::backend_of(conn) == Backend::Postgres {
        diesel::sql_query("SET LOCAL plan_cache_mode = force_custom_plan").execute(conn)?;
    }
    Ok(())
}

/// What the batch reads before deciding anything.
struct Context {
    stored: HashMap<String, CallRecordRow>,
    /// Dial id → the user who asked for it, for this phone's dials only.
    dial_users: HashMap<String, String>,
    spans: Vec<HolderSpan>,
    /// Call id → the recording already uploaded (it may have arrived
    /// first).
    recordings: HashMap<String, StoredRecording>,
    org_id: String,
    phone_id: String,
}

/// A recording of one of the batch's calls, and the app user who sent it
/// (`None`: the phone).
struct StoredRecording {
    id: String,
    uploaded_by: Option<String>,
}

impl StoredRecording {
    /// The recording's id if it may belong to a call of `owner`.
    fn for_owner(&self, owner: Option<&str>) -> Option<String> {
        may_link(self.uploaded_by.as_deref(), owner).then(|| self.id.clone())
    }
}

/// A binding of the phone: who held it from `start` until `end`.
struct HolderSpan {
    user_id: String,
    start: Micros,
    end: Option<Micros>,
}

impl Context {
    fn load(
        conn: &mut DbConn,
        org_id: &str,
        phone_id: &str,
        items: &[CallFacts],
    ) -> Result<Self, RepoError> {
        let mut keys: Vec<&str> = items.iter().map(|f| f.call_id.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        let mut stored = HashMap::new();
        let mut recordings_by_call = HashMap::new();
        for chunk in keys.chunks(KEY_CHUNK) {
            let rows = call_records::by_call_ids(conn, phone_id, chunk)?;
            stored.extend(rows.into_iter().map(|r| (r.call_id.clone(), r)));
            let found = recordings::for_calls(conn, phone_id, chunk)?;
            recordings_by_call.extend(
                found
                    .into_iter()
                    .map(|(call, id, uploaded_by)| (call, StoredRecording { id, uploaded_by })),
            );
        }

        let mut dial_ids: Vec<String> = items
            .iter()
            .filter_map(|f| f.dial_id.map(|d| d.to_string()))
            .collect();
        dial_ids.sort_unstable();
        dial_ids.dedup();
        let mut dial_users = HashMap::new();
        for chunk in dial_ids.chunks(KEY_CHUNK) {
            dial_users.extend(dials::users_of(conn, org_id, phone_id, chunk)?);
        }

        let earliest = items.iter().map(|f| f.started_at).min().unwrap_or_default();
        let latest = items.iter().map(|f| f.started_at).max().unwrap_or_default();
        let spans = binding_spans(conn, phone_id, earliest, latest)?
            .into_iter()
            .map(|(user_id, start, ended, expires)| HolderSpan {
                user_id,
                start,
                // An expired binding counts as ended from its expiry.
                end: match (ended, expires) {
                    (Some(e), Some(x)) => Some(e.min(x)),
                    (e, x) => e.or(x),
                },
            })
            .collect();
        Ok(Self {
            stored,
            dial_users,
            spans,
            recordings: recordings_by_call,
            org_id: org_id.to_owned(),
            phone_id: phone_id.to_owned(),
        })
    }

    /// Who held the phone at `at`.
    fn holder_at(&self, at: Micros) -> Option<&str> {
        self.spans
            .iter()
            .find(|s| s.start <= at && s.end.is_none_or(|end| at < end))
            .map(|s| s.user_id.as_str())
    }

    /// The user a call belongs to: the one who asked for its dial, else the
    /// phone's holder when it started.
    fn user_for(&self, facts: &CallFacts) -> Option<String> {
        facts
            .dial_id
            .and_then(|d| self.dial_users.get(&d.to_string()).cloned())
            .or_else(|| self.holder_at(facts.started_at).map(str::to_owned))
    }
}

/// Rows the batch creates and changes, in the order it touched them.
#[derive(Default)]
struct Work {
    /// Call id → the row as it will be written.
    rows: HashMap<String, CallRecordRow>,
    /// Call ids in first-touched order, and whether each is new.
    order: Vec<(String, bool)>,
    /// Call id → the stored row an update started from (for the rollups).
    stored: HashMap<String, CallRecordRow>,
}

impl Work {
    fn apply(
        &mut self,
        context: &Context,
        who: &Uploader,
        facts: &CallFacts,
        now: Micros,
    ) -> Result<ItemOutcome, RepoError> {
        if let Some(dial) = facts.dial_id
            && !context.dial_users.contains_key(&dial.to_string())
        {
            return Ok(ItemOutcome::Rejected(FieldError::new(
                "dial_id",
                ErrorCode::DialNotFound,
                "no dial command with this id was sent to this phone",
            )));
        }
        let user = context.user_for(facts);
        if let Some(app_user) = who.app_user
            && user.as_deref() != Some(app_user.to_string().as_str())
        {
            return Ok(ItemOutcome::Rejected(not_your_call()));
        }
        let current = self
            .rows
            .get(&facts.call_id)
            .or_else(|| context.stored.get(&facts.call_id));
        // An app may only add to a call it owns, whatever times it claims.
        if let (Some(app_user), Some(stored)) = (who.app_user, current)
            && stored.user_id.as_deref() != Some(app_user.to_string().as_str())
        {
            return Ok(ItemOutcome::Rejected(not_your_call()));
        }
        let Some(current) = current else {
            let row = new_row(context, who.reporter, facts, user, now);
            let id = row.record_id()?;
            self.order.push((facts.call_id.clone(), true));
            self.rows.insert(facts.call_id.clone(), row);
            return Ok(ItemOutcome::Created(id));
        };
        let id = current.record_id()?;
        let merged = match current.facts()?.merge(
            facts,
            who.reporter,
            current.phone_reported_at.is_some(),
            now,
        ) {
            Ok(merged) => merged,
            Err(refusal) => return Ok(ItemOutcome::Rejected(refusal)),
        };
        let first_from_reporter = match who.reporter {
            Reporter::Phone => current.phone_reported_at.is_none(),
            Reporter::App => current.app_reported_at.is_none(),
        };
        if merged.is_none() && !first_from_reporter {
            return Ok(ItemOutcome::Unchanged(id));
        }
        let mut row = current.clone();
        if let Some(merged) = merged {
            let owner = context.user_for(&merged);
            if let Some(app_user) = who.app_user
                && owner.as_deref() != Some(app_user.to_string().as_str())
            {
                return Ok(ItemOutcome::Rejected(not_your_call()));
            }
            row.set_facts(&merged);
            if let Some(user) = owner {
                row.user_id = Some(user);
            }
            // The call may have moved to another user: an app user's
            // recording follows only that user's calls.
            row.recording_id = context
                .recordings
                .get(&facts.call_id)
                .and_then(|r| r.for_owner(row.user_id.as_deref()));
        }
        match who.reporter {
            Reporter::Phone => row.phone_reported_at = row.phone_reported_at.or(Some(now)),
            Reporter::App => row.app_reported_at = row.app_reported_at.or(Some(now)),
        }
        row.updated_at = now;
        if !self.rows.contains_key(&facts.call_id) {
            self.order.push((facts.call_id.clone(), false));
            self.stored.insert(facts.call_id.clone(), current.clone());
        }
        self.rows.insert(facts.call_id.clone(), row);
        Ok(ItemOutcome::Updated(id))
    }

    /// Numbers every touched row as a change, then writes them; returns
    /// the users told of them (`call_record` events).
    fn write(mut self, conn: &mut DbConn, org_id: &str) -> Result<Vec<UserId>, RepoError> {
        if self.order.is_empty() {
            return Ok(Vec::new());
        }
        let org = stored_id::<OrgId>(org_id)?;
        link_contacts(conn, org, self.rows.values_mut())?;
        let mut changed = Vec::with_capacity(self.order.len());
        let count = i64::try_from(self.order.len()).unwrap_or(i64::MAX);
        let first = sync_seq::reserve(conn, org_id, count)?;
        let now = self
            .rows
            .values()
            .map(|r| r.updated_at)
            .max()
            .unwrap_or_default();
        let touched: Vec<(String, String)> = self
            .rows
            .values()
            .filter_map(|r| Some((r.id.clone(), r.remote_e164.clone()?)))
            .collect();
        let mut inserts = Vec::new();
        let mut updates = Vec::new();
        for ((call_id, is_new), seq) in self.order.iter().zip(first..) {
            let Some(mut row) = self.rows.remove(call_id) else {
                continue;
            };
            row.sync_seq = seq;
            if *is_new {
                inserts.push(row);
            } else {
                call_records::update(conn, &row)?;
                if let Some(stored) = self.stored.remove(call_id) {
                    updates.push((stored, row.clone()));
                }
                changed.push((row, CallRecordChange::Updated));
            }
        }
        mark_blocked(conn, org_id, &mut inserts)?;
        provision_callers(conn, org, &mut inserts)?;
        for chunk in inserts.chunks(INSERT_CHUNK) {
            call_records::insert_many(conn, chunk)?;
        }
        call_rollups::record_changes(conn, &inserts, &updates)?;
        changed.extend(
            inserts
                .iter()
                .map(|row| (row.clone(), CallRecordChange::Created)),
        );
        // Users before push schedules: the lock order.
        let woken = match changed.first().map(|(row, _)| row.updated_at) {
            Some(at) => call_record_events::record_in(conn, &changed, at)?,
            None => Vec::new(),
        };
        due_now_for_pushes(conn, &inserts)?;
        // The batch's contacts score in the same transaction (under the
        // change lock taken above), in a fixed number of queries.
        let touched: Vec<Touched<'_>> = touched
            .iter()
            .map(|(id, number)| Touched { id, number })
            .collect();
        scoring::score_records(conn, org, &touched, now)?;
        // Calls a call-list task dialled settle their attempts.
        let mut arrived = Vec::new();
        for (row, _) in &changed {
            if let Some(dial_id) = &row.dial_id {
                arrived.push(ArrivedRecord {
                    dial_id: dial_id.clone(),
                    record_id: row.id.clone(),
                    result: row.result()?,
                    duration_secs: row.duration_secs,
                });
            }
        }
        if !arrived.is_empty() {
            call_list_dials::records_arrived_in(conn, &arrived, now)?;
        }
        Ok(woken)
    }
}

/// Brings forward the digests of holders who asked to hear at once about
/// new records or missed calls; in the ingest transaction, so a stored
/// record and its trigger commit together.
fn due_now_for_pushes(conn: &mut DbConn, inserted: &[CallRecordRow]) -> Result<(), RepoError> {
    let Some(now) = inserted.first().map(|r| r.created_at) else {
        return Ok(());
    };
    let mut fresh: Vec<String> = inserted.iter().filter_map(|r| r.user_id.clone()).collect();
    let mut missed: Vec<String> = inserted
        .iter()
        .filter(|r| r.direction == CallDirection::Missed.as_str())
        .filter_map(|r| r.user_id.clone())
        .collect();
    fresh.sort_unstable();
    fresh.dedup();
    missed.sort_unstable();
    missed.dedup();
    push_schedules::due_now_for_new_records(conn, &fresh, &missed, now)
}

/// Flags the new inbound records (answered or missed) whose remote
/// number is blocked for their user when they are stored (docs/
/// blocklist.md). A record keeps the flag it was created with: a later
/// report or blocklist change does not rewrite history. A few queries for
/// the whole batch (`blocklist_check::blocked_calls`).
fn mark_blocked(
    conn: &mut DbConn,
    org_id: &str,
    inserts: &mut [CallRecordRow],
) -> Result<(), RepoError> {
    let Some(now) = inserts.first().map(|r| r.created_at) else {
        return Ok(());
    };
    let outbound = CallDirection::Outbound.as_str();
    let (screened, calls): (Vec<usize>, Vec<Screened<'_>>) = inserts
        .iter()
        .enumerate()
        .filter(|(_, row)| row.direction != outbound)
        .filter_map(|(i, row)| {
            let number = row.remote_e164.as_deref()?;
            let user_id = row.user_id.as_deref();
            Some((i, Screened { user_id, number }))
        })
        .unzip();
    let blocked = blocklist_check::blocked_calls(conn, stored_id(org_id)?, &calls, now)?;
    let flagged: Vec<usize> = screened
        .into_iter()
        .zip(blocked)
        .filter_map(|(i, blocked)| blocked.then_some(i))
        .collect();
    for i in flagged {
        inserts[i].blocked = true;
    }
    Ok(())
}

/// Links every touched row to the contact its remote number belongs to
/// (one lookup per 500 distinct numbers for the batch).
fn link_contacts<'a>(
    conn: &mut DbConn,
    org: OrgId,
    rows: impl Iterator<Item = &'a mut CallRecordRow>,
) -> Result<(), RepoError> {
    let mut rows: Vec<&mut CallRecordRow> = rows.collect();
    let numbers: Vec<String> = rows.iter().filter_map(|r| r.remote_e164.clone()).collect();
    let numbers: Vec<&str> = numbers.iter().map(String::as_str).collect();
    let owners = contact_links::resolve(conn, org, &numbers)?;
    for row in &mut rows {
        row.contact_id = row
            .remote_e164
            .as_ref()
            .and_then(|n| owners.get(n))
            .map(ToString::to_string);
    }
    Ok(())
}

/// Gives the new inbound records from a number no contact has a
/// provisional contact (docs/contacts.md, "Provisional contacts"): a
/// number that parsed (so not withheld or anonymous) and is not blocked
/// for the call's user. One contact per number, however many of the
/// batch's calls came from it.
fn provision_callers(
    conn: &mut DbConn,
    org: OrgId,
    inserts: &mut [CallRecordRow],
) -> Result<(), RepoError> {
    let Some(now) = inserts.first().map(|r| r.created_at) else {
        return Ok(());
    };
    let outbound = CallDirection::Outbound.as_str();
    let unknown =
        |row: &CallRecordRow| row.direction != outbound && !row.blocked && row.contact_id.is_none();
    let callers = inserts
        .iter()
        .filter(|r| unknown(r))
        .filter_map(|r| {
            let owner = r.user_id.as_deref().map(stored_id::<UserId>).transpose();
            r.remote_e164.as_deref().map(|n| owner.map(|o| (n, o)))
        })
        .collect::<Result<Vec<(&str, Option<UserId>)>, _>>()?;
    if callers.is_empty() {
        return Ok(());
    }
    let created = contact_links::provision_many(conn, org, &callers, now)?;
    for row in inserts.iter_mut().filter(|r| unknown(r)) {
        row.contact_id = row
            .remote_e164
            .as_ref()
            .and_then(|n| created.get(n))
            .map(ToString::to_string);
    }
    Ok(())
}

fn not_your_call() -> FieldError {
    FieldError::new(
        "call_id",
        ErrorCode::NotYourCall,
        "you did not hold this phone when the call started",
    )
}

fn new_row(
    context: &Context,
    reporter: Reporter,
    facts: &CallFacts,
    user: Option<String>,
    now: Micros,
) -> CallRecordRow {
    let mut row = CallRecordRow::new(
        context.org_id.clone(),
        context.phone_id.clone(),
        user,
        facts,
        reporter,
        now,
    );
    row.recording_id = context
        .recordings
        .get(&facts.call_id)
        .and_then(|r| r.for_owner(row.user_id.as_deref()));
    row
}

/// A binding as the ingest reads it: `(user, start, ended, expires)`.
type SpanRow = (String, Micros, Option<Micros>, Option<Micros>);

/// The phone's bindings that overlap `[earliest, latest]`. (A read of the bindings table that `repo::bindings`
/// does not offer yet; it belongs there.)
fn binding_spans(
    conn: &mut DbConn,
    phone_id: &str,
    earliest: Micros,
    latest: Micros,
) -> Result<Vec<SpanRow>, RepoError> {
    Ok(bindings::table
        .filter(bindings::phone_id.eq(phone_id))
        .filter(bindings::started_at.le(latest))
        .filter(
            bindings::ended_at
                .is_null()
                .or(bindings::ended_at.gt(earliest)),
        )
        .select((
            bindings::user_id,
            bindings::started_at,
            bindings::ended_at,
            bindings::expires_at,
        ))
        .load(conn)?)
}
