use std::collections::HashMap;

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{team_members, users};
use crate::ids::{OrgId, TeamId, UserId};
use crate::time::{now_micros, to_datetime};
use crate::wire::{BindingEndReason, Page, Role, User};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: String,
    pub org_id: String,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub time_zone: String,
    pub disabled_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl UserRow {
    pub fn user_id(&self) -> Result<UserId, RepoError> {
        stored_id(&self.id)
    }

    pub fn org(&self) -> Result<OrgId, RepoError> {
        stored_id(&self.org_id)
    }

    pub fn role(&self) -> Result<Role, RepoError> {
        Role::parse(&self.role).ok_or_else(|| RepoError::Corrupt(format!("role {:?}", self.role)))
    }

    pub fn to_wire(&self, team_ids: Vec<TeamId>) -> Result<User, RepoError> {
        Ok(User {
            id: self.user_id()?,
            org_id: self.org()?,
            email: self.email.clone(),
            display_name: self.display_name.clone(),
            role: self.role()?,
            time_zone: self.time_zone.clone(),
            disabled: self.disabled_at.is_some(),
            team_ids,
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        })
    }
}

/// Which users a caller may see.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// Admins: the whole organisation.
    Org,
    /// Managers: themselves and every member of the teams they belong to.
    TeamsOf(UserId),
    /// Salespeople: themselves.
    SelfOnly(UserId),
}

impl Visibility {
    /// What a user of `role` may see.
    pub fn of(role: Role, user: UserId) -> Self {
        match role {
            Role::Admin => Self::Org,
            Role::Manager => Self::TeamsOf(user),
            Role::Salesperson => Self::SelfOnly(user),
        }
    }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub display_name: Option<String>,
    pub role: Option<String>,
    pub password_hash: Option<String>,
    pub time_zone: Option<String>,
    pub disabled_at: Option<Option<i64>>,
    pub updated_at: Option<i64>,
}

pub fn insert(conn: &mut DbConn, row: &UserRow) -> Result<(), RepoError> {
    diesel::insert_into(users::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

pub fn find_by_email(conn: &mut DbConn, email: &str) -> Result<Option<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// A user of `org` that `visibility` allows; `NotFound` otherwise.
pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: UserId,
    visibility: Visibility,
) -> Result<UserRow, RepoError> {
    let mut query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq(id.to_string()))
        .select(UserRow::as_select())
        .into_boxed();
    query = restrict(conn, query, visibility)?;
    Ok(query.first(conn)?)
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    visibility: Visibility,
    page: &PageRequest,
) -> Result<Page<UserRow>, RepoError> {
    let mut query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .select(UserRow::as_select())
        .into_boxed();
    query = restrict(conn, query, visibility)?;
    if let Some(after) = &page.after {
        query = query.filter(users::id.gt(after.clone()));
    }
    let rows = query
        .order(users::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

type BoxedUsers<'a> = users::BoxedQuery<
    'a,
    crate::db::DbBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<UserRow, crate::db::DbBackend>>,
>;

fn restrict<'a>(
    conn: &mut DbConn,
    query: BoxedUsers<'a>,
    visibility: Visibility,
) -> Result<BoxedUsers<'a>, RepoError> {
    Ok(match visible_ids(conn, visibility)? {
        None => query,
        Some(ids) => query.filter(users::id.eq_any(ids)),
    })
}

/// Team ids of each user, for the wire `team_ids` field.
pub fn team_ids_of(
    conn: &mut DbConn,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<TeamId>>, RepoError> {
    let pairs: Vec<(String, String)> = team_members::table
        .filter(team_members::user_id.eq_any(user_ids))
        .order((team_members::user_id.asc(), team_members::team_id.asc()))
        .select((team_members::user_id, team_members::team_id))
        .load(conn)?;
    let mut out: HashMap<String, Vec<TeamId>> = HashMap::new();
    for (user, team) in pairs {
        out.entry(user).or_default().push(stored_id(&team)?);
    }
    Ok(out)
}

/// E-mail addresses of the given users, by id (for exports).
pub fn emails_of(
    conn: &mut DbConn,
    user_ids: &[String],
) -> Result<HashMap<String, String>, RepoError> {
    let pairs: Vec<(String, String)> = users::table
        .filter(users::id.eq_any(user_ids))
        .select((users::id, users::email))
        .load(conn)?;
    Ok(pairs.into_iter().collect())
}

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

/// Takes the organisation's lock and checks that `actor` is still an
/// enabled admin of it. Every change of who is an active admin (role
/// changes, disabling, creating users) runs after this in its transaction,
/// so two admins acting on each other at once run one after the other and
/// the second sees what the first did (docs/decisions/0003-binding-locks.md).
pub fn lock_org_as_admin(conn: &mut DbConn, org: OrgId, actor: UserId) -> Result<(), UpdateError> {
    super::orgs::lock(conn, &org.to_string())?;
    let active_admin: i64 = active_admins(org)
        .filter(users::id.eq(actor.to_string()))
        .count()
        .get_result(conn)?;
    if active_admin == 0 {
        return Err(UpdateError::ActorNotAdmin);
    }
    Ok(())
}

fn active_admins(org: OrgId) -> users::BoxedQuery<'static, crate::db::DbBackend> {
    users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled_at.is_null())
        .into_boxed()
}

