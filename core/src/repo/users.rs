use std::collections::HashMap;

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::dialect;
use crate::db::schema::{sessions, team_members, users};
use crate::ids::{OrgId, SessionId, TeamId, UserId};
use crate::time::to_datetime;
use crate::wire::{Page, Role, User};

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

/// The roles of those of `ids` that are users of `org` (one read for
/// many readers; a missing id is simply absent).
pub fn roles_of(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[UserId],
) -> Result<HashMap<UserId, String>, RepoError> {
    let keys: Vec<String> = ids.iter().map(UserId::to_string).collect();
    let mut roles = HashMap::with_capacity(ids.len());
    for chunk in keys.chunks(IDS_PER_STATEMENT) {
        let found: Vec<(String, String)> = users::table
            .filter(users::org_id.eq(org.to_string()))
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::role))
            .load(conn)?;
        for (id, role) in found {
            roles.insert(stored_id::<UserId>(&id)?, role);
        }
    }
    Ok(roles)
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

/// The user of `org` with this e-mail address, if any.
pub fn find_in_org_by_email(
    conn: &mut DbConn,
    org: OrgId,
    email: &str,
) -> Result<Option<UserRow>, RepoError> {
    Ok(users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::email.eq(email))
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Which of `ids` are users of `org`.
pub fn existing_ids(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[UserId],
) -> Result<std::collections::HashSet<UserId>, RepoError> {
    let wanted: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let found: Vec<String> = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq_any(&wanted))
        .select(users::id)
        .load(conn)?;
    found.iter().map(|raw| stored_id(raw)).collect()
}

/// The user behind an access token, when its session is live and the user
/// enabled; `None` otherwise. Checked on every authenticated request so
/// logout, reuse detection and disabling take effect at once.
pub fn principal(
    conn: &mut DbConn,
    session: SessionId,
    user: UserId,
) -> Result<Option<UserRow>, RepoError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session.to_string()))
        .filter(sessions::user_id.eq(user.to_string()))
        .filter(sessions::revoked_at.is_null())
        .filter(users::disabled_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// The enabled user a session belongs to, if any.
pub fn enabled_in_session(
    conn: &mut DbConn,
    session: SessionId,
) -> Result<Option<UserRow>, RepoError> {
    Ok(sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(session.to_string()))
        .filter(users::disabled_at.is_null())
        .select(UserRow::as_select())
        .first(conn)
        .optional()?)
}

/// Whether `org` has the user.
pub fn exists_in_org(conn: &mut DbConn, org: OrgId, id: UserId) -> Result<bool, RepoError> {
    let found: i64 = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq(id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Members of a team of `org`, by user id.
pub fn in_team(
    conn: &mut DbConn,
    org: OrgId,
    team: TeamId,
    page: &PageRequest,
) -> Result<Page<UserRow>, RepoError> {
    let member_ids = team_members::table
        .filter(team_members::team_id.eq(team.to_string()))
        .filter(team_members::org_id.eq(org.to_string()))
        .select(team_members::user_id);
    let mut query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq_any(member_ids))
        .select(UserRow::as_select())
        .into_boxed();
    if let Some(after) = &page.after {
        query = query.filter(users::id.gt(after.clone()));
    }
    let rows = query
        .order(users::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// How many enabled admins `org` has, leaving out `except`.
pub fn active_admin_count(
    conn: &mut DbConn,
    org: OrgId,
    except: Option<UserId>,
) -> Result<i64, RepoError> {
    let mut query = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled_at.is_null())
        .into_boxed();
    if let Some(except) = except {
        query = query.filter(users::id.ne(except.to_string()));
    }
    Ok(query.count().get_result(conn)?)
}

/// Whether `id` is an enabled admin of `org`.
pub fn is_active_admin(conn: &mut DbConn, org: OrgId, id: UserId) -> Result<bool, RepoError> {
    let hits: i64 = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq(id.to_string()))
        .filter(users::role.eq(Role::Admin.as_str()))
        .filter(users::disabled_at.is_null())
        .count()
        .get_result(conn)?;
    Ok(hits > 0)
}

/// Applies `changes` to the user of `org`; `NotFound` when there is none.
pub fn apply(
    conn: &mut DbConn,
    org: OrgId,
    id: UserId,
    changes: &UserChanges,
) -> Result<(), RepoError> {
    let n = diesel::update(
        users::table
            .filter(users::org_id.eq(org.to_string()))
            .filter(users::id.eq(id.to_string())),
    )
    .set(changes)
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    Ok(())
}

/// The user's time zone as stored.
pub fn time_zone_of(conn: &mut DbConn, id: UserId) -> Result<String, RepoError> {
    Ok(users::table
        .find(id.to_string())
        .select(users::time_zone)
        .first(conn)?)
}

/// The ids `visibility` allows, or `None` for the whole organisation (the
/// caller scopes by organisation itself).
/// The display names of the users of `org` among `ids`, by id.
pub fn display_names(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[String],
) -> Result<HashMap<String, String>, RepoError> {
    let rows: Vec<(String, String)> = users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

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

/// [`lock`] for several users in one statement, in id order (the order
/// every transaction that locks several users takes them in, so two
/// cannot deadlock): `dialect::lock_user_rows`, the lock an UPDATE takes.
/// An ingest batch locked its users one statement each.
pub fn lock_many(conn: &mut DbConn, ids: &[&str]) -> Result<(), RepoError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for chunk in ids.chunks(IDS_PER_STATEMENT) {
        dialect::lock_user_rows(conn, chunk)?;
    }
    Ok(())
}

/// Ids per statement in [`lock_many`] and [`roles_of`] (chunks of a lock
/// go in id order too).
const IDS_PER_STATEMENT: usize = 500;

/// Takes the user's row lock (PostgreSQL; SQLite's write transaction
/// already serialises): it orders the user's event log and serialises the
/// user's dial requests. Taken after any binding row lock.
pub fn lock(conn: &mut DbConn, id: &str) -> Result<(), RepoError> {
    diesel::update(users::table.filter(users::id.eq(id)))
        .set(users::updated_at.eq(users::updated_at))
        .execute(conn)?;
    Ok(())
}
