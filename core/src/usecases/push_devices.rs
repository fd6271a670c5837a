//! The app installs a user gets pushes on: registering one (at most
//! [`MAX_PUSH_DEVICES_PER_USER`] per user), deleting one, and forgetting one
//! whose token FCM reported unregistered. A registration token names one
//! install, so it belongs to whoever registered it last; dead tokens are
//! remembered (hashed) and refused if registered again.

use super::push_schedules as schedules;
use crate::db::Database;
use crate::db::DbConn;
use crate::ids::{OrgId, PushDeviceId, UserId};
use crate::repo::push_devices::{self, PushDeviceRow};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, jobs};
use crate::time::Micros;
use crate::wire::{MAX_PUSH_DEVICES_PER_USER, PushPlatform};

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

impl From<crate::db::DbError> for RegisterError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// Registers `token` for the user; `(row, created)`. It also makes sure the
/// user has a push schedule. The user's row lock is taken first and held to
/// commit, so concurrent registrations by one user count and insert one at
/// a time and the cap holds (on PostgreSQL two of them would otherwise both
/// count 9 and both insert).
pub async fn register(
    db: &Database,
    org: OrgId,
    user: UserId,
    platform: PushPlatform,
    token: String,
    now: Micros,
) -> Result<(PushDeviceRow, bool), RegisterError> {
    db.write(move |conn| {
        let me = users::get(conn, org, user, Visibility::Org)?;
        register_locked(conn, org, user, &me.time_zone, platform, &token, now)
    })
    .await
}

fn register_locked(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    time_zone: &str,
    platform: PushPlatform,
    token: &str,
    now: Micros,
) -> Result<(PushDeviceRow, bool), RegisterError> {
    users::lock(conn, &user.to_string())?;
    if push_devices::is_dead(conn, token)? {
        return Err(RegisterError::Dead);
    }
    if let Some(row) = push_devices::find_by_token(conn, token)? {
        if row.user_id == user.to_string() && row.platform == platform.as_str() {
            return Ok((row, false));
        }
        // The install changed hands (or platforms): the old owner loses it.
        remove(conn, &row.id)?;
    }
    if push_devices::count_of(conn, user)? >= MAX_PUSH_DEVICES_PER_USER as i64 {
        return Err(RegisterError::TooMany);
    }
    let row = push_devices::new_row(org, user, platform, token, now);
    push_devices::insert(conn, &row)?;
    schedules::ensure(conn, org, user, time_zone, now)?;
    Ok((row, true))
}

/// Removes a device and drops its pending sends.
fn remove(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    push_devices::remove(conn, id)?;
    jobs::drop_pending_for_device(conn, id, "device removed")?;
    Ok(())
}

/// Deletes the user's device; `NotFound` when it is not theirs.
pub async fn delete(
    db: &Database,
    org: OrgId,
    user: UserId,
    id: PushDeviceId,
) -> Result<(), RepoError> {
    db.write(move |conn| {
        if !push_devices::is_owned_by(conn, org, user, id)? {
            return Err(RepoError::NotFound);
        }
        remove(conn, &id.to_string())
    })
    .await
}

/// FCM said the token is gone: forget the device and never accept the
/// token again.
pub async fn bury(
    db: &Database,
    device_id: String,
    token: String,
    now: Micros,
) -> Result<(), RepoError> {
    db.write(move |conn| bury_in(conn, &device_id, &token, now))
        .await
}

/// [`bury`] inside the caller's write transaction.
pub(crate) fn bury_in(
    conn: &mut DbConn,
    device_id: &str,
    token: &str,
    now: Micros,
) -> Result<(), RepoError> {
    remove(conn, device_id)?;
    push_devices::remember_dead(conn, token, now)
}

/// Notes a delivered push.
pub async fn mark_sent(db: &Database, device_id: String, now: Micros) -> Result<(), RepoError> {
    db.run(move |conn| push_devices::mark_sent(conn, &device_id, now))
        .await
}
