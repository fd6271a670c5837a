//! Push schedules: the organisation's default, each user's row (their own
//! rule or a copy of the default), their push cursor, and when their next
//! digest is due. The scheduler claims due rows with `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL (SQLite's single writer serialises), so any number
//! of workers share them and each occurrence is taken once.

use chrono_tz::Tz;
use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::dialect;
use crate::db::schema::{push_default_schedules, push_schedules, users};
use crate::domain::push_schedule::{ScheduleRule, format_daily_at, parse_daily_at};
use crate::ids::{OrgId, UserId};
use crate::time::{Micros, to_datetime};

/// Keys per `IN (...)` list in the batched reads and writes.
const KEY_CHUNK: usize = 500;
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = push_schedules)]
#[diesel(treat_none_as_default_value = false)]
pub struct ScheduleRow {
    pub user_id: String,
    pub org_id: String,
    pub custom: i64,
    pub daily_at: Option<String>,
    pub every_minutes: Option<i64>,
    pub on_missed_call: i64,
    pub on_new_records: i64,
    pub pushed_seq: i64,
    pub last_pushed_at: Option<i64>,
    pub next_due_at: Option<i64>,
    pub updated_at: i64,
}

impl ScheduleRow {
    pub fn rule(&self) -> Result<ScheduleRule, RepoError> {
        rule_of(
            self.daily_at.as_deref(),
            self.every_minutes,
            self.on_missed_call,
            self.on_new_records,
        )
    }
}

fn rule_of(
    daily_at: Option<&str>,
    every_minutes: Option<i64>,
    on_missed_call: i64,
    on_new_records: i64,
) -> Result<ScheduleRule, RepoError> {
    Ok(ScheduleRule {
        daily_at: daily_at
            .map(parse_daily_at)
            .transpose()
            .map_err(|e| RepoError::Corrupt(format!("push schedule: {e}")))?,
        every_minutes: every_minutes.and_then(|n| u32::try_from(n).ok()),
        on_missed_call: on_missed_call == 1,
        on_new_records: on_new_records == 1,
    })
}

/// When `rule` is next due after `now` for a user in `time_zone`, counting
/// "every N minutes" from `previous` (the occurrence just processed).
pub fn next_due(
    rule: &ScheduleRule,
    time_zone: &str,
    now: Micros,
    previous: Option<Micros>,
) -> Option<Micros> {
    let tz: Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    rule.next_due(tz, to_datetime(now), previous.map(to_datetime))
        .map(|t| t.timestamp_micros())
}

/// The organisation's default (the built-in one when none was set).
pub fn org_default(conn: &mut DbConn, org: OrgId) -> Result<ScheduleRule, RepoError> {
    let row: Option<(Option<String>, Option<i64>, i64, i64)> = push_default_schedules::table
        .find(org.to_string())
        .select((
            push_default_schedules::daily_at,
            push_default_schedules::every_minutes,
            push_default_schedules::on_missed_call,
            push_default_schedules::on_new_records,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(ScheduleRule::default()),
        Some((daily, every, missed, new)) => rule_of(daily.as_deref(), every, missed, new),
    }
}

/// Rows of users who follow the default are rewritten per this many.
const RETIME_BATCH: i64 = 1000;

/// Sets the organisation's default and moves every user who follows it
/// onto it; returns how many users that was. Call inside a write
/// transaction. (Reads the followers' time zones from `users` in the same
/// query.)
pub fn set_org_default(
    conn: &mut DbConn,
    org: OrgId,
    rule: &ScheduleRule,
    now: Micros,
) -> Result<usize, RepoError> {
    let values = || {
        (
            push_default_schedules::daily_at.eq(rule.daily_at.map(format_daily_at)),
            push_default_schedules::every_minutes.eq(rule.every_minutes.map(i64::from)),
            push_default_schedules::on_missed_call.eq(i64::from(rule.on_missed_call)),
            push_default_schedules::on_new_records.eq(i64::from(rule.on_new_records)),
            push_default_schedules::updated_at.eq(now),
        )
    };
    let updated = diesel::update(push_default_schedules::table.find(org.to_string()))
        .set(values())
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(push_default_schedules::table)
            .values((push_default_schedules::org_id.eq(org.to_string()), values()))
            .execute(conn)?;
    }
    // Locked in user id order: call ingest locks schedule rows in the same
    // order (`due_now_for_new_records`), so the two cannot deadlock.
    dialect::lock_schedule_followers(conn, &org.to_string())?;
    let mut moved = 0;
    let mut after = String::new();
    loop {
        let followers: Vec<(String, String)> = push_schedules::table
            .inner_join(users::table)
            .filter(push_schedules::org_id.eq(org.to_string()))
            .filter(push_schedules::custom.eq(0))
            .filter(push_schedules::user_id.gt(&after))
            .order(push_schedules::user_id.asc())
            .limit(RETIME_BATCH)
            .select((push_schedules::user_id, users::time_zone))
            .load(conn)?;
        for (user, tz) in &followers {
            write_rule(conn, user, false, rule, tz, now)?;
        }
        moved += followers.len();
        match followers.last() {
            Some((last, _)) if followers.len() as i64 == RETIME_BATCH => after = last.clone(),
            _ => return Ok(moved),
        }
    }
}

