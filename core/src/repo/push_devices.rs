//! The app installs a user gets pushes on. A registration token names one
//! install, so it belongs to whoever registered it last; tokens FCM reported
//! UNREGISTERED are remembered (hashed) and refused if registered again.

use diesel::prelude::*;
use sha2::{Digest as _, Sha256};

use super::{DbConn, RepoError, push_schedules, stored_id};
use crate::db::schema::{push_dead_tokens, push_devices};
use crate::ids::{OrgId, PushDeviceId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{MAX_PUSH_DEVICES_PER_USER, PushDevice, PushPlatform};

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

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("FCM reported this token unregistered")]
    Dead,
    #[error("the user has the most devices allowed")]
    TooMany,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for RegisterError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Registers `token` for the user; `(row, created)`. Call inside a write
/// transaction: it also makes sure the user has a push schedule. The user's
/// row lock is taken first and held to commit, so concurrent registrations
/// by one user count and insert one at a time and the cap holds (on
/// PostgreSQL two of them would otherwise both count 9 and both insert).
pub fn register(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    time_zone: &str,
    platform: PushPlatform,
    token: &str,
    now: Micros,
) -> Result<(PushDeviceRow, bool), RegisterError> {
    super::users::lock(conn, &user.to_string())?;
    let dead: i64 = push_dead_tokens::table
        .filter(push_dead_tokens::token_sha256.eq(token_hash(token)))
        .count()
        .get_result(conn)?;
    if dead > 0 {
        return Err(RegisterError::Dead);
    }
    let existing: Option<PushDeviceRow> = push_devices::table
        .filter(push_devices::token.eq(token))
        .select(PushDeviceRow::as_select())
        .first(conn)
        .optional()?;
    if let Some(row) = existing {
        if row.user_id == user.to_string() && row.platform == platform.as_str() {
            return Ok((row, false));
        }
        // The install changed hands (or platforms): the old owner loses it.
        remove(conn, &row.id)?;
    }
    let owned: i64 = push_devices::table
        .filter(push_devices::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    if owned >= MAX_PUSH_DEVICES_PER_USER as i64 {
        return Err(RegisterError::TooMany);
    }
    let row = PushDeviceRow {
        id: PushDeviceId::new().to_string(),
        org_id: org.to_string(),
        user_id: user.to_string(),
        platform: platform.as_str().to_owned(),
        token: token.to_owned(),
        created_at: now,
        last_sent_at: None,
    };
    diesel::insert_into(push_devices::table)
        .values(&row)
        .execute(conn)?;
    push_schedules::ensure(conn, org, user, time_zone, now)?;
    Ok((row, true))
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

/// Deletes the user's device; `NotFound` when it is not theirs.
pub fn delete(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    id: PushDeviceId,
) -> Result<(), RepoError> {
    let owned: i64 = push_devices::table
        .filter(push_devices::id.eq(id.to_string()))
        .filter(push_devices::org_id.eq(org.to_string()))
        .filter(push_devices::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    if owned == 0 {
        return Err(RepoError::NotFound);
    }
    remove(conn, &id.to_string())
}

/// Removes a device and drops its pending sends.
fn remove(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::delete(push_devices::table.find(id)).execute(conn)?;
    super::jobs::drop_pending_for_device(conn, id, "device removed")?;
    Ok(())
}

/// FCM said the token is gone: forget the device and never accept the
/// token again.
pub fn bury(conn: &mut DbConn, device_id: &str, token: &str, now: Micros) -> Result<(), RepoError> {
    crate::db::write_tx(conn, |conn| {
        remove(conn, device_id)?;
        let inserted = diesel::insert_into(push_dead_tokens::table)
            .values((
                push_dead_tokens::token_sha256.eq(token_hash(token)),
                push_dead_tokens::dead_at.eq(now),
            ))
            .execute(conn);
        match inserted.map_err(RepoError::from) {
            // Two sends to the token both heard UNREGISTERED.
            Ok(_) | Err(RepoError::Conflict) => Ok(()),
            Err(e) => Err(e),
        }
    })
}

/// Notes a delivered push.
pub fn mark_sent(conn: &mut DbConn, device_id: &str, now: Micros) -> Result<(), RepoError> {
    diesel::update(push_devices::table.find(device_id))
        .set(push_devices::last_sent_at.eq(now))
        .execute(conn)?;
    Ok(())
}

/// The ids of the user's devices.
pub fn ids_of(conn: &mut DbConn, user: &str) -> Result<Vec<String>, RepoError> {
    Ok(push_devices::table
        .filter(push_devices::user_id.eq(user))
        .order(push_devices::id.asc())
        .select(push_devices::id)
        .load(conn)?)
}
