//! The app installs a user gets pushes on. A registration token names one
//! install, so it belongs to whoever registered it last; tokens FCM reported
//! UNREGISTERED are remembered (hashed) and refused if registered again.

use diesel::prelude::*;
use sha2::{Digest as _, Sha256};

use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{push_dead_tokens, push_devices};
use crate::ids::{OrgId, PushDeviceId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{PushDevice, PushPlatform};

/// Keys per `IN (...)` list in the batched reads and writes.
const KEY_CHUNK: usize = 500;
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = push_devices)]
#[diesel(treat_none_as_default_value = false)]
pub struct PushDeviceRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub platform: String,
    pub token: String,
    pub created_at: i64,
    pub last_sent_at: Option<i64>,
}

impl PushDeviceRow {
    pub fn platform(&self) -> Result<PushPlatform, RepoError> {
        PushPlatform::parse(&self.platform)
            .ok_or_else(|| RepoError::Corrupt(format!("push platform {:?}", self.platform)))
    }

    pub fn to_wire(&self) -> Result<PushDevice, RepoError> {
        let hint_from = self.token.char_indices().rev().nth(5).map_or(0, |(i, _)| i);
        Ok(PushDevice {
            id: stored_id(&self.id)?,
            platform: self.platform()?,
            token_hint: self.token[hint_from..].to_owned(),
            created_at: to_datetime(self.created_at),
            last_sent_at: self.last_sent_at.map(to_datetime),
        })
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Whether FCM once reported `token` unregistered.
pub fn is_dead(conn: &mut DbConn, token: &str) -> Result<bool, RepoError> {
    let dead: i64 = push_dead_tokens::table
        .filter(push_dead_tokens::token_sha256.eq(token_hash(token)))
        .count()
        .get_result(conn)?;
    Ok(dead > 0)
}

/// The device registered with `token`, whoever's it is.
pub fn find_by_token(conn: &mut DbConn, token: &str) -> Result<Option<PushDeviceRow>, RepoError> {
    Ok(push_devices::table
        .filter(push_devices::token.eq(token))
        .select(PushDeviceRow::as_select())
        .first(conn)
        .optional()?)
}

/// How many devices the user has.
pub fn count_of(conn: &mut DbConn, user: UserId) -> Result<i64, RepoError> {
    Ok(push_devices::table
        .filter(push_devices::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?)
}

pub fn insert(conn: &mut DbConn, row: &PushDeviceRow) -> Result<(), RepoError> {
    diesel::insert_into(push_devices::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// A new row for `token` (not yet stored).
pub fn new_row(
    org: OrgId,
    user: UserId,
    platform: PushPlatform,
    token: &str,
    now: Micros,
) -> PushDeviceRow {
    PushDeviceRow {
        id: PushDeviceId::new().to_string(),
        org_id: org.to_string(),
        user_id: user.to_string(),
        platform: platform.as_str().to_owned(),
        token: token.to_owned(),
        created_at: now,
        last_sent_at: None,
    }
}

/// The user's devices, oldest first.
pub fn list(conn: &mut DbConn, user: UserId) -> Result<Vec<PushDeviceRow>, RepoError> {
    Ok(push_devices::table
        .filter(push_devices::user_id.eq(user.to_string()))
        .order((push_devices::created_at.asc(), push_devices::id.asc()))
        .select(PushDeviceRow::as_select())
        .load(conn)?)
}

/// One device by id (the sender looks its token up).
pub fn get(conn: &mut DbConn, id: &str) -> Result<Option<PushDeviceRow>, RepoError> {
    Ok(push_devices::table
        .find(id)
        .select(PushDeviceRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether device `id` is the user's (in their organisation).
pub fn is_owned_by(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    id: PushDeviceId,
) -> Result<bool, RepoError> {
    let owned: i64 = push_devices::table
        .filter(push_devices::id.eq(id.to_string()))
        .filter(push_devices::org_id.eq(org.to_string()))
        .filter(push_devices::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    Ok(owned > 0)
}

/// Deletes a device row (its pending jobs are the caller's to drop).
pub fn remove(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::delete(push_devices::table.find(id)).execute(conn)?;
    Ok(())
}

/// Remembers `token` as dead, so it is refused if registered again. Two
/// sends to the token that both heard UNREGISTERED remember it once.
pub fn remember_dead(conn: &mut DbConn, token: &str, now: Micros) -> Result<(), RepoError> {
    let inserted = diesel::insert_into(push_dead_tokens::table)
        .values((
            push_dead_tokens::token_sha256.eq(token_hash(token)),
            push_dead_tokens::dead_at.eq(now),
        ))
        .execute(conn);
    match inserted.map_err(RepoError::from) {
        Ok(_) | Err(RepoError::Conflict) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Notes a delivered push.
pub fn mark_sent(conn: &mut DbConn, device_id: &str, now: Micros) -> Result<(), RepoError> {
    diesel::update(push_devices::table.find(device_id))
        .set(push_devices::last_sent_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The devices among `ids` that still exist (a claim looks its jobs'
/// devices up in one read).
pub fn get_many(conn: &mut DbConn, ids: &[&str]) -> Result<Vec<PushDeviceRow>, RepoError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(KEY_CHUNK) {
        found.extend(
            push_devices::table
                .filter(push_devices::id.eq_any(chunk))
                .select(PushDeviceRow::as_select())
                .load(conn)?,
        );
    }
    Ok(found)
}

/// Notes delivered pushes on several devices at once.
pub fn mark_sent_many(conn: &mut DbConn, ids: &[&str], now: Micros) -> Result<(), RepoError> {
    for chunk in ids.chunks(KEY_CHUNK) {
        diesel::update(push_devices::table.filter(push_devices::id.eq_any(chunk)))
            .set(push_devices::last_sent_at.eq(now))
            .execute(conn)?;
    }
    Ok(())
}

/// `(user, device)` for every device of `users`, in device id order per
/// user (the scheduler reads a whole batch's devices at once).
pub fn ids_of_users(conn: &mut DbConn, users: &[&str]) -> Result<Vec<(String, String)>, RepoError> {
    let mut found = Vec::new();
    for chunk in users.chunks(KEY_CHUNK) {
        found.extend(
            push_devices::table
                .filter(push_devices::user_id.eq_any(chunk))
                .order((push_devices::user_id.asc(), push_devices::id.asc()))
                .select((push_devices::user_id, push_devices::id))
                .load::<(String, String)>(conn)?,
        );
    }
    Ok(found)
}

/// The ids of the user's devices.
pub fn ids_of(conn: &mut DbConn, user: &str) -> Result<Vec<String>, RepoError> {
    Ok(push_devices::table
        .filter(push_devices::user_id.eq(user))
        .order(push_devices::id.asc())
        .select(push_devices::id)
        .load(conn)?)
}