/// `computed`, unless the row is already due (a missed call's trigger not
/// yet processed): a schedule change must not postpone that.
fn keep_pending(
    conn: &mut DbConn,
    user: &str,
    computed: Option<Micros>,
    now: Micros,
) -> Result<Option<Micros>, RepoError> {
    let current: Option<Option<i64>> = push_schedules::table
        .find(user)
        .select(push_schedules::next_due_at)
        .first(conn)
        .optional()?;
    Ok(match current.flatten() {
        Some(due) if due <= now => Some(due),
        _ => computed,
    })
}

fn write_rule(
    conn: &mut DbConn,
    user: &str,
    custom: bool,
    rule: &ScheduleRule,
    time_zone: &str,
    now: Micros,
) -> Result<usize, RepoError> {
    Ok(diesel::update(push_schedules::table.find(user))
        .set((
            push_schedules::custom.eq(i64::from(custom)),
            push_schedules::daily_at.eq(rule.daily_at.map(format_daily_at)),
            push_schedules::every_minutes.eq(rule.every_minutes.map(i64::from)),
            push_schedules::on_missed_call.eq(i64::from(rule.on_missed_call)),
            push_schedules::on_new_records.eq(i64::from(rule.on_new_records)),
            push_schedules::next_due_at.eq(keep_pending(
                conn,
                user,
                next_due(rule, time_zone, now, None),
                now,
            )?),
            push_schedules::updated_at.eq(now),
        ))
        .execute(conn)?)
}

/// The user's row, if they have one.
pub fn get(conn: &mut DbConn, user: UserId) -> Result<Option<ScheduleRow>, RepoError> {
    Ok(push_schedules::table
        .find(user.to_string())
        .select(ScheduleRow::as_select())
        .first(conn)
        .optional()?)
}

/// A row for `user` following `rule` (the organisation's default), their
/// cursor at `pushed_seq` and first due after `now`; not yet stored.
pub fn new_row(
    org: OrgId,
    user: UserId,
    rule: &ScheduleRule,
    time_zone: &str,
    pushed_seq: i64,
    now: Micros,
) -> ScheduleRow {
    ScheduleRow {
        user_id: user.to_string(),
        org_id: org.to_string(),
        custom: 0,
        daily_at: rule.daily_at.map(format_daily_at),
        every_minutes: rule.every_minutes.map(i64::from),
        on_missed_call: i64::from(rule.on_missed_call),
        on_new_records: i64::from(rule.on_new_records),
        pushed_seq,
        last_pushed_at: None,
        next_due_at: next_due(rule, time_zone, now, None),
        updated_at: now,
    }
}

