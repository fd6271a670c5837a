//! `presence_minutes` and `presence_sampling`: minutes per user, local day
//! and presence state, and which minute was sampled last
//! (docs/presence.md, "Time per state").

use std::collections::HashMap;

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::{presence_minutes, presence_sampling, users};
use crate::ids::OrgId;

/// Moves the sampled minute forward to `minute` if it is behind it; `true`
/// when this caller did (and so samples that minute), `false` when another
/// sampler already had it.
pub fn claim_minute(conn: &mut DbConn, minute: i64) -> Result<bool, RepoError> {
    let moved = diesel::update(
        presence_sampling::table
            .filter(presence_sampling::id.eq(1_i64))
            .filter(presence_sampling::sampled_minute.lt(minute)),
    )
    .set(presence_sampling::sampled_minute.eq(minute))
    .execute(conn)?;
    if moved == 1 {
        return Ok(true);
    }
    let exists: i64 = presence_sampling::table.count().get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    // The first sample ever; a concurrent first insert loses on the key.
    match diesel::insert_into(presence_sampling::table)
        .values((
            presence_sampling::id.eq(1_i64),
            presence_sampling::sampled_minute.eq(minute),
        ))
        .execute(conn)
    {
        Ok(_) => Ok(true),
        Err(e) => match RepoError::from(e) {
            RepoError::Conflict => Ok(false),
            other => Err(other),
        },
    }
}

/// Each user's time zone (IANA name as stored).
pub fn zones_of(conn: &mut DbConn, ids: &[String]) -> Result<HashMap<String, String>, RepoError> {
    Ok(users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::time_zone))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// One minute more for `user` on `day` in `state`.
pub fn add_minute(
    conn: &mut DbConn,
    org: &str,
    user: &str,
    day: &str,
    state: &str,
) -> Result<(), RepoError> {
    let key = presence_minutes::table
        .filter(presence_minutes::user_id.eq(user))
        .filter(presence_minutes::day.eq(day))
        .filter(presence_minutes::state.eq(state));
    let updated = diesel::update(key)
        .set(presence_minutes::minutes.eq(presence_minutes::minutes + 1))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(presence_minutes::table)
            .values((
                presence_minutes::user_id.eq(user),
                presence_minutes::day.eq(day),
                presence_minutes::state.eq(state),
                presence_minutes::org_id.eq(org),
                presence_minutes::minutes.eq(1_i64),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// One row: a user's minutes in one state on one day.
#[derive(Debug, Clone, PartialEq, Eq, Queryable)]
pub struct MinutesRow {
    pub user_id: String,
    pub day: String,
    pub state: String,
    pub minutes: i64,
}

/// The minutes of `user_ids` (all of the organisation when `None`) on the
/// days `from..=to` (`YYYY-MM-DD`), by user, day and state.
pub fn of_days(
    conn: &mut DbConn,
    org: OrgId,
    user_ids: Option<&[String]>,
    from: &str,
    to: &str,
) -> Result<Vec<MinutesRow>, RepoError> {
    let mut query = presence_minutes::table
        .filter(presence_minutes::org_id.eq(org.to_string()))
        .filter(presence_minutes::day.ge(from))
        .filter(presence_minutes::day.le(to))
        .select((
            presence_minutes::user_id,
            presence_minutes::day,
            presence_minutes::state,
            presence_minutes::minutes,
        ))
        .into_boxed();
    if let Some(ids) = user_ids {
        query = query.filter(presence_minutes::user_id.eq_any(ids.to_vec()));
    }
    Ok(query
        .order((
            presence_minutes::user_id,
            presence_minutes::day,
            presence_minutes::state,
        ))
        .load(conn)?)
}
