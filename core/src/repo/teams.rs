use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{team_members, teams, users};
use crate::ids::{OrgId, TeamId, UserId};
use crate::time::{now_micros, to_datetime};
use crate::wire::{Page, Team};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: String,
    pub org_id: String,
    pub name: String,
    pub created_at: i64,
    pub updated_at: i64,
}

impl TeamRow {
    pub fn to_wire(&self) -> Result<Team, RepoError> {
        Ok(Team {
            id: stored_id(&self.id)?,
            name: self.name.clone(),
            created_at: to_datetime(self.created_at),
            updated_at: to_datetime(self.updated_at),
        })
    }
}

/// Which teams a caller may see: admins all, others the teams they belong to.
#[derive(Debug, Clone, Copy)]
pub enum TeamVisibility {
    Org,
    MemberOf(UserId),
}

type BoxedTeams<'a> = teams::BoxedQuery<
    'a,
    crate::db::DbBackend,
    diesel::dsl::SqlTypeOf<diesel::dsl::AsSelect<TeamRow, crate::db::DbBackend>>,
>;

fn scoped(org: OrgId, visibility: TeamVisibility) -> BoxedTeams<'static> {
    let query = teams::table
        .filter(teams::org_id.eq(org.to_string()))
        .select(TeamRow::as_select())
        .into_boxed();
    match visibility {
        TeamVisibility::Org => query,
        TeamVisibility::MemberOf(user) => query.filter(
            teams::id.eq_any(
                team_members::table
                    .filter(team_members::user_id.eq(user.to_string()))
                    .select(team_members::team_id),
            ),
        ),
    }
}

pub fn insert(conn: &mut DbConn, org: OrgId, name: &str) -> Result<TeamRow, RepoError> {
    let now = now_micros();
    let row = TeamRow {
        id: TeamId::new().to_string(),
        org_id: org.to_string(),
        name: name.to_owned(),
        created_at: now,
        updated_at: now,
    };
    diesel::insert_into(teams::table)
        .values(&row)
        .execute(conn)?;
    Ok(row)
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: TeamId,
    visibility: TeamVisibility,
) -> Result<TeamRow, RepoError> {
    Ok(scoped(org, visibility)
        .filter(teams::id.eq(id.to_string()))
        .first(conn)?)
}

pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    visibility: TeamVisibility,
    page: &PageRequest,
) -> Result<Page<TeamRow>, RepoError> {
    let mut query = scoped(org, visibility);
    if let Some(after) = &page.after {
        query = query.filter(teams::id.gt(after.clone()));
    }
    let rows = query
        .order(teams::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

pub fn rename(conn: &mut DbConn, org: OrgId, id: TeamId, name: &str) -> Result<TeamRow, RepoError> {
    let n = diesel::update(
        teams::table
            .filter(teams::org_id.eq(org.to_string()))
            .filter(teams::id.eq(id.to_string())),
    )
    .set((teams::name.eq(name), teams::updated_at.eq(now_micros())))
    .execute(conn)?;
    if n == 0 {
        return Err(RepoError::NotFound);
    }
    get(conn, org, id, TeamVisibility::Org)
}

/// Deletes the team's memberships (the users stay).
pub fn delete_memberships(conn: &mut DbConn, org: OrgId, id: TeamId) -> Result<usize, RepoError> {
    Ok(diesel::delete(
        team_members::table
            .filter(team_members::team_id.eq(id.to_string()))
            .filter(team_members::org_id.eq(org.to_string())),
    )
    .execute(conn)?)
}

/// Deletes the team row; `NotFound` when `org` has no such team.
pub fn delete(conn: &mut DbConn, org: OrgId, id: TeamId) -> Result<(), RepoError> {
    let n = diesel::delete(
        teams::table
            .filter(teams::org_id.eq(org.to_string()))
            .filter(teams::id.eq(id.to_string())),
    )
    .execute(conn)?;
    if n == 0 {
        Err(RepoError::NotFound)
    } else {
        Ok(())
    }
}

/// Whether `org` has the team.
pub fn exists(conn: &mut DbConn, org: OrgId, id: TeamId) -> Result<bool, RepoError> {
    let found: i64 = teams::table
        .filter(teams::org_id.eq(org.to_string()))
        .filter(teams::id.eq(id.to_string()))
        .count()
        .get_result(conn)?;
    Ok(found > 0)
}

/// Inserts a membership unless it exists. Runs inside the caller's
/// transaction; the caller has checked that team and user belong to `org`.
pub fn insert_membership(
    conn: &mut DbConn,
    org: OrgId,
    team: TeamId,
    user: UserId,
) -> Result<(), RepoError> {
    let exists: i64 = team_members::table
        .filter(team_members::team_id.eq(team.to_string()))
        .filter(team_members::user_id.eq(user.to_string()))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        let inserted = diesel::insert_into(team_members::table)
            .values((
                team_members::team_id.eq(team.to_string()),
                team_members::user_id.eq(user.to_string()),
                team_members::org_id.eq(org.to_string()),
                team_members::created_at.eq(now_micros()),
            ))
            .execute(conn);
        match inserted.map_err(RepoError::from) {
            // A concurrent add won the race: the membership exists, as asked.
            Ok(_) | Err(RepoError::Conflict) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

/// Removes `user` from `team` (nothing when not a member).
pub fn delete_membership(conn: &mut DbConn, team: TeamId, user: UserId) -> Result<(), RepoError> {
    diesel::delete(
        team_members::table
            .filter(team_members::team_id.eq(team.to_string()))
            .filter(team_members::user_id.eq(user.to_string())),
    )
    .execute(conn)?;
    Ok(())
}

/// Ids of the given teams that exist in `org` (to validate `team_ids` input).
pub fn existing_ids(
    conn: &mut DbConn,
    org: OrgId,
    ids: &[TeamId],
) -> Result<Vec<TeamId>, RepoError> {
    let wanted: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let found: Vec<String> = teams::table
        .filter(teams::org_id.eq(org.to_string()))
        .filter(teams::id.eq_any(wanted))
        .select(teams::id)
        .load(conn)?;
    found.iter().map(|raw| stored_id(raw)).collect()
}

/// Every member's user id of a team in `org` (empty for another
/// organisation's team).
pub fn member_ids(conn: &mut DbConn, org: OrgId, team: TeamId) -> Result<Vec<String>, RepoError> {
    Ok(team_members::table
        .filter(team_members::team_id.eq(team.to_string()))
        .filter(team_members::org_id.eq(org.to_string()))
        .select(team_members::user_id)
        .load(conn)?)
}

/// The enabled members of a team in `org`, in user-id order (empty for
/// another organisation's team).
pub fn enabled_member_ids(
    conn: &mut DbConn,
    org: OrgId,
    team: TeamId,
) -> Result<Vec<String>, RepoError> {
    let members = team_members::table
        .filter(team_members::team_id.eq(team.to_string()))
        .filter(team_members::org_id.eq(org.to_string()))
        .select(team_members::user_id);
    Ok(users::table
        .filter(users::org_id.eq(org.to_string()))
        .filter(users::id.eq_any(members))
        .filter(users::disabled_at.is_null())
        .order(users::id.asc())
        .select(users::id)
        .load(conn)?)
}

/// How many members each of the given teams of `org` has (teams without
/// members are absent), in one query for a page of teams.
pub fn member_counts(
    conn: &mut DbConn,
    org: OrgId,
    team_ids: &[String],
) -> Result<std::collections::HashMap<String, i64>, RepoError> {
    let pairs: Vec<(String, i64)> = team_members::table
        .filter(team_members::org_id.eq(org.to_string()))
        .filter(team_members::team_id.eq_any(team_ids))
        .group_by(team_members::team_id)
        .select((team_members::team_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(pairs.into_iter().collect())
}