pub fn insert(conn: &mut DbConn, row: &ScheduleRow) -> Result<(), RepoError> {
    diesel::insert_into(push_schedules::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Takes the user's schedule row lock (PostgreSQL; SQLite's writer
/// serialises): an on-request digest and the scheduler must not both build
/// from the same cursor.
pub fn lock(conn: &mut DbConn, user: &str) -> Result<(), RepoError> {
    diesel::update(push_schedules::table.find(user))
        .set(push_schedules::updated_at.eq(push_schedules::updated_at))
        .execute(conn)?;
    Ok(())
}

/// Sets the user's own rule, or (`None`) makes them follow the default
/// again. Call inside a write transaction, on a row that exists.
pub fn set_user_rule(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    time_zone: &str,
    rule: Option<&ScheduleRule>,
    now: Micros,
) -> Result<ScheduleRow, RepoError> {
    lock(conn, &user.to_string())?;
    let (custom, rule) = match rule {
        Some(rule) => (true, *rule),
        None => (false, org_default(conn, org)?),
    };
    write_rule(conn, &user.to_string(), custom, &rule, time_zone, now)?;
    get(conn, user)?.ok_or(RepoError::NotFound)
}

/// Recomputes when the user is next due, after their time zone changed.
pub fn retime(
    conn: &mut DbConn,
    user: UserId,
    time_zone: &str,
    now: Micros,
) -> Result<(), RepoError> {
    if let Some(row) = get(conn, user)? {
        lock(conn, &row.user_id)?;
        let rule = row.rule()?;
        let next = keep_pending(
            conn,
            &row.user_id,
            next_due(&rule, time_zone, now, None),
            now,
        )?;
        diesel::update(push_schedules::table.find(&row.user_id))
            .set(push_schedules::next_due_at.eq(next))
            .execute(conn)?;
    }
    Ok(())
}

/// A due row with what building its digest needs.
#[derive(Debug, Clone)]
pub struct DueSchedule {
    pub row: ScheduleRow,
    pub role: String,
    pub time_zone: String,
    pub disabled: bool,
}

/// Locks and returns up to `limit` rows due at `now`, earliest first.
/// Rows another worker holds are skipped. Call inside a write transaction
/// and advance every returned row before committing.
pub fn claim_due(
    conn: &mut DbConn,
    now: Micros,
    limit: i64,
) -> Result<Vec<DueSchedule>, RepoError> {
    let rows = dialect::lock_due_schedules(conn, now, limit)?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    let people: Vec<(String, String, String, Option<i64>)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::role, users::time_zone, users::disabled_at))
        .load(conn)?;
    let people: std::collections::HashMap<String, (String, String, bool)> = people
        .into_iter()
        .map(|(id, role, tz, disabled)| (id, (role, tz, disabled.is_some())))
        .collect();
    rows.into_iter()
        .map(|row| {
            let (role, time_zone, disabled) =
                people.get(&row.user_id).cloned().ok_or_else(|| {
                    RepoError::Corrupt(format!("schedule of unknown user {}", row.user_id))
                })?;
            Ok(DueSchedule {
                row,
                role,
                time_zone,
                disabled,
            })
        })
        .collect()
}

/// Records a processed occurrence for `users`, who get the same values (the
/// scheduler groups a batch's schedules by them; one UPDATE, not one each):
/// the cursor the digest covered (or the old one), when it went out (if it
/// did) and the next due time.
pub fn advance_many(
    conn: &mut DbConn,
    users: &[&str],
    pushed_seq: i64,
    pushed_at: Option<Micros>,
    next_due_at: Option<Micros>,
) -> Result<(), RepoError> {
    for chunk in users.chunks(KEY_CHUNK) {
        let target = push_schedules::table.filter(push_schedules::user_id.eq_any(chunk));
        match pushed_at {
            Some(at) => diesel::update(target)
                .set((
                    push_schedules::pushed_seq.eq(pushed_seq),
                    push_schedules::last_pushed_at.eq(at),
                    push_schedules::next_due_at.eq(next_due_at),
                ))
                .execute(conn)?,
            None => diesel::update(target)
                .set((
                    push_schedules::pushed_seq.eq(pushed_seq),
                    push_schedules::next_due_at.eq(next_due_at),
                ))
                .execute(conn)?,
        };
    }
    Ok(())
}

/// Makes the users' digests due now if they asked to hear at once about new
/// records (`users`) or about missed calls (`missed`, a subset). Called in
/// the ingest transaction that stored the records, so the trigger commits
/// with them. The rows are locked in user id order first, as
/// `set_org_default` does, so the two never deadlock; a scheduler
/// transaction holding one of them delays the ingest until it commits.
pub fn due_now_for_new_records(
    conn: &mut DbConn,
    users: &[String],
    missed: &[String],
    now: Micros,
) -> Result<(), RepoError> {
    if users.is_empty() {
        return Ok(());
    }
    let due = dialect::lock_schedules_due_on_records(conn, users, missed, now)?;
    if !due.is_empty() {
        diesel::update(push_schedules::table.filter(push_schedules::user_id.eq_any(&due)))
            .set(push_schedules::next_due_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}
