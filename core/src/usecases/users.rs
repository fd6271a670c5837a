//! Admins creating and changing users: roles, disabling, passwords, time
//! zones. Every such change takes the organisation's lock and then re-reads
//! the acting admin, so two admins acting on each other run one after the
//! other and an organisation never loses its last active admin
//! (docs/decisions/0003-binding-locks.md). Disabling a user ends their
//! bindings and sessions in the same transaction; their phones hear it.

use super::{AfterCommit, Services, bindings};
use crate::db::{DbConn, DbError, write_tx};
use crate::ids::{OrgId, TeamId, UserId};
use crate::repo::binding_events::By;
use crate::repo::users::{self, UserChanges, UserRow, Visibility};
use crate::repo::{RepoError, orgs, push_schedules, sessions, teams};
use crate::time::now_micros;
use crate::wire::{BindingEndReason, Role};

/// Why a change to a user was refused.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// The acting admin was demoted, disabled or removed after their
    /// request was authenticated.
    #[error("you are no longer an active admin")]
    ActorNotAdmin,
    /// The change would leave the organisation without an active admin.
    #[error("the organisation's last active admin cannot be demoted or disabled")]
    LastAdmin,
    /// An admin demoting or disabling themselves; `field` is the one at fault.
    #[error("you cannot demote or disable yourself")]
    SelfLockout { field: &'static str },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for UpdateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<DbError> for UpdateError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// Takes the organisation's lock and checks that `actor` is still an
/// enabled admin of it. Call first inside the change's write transaction.
pub fn lock_org_as_admin(conn: &mut DbConn, org: OrgId, actor: UserId) -> Result<(), UpdateError> {
    orgs::lock(conn, &org.to_string())?;
    if !users::is_active_admin(conn, org, actor)? {
        return Err(UpdateError::ActorNotAdmin);
    }
    Ok(())
}

/// Why creating a user was refused.
#[derive(Debug)]
pub enum CreateError {
    Refused(UpdateError),
    UnknownTeam(TeamId),
    EmailTaken,
}

impl From<RepoError> for CreateError {
    fn from(e: RepoError) -> Self {
        Self::Refused(e.into())
    }
}

impl From<DbError> for CreateError {
    fn from(e: DbError) -> Self {
        Self::Refused(e.into())
    }
}

impl From<diesel::result::Error> for CreateError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Refused(e.into())
    }
}

/// Creates the user with their team memberships, as the admin `actor`
/// (who may have been demoted since the request was authenticated: an
/// ex-admin creates no admins).
pub async fn create(
    services: &Services,
    actor: UserId,
    row: UserRow,
    team_ids: Vec<TeamId>,
) -> Result<UserRow, CreateError> {
    services
        .db
        .write(move |conn| {
            let org = row.org()?;
            lock_org_as_admin(conn, org, actor).map_err(CreateError::Refused)?;
            let found = teams::existing_ids(conn, org, &team_ids)?;
            if let Some(missing) = team_ids.iter().find(|t| !found.contains(t)) {
                return Err(CreateError::UnknownTeam(*missing));
            }
            match users::insert(conn, &row) {
                Err(RepoError::Conflict) => return Err(CreateError::EmailTaken),
                other => other?,
            }
            let user_id = row.user_id()?;
            for team in &team_ids {
                teams::insert_membership(conn, org, *team, user_id)?;
            }
            Ok(row)
        })
        .await
}

/// Applies `changes` made by the admin `actor`, then tells the phones the
/// user held (when disabled) that they are free.
pub async fn update(
    services: &Services,
    org: OrgId,
    id: UserId,
    changes: UserChanges,
    actor: UserId,
) -> Result<(), UpdateError> {
    let after = services
        .db
        .write(move |conn| update_in(conn, org, id, changes, actor))
        .await?;
    after.run(services).await;
    Ok(())
}

/// [`update`]'s transaction: when the user is being disabled it ends their
/// sessions and phone bindings in it, so nothing of theirs outlives the
/// change. Refused when the actor is no longer an active admin, when the
/// target is the organisation's last active admin and would stop being
/// one, and when the actor would demote or disable themselves.
pub fn update_in(
    conn: &mut DbConn,
    org: OrgId,
    id: UserId,
    mut changes: UserChanges,
    actor: UserId,
) -> Result<AfterCommit, UpdateError> {
    changes.updated_at = Some(now_micros());
    let disabling = matches!(changes.disabled_at, Some(Some(_)));
    let demoting = changes
        .role
        .as_deref()
        .is_some_and(|r| r != Role::Admin.as_str());
    let password_changed = changes.password_hash.is_some();
    let mut after = AfterCommit::new();
    write_tx(conn, |conn| {
        // Lock order: the organisation first (disabling also ends bindings).
        lock_org_as_admin(conn, org, actor)?;
        let target = users::get(conn, org, id, Visibility::Org)?;
        let active_admin = target.role()? == Role::Admin && target.disabled_at.is_none();
        if active_admin
            && (disabling || demoting)
            && users::active_admin_count(conn, org, Some(id))? == 0
        {
            return Err(UpdateError::LastAdmin);
        }
        if id == actor && (disabling || demoting) {
            return Err(UpdateError::SelfLockout {
                field: if disabling { "disabled" } else { "role" },
            });
        }
        if disabling {
            // Binding rows before the user's row (the lock order a dial
            // takes them in), so a disable never deadlocks with a dial.
            bindings::end_for_user(
                conn,
                id,
                BindingEndReason::UserDisabled,
                By::User(actor),
                &mut after,
            )?;
        }
        users::apply(conn, org, id, &changes)?;
        if disabling || password_changed {
            let reason = if disabling {
                "user_disabled"
            } else {
                "password_changed"
            };
            sessions::revoke_all_for_user(conn, id, reason)?;
        }
        let enabling = matches!(changes.disabled_at, Some(None));
        if changes.time_zone.is_some() || enabling {
            // A daily digest is at a local time: when it is due moves with
            // the zone; a disabled user's schedule was stopped.
            let tz = users::time_zone_of(conn, id)?;
            push_schedules::retime(conn, id, &tz, now_micros())?;
        }
        Ok(())
    })?;
    Ok(after)
}