/// Applies `changes` made by the admin `actor`; when the user is being
/// disabled, ends their sessions and phone bindings in the same transaction
/// so nothing of theirs outlives the change. Refused when the actor is no
/// longer an active admin, when the target is the organisation's last
/// active admin and would stop being one, and when the actor would demote
/// or disable themselves.
pub fn update(
    conn: &mut DbConn,
    org: OrgId,
    id: UserId,
    mut changes: UserChanges,
    actor: UserId,
) -> Result<(), UpdateError> {
    changes.updated_at = Some(now_micros());
    let disabling = matches!(changes.disabled_at, Some(Some(_)));
    let demoting = changes
        .role
        .as_deref()
        .is_some_and(|r| r != Role::Admin.as_str());
    let password_changed = changes.password_hash.is_some();
    crate::db::write_tx(conn, |conn| {
        // Lock order: the organisation first (disabling also ends bindings).
        lock_org_as_admin(conn, org, actor)?;
        let target = get(conn, org, id, Visibility::Org)?;
        let active_admin = target.role()? == Role::Admin && target.disabled_at.is_none();
        if active_admin && (disabling || demoting) {
            let others: i64 = active_admins(org)
                .filter(users::id.ne(id.to_string()))
                .count()
                .get_result(conn)?;
            if others == 0 {
                return Err(UpdateError::LastAdmin);
            }
        }
        if id == actor && (disabling || demoting) {
            return Err(UpdateError::SelfLockout {
                field: if disabling { "disabled" } else { "role" },
            });
        }
        if disabling {
            // Binding rows before the user's row (the lock order a dial
            // takes them in), so a disable never deadlocks with a dial.
            super::bindings::end_for_user(
                conn,
                id,
                BindingEndReason::UserDisabled,
                super::binding_events::By::User(actor),
            )?;
        }
        diesel::update(
            users::table
                .filter(users::org_id.eq(org.to_string()))
                .filter(users::id.eq(id.to_string())),
        )
        .set(&changes)
        .execute(conn)?;
        if disabling || password_changed {
            let reason = if disabling {
                "user_disabled"
            } else {
                "password_changed"
            };
            super::sessions::revoke_all_for_user(conn, id, reason)?;
        }
        let enabling = matches!(changes.disabled_at, Some(None));
        if changes.time_zone.is_some() || enabling {
            // A daily digest is at a local time: when it is due moves with
            // the zone; a disabled user's schedule was stopped.
            let tz: String = users::table
                .find(id.to_string())
                .select(users::time_zone)
                .first(conn)?;
            super::push_schedules::retime(conn, id, &tz, now_micros())?;
        }
        Ok(())
    })
}

/// The ids `visibility` allows, or `None` for the whole organisation (the
/// caller scopes by organisation itself).
pub fn visible_ids(
    conn: &mut DbConn,
    visibility: Visibility,
) -> Result<Option<Vec<String>>, RepoError> {
    Ok(match visibility {
        Visibility::Org => None,
        Visibility::SelfOnly(me) => Some(vec![me.to_string()]),
        Visibility::TeamsOf(manager) => {
            let my_teams: Vec<String> = team_members::table
                .filter(team_members::user_id.eq(manager.to_string()))
                .select(team_members::team_id)
                .load(conn)?;
            let mut ids: Vec<String> = team_members::table
                .filter(team_members::team_id.eq_any(my_teams))
                .select(team_members::user_id)
                .distinct()
                .load(conn)?;
            ids.push(manager.to_string());
            Some(ids)
        }
    })
}

/// Takes the user's row lock (PostgreSQL; SQLite's write transaction
/// already serialises): it orders the user's event log and serialises the
/// user's dial requests. Taken after any binding row lock.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::updated_at.eq(users::updated_at))
        .execute(conn)?;
    Ok(())
}
