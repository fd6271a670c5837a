//! The `call_list_attempts` table (docs/call-lists.md, "Dialling and
//! outcomes"): one row per time a task was worked; a dialled attempt is
//! `dialing` until its dial or call record settles it, and then carries
//! the call record, talk time and disposition.

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{call_list_attempts, dispositions};
use crate::ids::{CallAttemptId, CallListId};
use crate::time::{Micros, to_datetime};
use crate::wire::{CallAttempt, CallAttemptOutcome};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = call_list_attempts)]
#[diesel(treat_none_as_default_value = false)]
pub struct AttemptRow {
    pub id: String,
    pub task_id: String,
    pub list_id: String,
    pub user_id: String,
    pub outcome: String,
    pub reason: Option<String>,
    pub at: i64,
    pub dial_id: Option<String>,
    pub call_record_id: Option<String>,
    pub disposition_id: Option<String>,
    pub talk_secs: Option<i64>,
    pub settled_at: Option<i64>,
}

impl AttemptRow {
    /// A dialled attempt waiting for its outcome.
    pub fn dialing(task_id: &str, list_id: &str, user_id: &str, dial_id: &str, at: Micros) -> Self {
        Self {
            id: CallAttemptId::new().to_string(),
            task_id: task_id.to_owned(),
            list_id: list_id.to_owned(),
            user_id: user_id.to_owned(),
            outcome: CallAttemptOutcome::Dialing.as_str().to_owned(),
            reason: None,
            at,
            dial_id: Some(dial_id.to_owned()),
            call_record_id: None,
            disposition_id: None,
            talk_secs: None,
            settled_at: None,
        }
    }

    /// A skip with its reason: settled when made.
    pub fn skipped(task_id: &str, list_id: &str, user_id: &str, reason: &str, at: Micros) -> Self {
        Self {
            id: CallAttemptId::new().to_string(),
            task_id: task_id.to_owned(),
            list_id: list_id.to_owned(),
            user_id: user_id.to_owned(),
            outcome: CallAttemptOutcome::Skipped.as_str().to_owned(),
            reason: Some(reason.to_owned()),
            at,
            dial_id: None,
            call_record_id: None,
            disposition_id: None,
            talk_secs: None,
            settled_at: Some(at),
        }
    }

    pub fn outcome(&self) -> Result<CallAttemptOutcome, RepoError> {
        CallAttemptOutcome::parse(&self.outcome).ok_or_else(|| {
            RepoError::Corrupt(format!("attempt {} outcome {:?}", self.id, self.outcome))
        })
    }

    /// The wire form; `disposition` is the code of `disposition_id`.
    pub fn to_wire(&self, disposition: Option<String>) -> Result<CallAttempt, RepoError> {
        Ok(CallAttempt {
            id: stored_id(&self.id)?,
            task_id: stored_id(&self.task_id)?,
            list_id: stored_id(&self.list_id)?,
            user_id: stored_id(&self.user_id)?,
            outcome: self.outcome()?,
            reason: self.reason.clone(),
            dial_id: self.dial_id.as_deref().map(stored_id).transpose()?,
            call_record_id: self.call_record_id.as_deref().map(stored_id).transpose()?,
            disposition,
            talk_secs: self.talk_secs,
            at: to_datetime(self.at),
            settled_at: self.settled_at.map(to_datetime),
        })
    }
}

pub fn insert(conn: &mut DbConn, row: &AttemptRow) -> Result<(), RepoError> {
    diesel::insert_into(call_list_attempts::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn by_id(conn: &mut DbConn, id: &str) -> Result<Option<AttemptRow>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::id.eq(id))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()?)
}

/// The attempts that placed these dials.
pub fn by_dials(conn: &mut DbConn, dials: &[String]) -> Result<Vec<AttemptRow>, RepoError> {
    if dials.is_empty() {
        return Ok(Vec::new());
    }
    Ok(call_list_attempts::table
        .filter(call_list_attempts::dial_id.eq_any(dials))
        .select(AttemptRow::as_select())
        .load(conn)?)
}

/// The attempt whose call is this record, if a task placed it.
pub fn by_record(conn: &mut DbConn, record: &str) -> Result<Option<AttemptRow>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::call_record_id.eq(record))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()?)
}

/// The task's latest dialled attempt (skips and cancels left out).
pub fn latest_dialled(conn: &mut DbConn, task: &str) -> Result<Option<AttemptRow>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::task_id.eq(task))
        .filter(call_list_attempts::dial_id.is_not_null())
        .filter(call_list_attempts::outcome.ne(CallAttemptOutcome::Cancelled.as_str()))
        .order((call_list_attempts::at.desc(), call_list_attempts::id.desc()))
        .select(AttemptRow::as_select())
        .first(conn)
        .optional()?)
}

/// Settles a `dialing` attempt; `false` when it was settled already.
pub fn settle(
    conn: &mut DbConn,
    id: &str,
    outcome: CallAttemptOutcome,
    reason: &str,
    now: Micros,
) -> Result<bool, RepoError> {
    let n = diesel::update(
        call_list_attempts::table
            .filter(call_list_attempts::id.eq(id))
            .filter(call_list_attempts::outcome.eq(CallAttemptOutcome::Dialing.as_str())),
    )
    .set((
        call_list_attempts::outcome.eq(outcome.as_str()),
        call_list_attempts::reason.eq(Some(reason)),
        call_list_attempts::settled_at.eq(Some(now)),
    ))
    .execute(conn)?;
    Ok(n == 1)
}

