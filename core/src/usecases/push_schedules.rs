//! Push schedules: giving a user their row, their own rule, and the
//! organisation's default (which moves every user who follows it). Lock
//! order: organisation, binding, user row, then the user's schedule row
//! (docs/decisions/0003-binding-locks.md).

use crate::db::Database;
use crate::db::{DbConn, write_tx};
use crate::domain::push_schedule::ScheduleRule;
use crate::ids::{OrgId, UserId};
use crate::repo::push_schedules::{self, ScheduleRow};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, sync_seq};
use crate::time::Micros;
use crate::wire::AuditAction;

use super::audit;

/// Gives the user a row following the organisation's default, if they have
/// none. Their cursor starts at the present: the first digest covers what
/// arrives from now on, not the whole history. Call inside a write
/// transaction.
pub fn ensure(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    time_zone: &str,
    now: Micros,
) -> Result<ScheduleRow, RepoError> {
    if let Some(row) = push_schedules::get(conn, user)? {
        return Ok(row);
    }
    // One schedule per user: two first requests of one user (registering a
    // device, setting a schedule, asking for a digest) would both insert and
    // the second fail on the key. Under the user's row lock the second sees
    // the first's row (lock order: user row, then schedule row).
    users::lock(conn, &user.to_string())?;
    if let Some(row) = push_schedules::get(conn, user)? {
        return Ok(row);
    }
    let rule = push_schedules::org_default(conn, org)?;
    let pushed_seq = sync_seq::current(conn, &org.to_string())?;
    let row = push_schedules::new_row(org, user, &rule, time_zone, pushed_seq, now);
    push_schedules::insert(conn, &row)?;
    Ok(row)
}

/// Sets the user's own rule, or (`None`) makes them follow the default
/// again; returns their row as it is now.
pub async fn set_user_rule(
    db: &Database,
    org: OrgId,
    user: UserId,
    rule: Option<ScheduleRule>,
    now: Micros,
) -> Result<ScheduleRow, RepoError> {
    db.run(move |conn| {
        write_tx(conn, |conn| {
            let me = users::get(conn, org, user, Visibility::Org)?;
            ensure(conn, org, user, &me.time_zone, now)?;
            push_schedules::set_user_rule(conn, org, user, &me.time_zone, rule.as_ref(), now)
        })
    })
    .await
}

/// Sets the organisation's default (on behalf of `by`) and moves every
/// user who follows it onto it; returns how many users that was.
pub async fn set_org_default(
    db: &Database,
    org: OrgId,
    rule: ScheduleRule,
    by: UserId,
    now: Micros,
) -> Result<usize, RepoError> {
    db.run(move |conn| {
        write_tx(conn, |conn| {
            let moved = push_schedules::set_org_default(conn, org, &rule, now)?;
            audit::Entry::about_org(org, AuditAction::PushDefaultReplaced, audit::by_user(by))
                .detail("users_following", moved)
                .record(conn, now)?;
            Ok(moved)
        })
    })
    .await
}