/// What a later disposition made of a settled attempt's task.
pub fn set_reason(conn: &mut DbConn, id: &str, reason: &str) -> Result<(), RepoError> {
    diesel::update(call_list_attempts::table.filter(call_list_attempts::id.eq(id)))
        .set(call_list_attempts::reason.eq(Some(reason)))
        .execute(conn)?;
    Ok(())
}

/// Links the call record the phone uploaded for the attempt's dial.
pub fn link_record(
    conn: &mut DbConn,
    id: &str,
    record: &str,
    talk_secs: Option<i64>,
) -> Result<(), RepoError> {
    diesel::update(call_list_attempts::table.filter(call_list_attempts::id.eq(id)))
        .set((
            call_list_attempts::call_record_id.eq(Some(record)),
            call_list_attempts::talk_secs.eq(talk_secs),
        ))
        .execute(conn)?;
    Ok(())
}

pub fn set_disposition(
    conn: &mut DbConn,
    id: &str,
    disposition: Option<&str>,
) -> Result<(), RepoError> {
    diesel::update(call_list_attempts::table.filter(call_list_attempts::id.eq(id)))
        .set(call_list_attempts::disposition_id.eq(disposition))
        .execute(conn)?;
    Ok(())
}

/// A page of a list's attempts, oldest first, after the `after` id
/// (ids are time-ordered); of one task when given.
pub fn page(
    conn: &mut DbConn,
    list: CallListId,
    task: Option<&str>,
    after: Option<&str>,
    limit: i64,
) -> Result<Vec<AttemptRow>, RepoError> {
    let mut query = call_list_attempts::table
        .filter(call_list_attempts::list_id.eq(list.to_string()))
        .select(AttemptRow::as_select())
        .order(call_list_attempts::id.asc())
        .limit(limit)
        .into_boxed();
    if let Some(task) = task {
        query = query.filter(call_list_attempts::task_id.eq(task.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(call_list_attempts::id.gt(after.to_owned()));
    }
    Ok(query.load(conn)?)
}

/// Disposition codes by id, for the attempts' wire form.
pub fn disposition_codes(
    conn: &mut DbConn,
    ids: &[String],
) -> Result<HashMap<String, String>, RepoError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(dispositions::table
        .filter(dispositions::id.eq_any(ids))
        .select((dispositions::id, dispositions::code))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// One user's attempts of one outcome in a list: how many, and their talk
/// time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeTally {
    pub user_id: String,
    pub outcome: String,
    pub count: i64,
    pub talk_secs: i64,
}

/// A list's attempts counted per user and outcome.
pub fn tally(conn: &mut DbConn, list: &str) -> Result<Vec<OutcomeTally>, RepoError> {
    use diesel::dsl::{count_star, sql};
    // SUM of a BIGINT is NUMERIC on PostgreSQL: cast back on both.
    let talk = sql::<diesel::sql_types::BigInt>("CAST(COALESCE(SUM(talk_secs), 0) AS BIGINT)");
    let rows: Vec<(String, String, i64, i64)> = call_list_attempts::table
        .filter(call_list_attempts::list_id.eq(list))
        .group_by((call_list_attempts::user_id, call_list_attempts::outcome))
        .select((
            call_list_attempts::user_id,
            call_list_attempts::outcome,
            count_star(),
            talk,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(user_id, outcome, count, talk_secs)| OutcomeTally {
            user_id,
            outcome,
            count,
            talk_secs,
        })
        .collect())
}

/// A list's answered attempts counted per disposition code.
pub fn disposition_tally(conn: &mut DbConn, list: &str) -> Result<Vec<(String, i64)>, RepoError> {
    use diesel::dsl::count_star;
    Ok(call_list_attempts::table
        .inner_join(
            dispositions::table.on(dispositions::id
                .nullable()
                .eq(call_list_attempts::disposition_id)),
        )
        .filter(call_list_attempts::list_id.eq(list))
        .filter(call_list_attempts::outcome.eq(CallAttemptOutcome::Answered.as_str()))
        .group_by(dispositions::code)
        .select((dispositions::code, count_star()))
        .load(conn)?)
}

/// When the list's last attempt was settled.
pub fn last_settled(conn: &mut DbConn, list: &str) -> Result<Option<Micros>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::list_id.eq(list))
        .select(diesel::dsl::max(call_list_attempts::settled_at))
        .first::<Option<i64>>(conn)?)
}

/// Up to `limit` attempts still `dialing` that began before `before`.
pub fn open_before(
    conn: &mut DbConn,
    before: Micros,
    limit: i64,
) -> Result<Vec<AttemptRow>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::outcome.eq(CallAttemptOutcome::Dialing.as_str()))
        .filter(call_list_attempts::at.lt(before))
        .order(call_list_attempts::at.asc())
        .limit(limit)
        .select(AttemptRow::as_select())
        .load(conn)?)
}

/// When `user` last attempted a task of `list` (the index
/// `call_list_attempts_user`).
pub fn latest_of(conn: &mut DbConn, list: &str, user: &str) -> Result<Option<Micros>, RepoError> {
    Ok(call_list_attempts::table
        .filter(call_list_attempts::user_id.eq(user))
        .filter(call_list_attempts::list_id.eq(list))
        .select(diesel::dsl::max(call_list_attempts::at))
        .first::<Option<i64>>(conn)?)
}
