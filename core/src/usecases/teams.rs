//! Admins changing teams: creating and renaming them (`Conflict` when the
//! name is taken), deleting a team with its memberships, adding and
//! removing members (both the team and the user must be of the caller's
//! organisation).

use super::Services;
use crate::db::DbConn;
use crate::ids::{OrgId, TeamId, UserId};
use crate::repo::teams::TeamRow;
use crate::repo::{RepoError, teams, users};
use crate::time::Micros;

pub async fn create(services: &Services, org: OrgId, name: String) -> Result<TeamRow, RepoError> {
    services
        .db
        .write(move |conn| teams::insert(conn, org, &name))
        .await
}

pub async fn rename(
    services: &Services,
    org: OrgId,
    id: TeamId,
    name: String,
) -> Result<TeamRow, RepoError> {
    services
        .db
        .run(move |conn| teams::rename(conn, org, id, &name))
        .await
}

/// Deletes the team and its memberships (the users stay) and its dial
/// rules (a new version of the organisation's set, audited as `by`'s).
pub async fn delete(
    services: &Services,
    org: OrgId,
    id: TeamId,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            super::dial_rules::forget_team_in(conn, org, id, by, now)?;
            teams::delete_memberships(conn, org, id)?;
            teams::delete(conn, org, id)
        })
        .await
}

/// Adds `user` to `team`; adding twice is a no-op.
pub async fn add_member(
    services: &Services,
    org: OrgId,
    team: TeamId,
    user: UserId,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            ensure_in_org(conn, org, team, user)?;
            teams::insert_membership(conn, org, team, user)
        })
        .await
}

/// Removes `user` from `team`; success when the user was not a member.
pub async fn remove_member(
    services: &Services,
    org: OrgId,
    team: TeamId,
    user: UserId,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            ensure_in_org(conn, org, team, user)?;
            teams::delete_membership(conn, team, user)
        })
        .await
}

/// `NotFound` unless both the team and the user are of `org`.
fn ensure_in_org(
    conn: &mut DbConn,
    org: OrgId,
    team: TeamId,
    user: UserId,
) -> Result<(), RepoError> {
    if teams::exists(conn, org, team)? && users::exists_in_org(conn, org, user)? {
        Ok(())
    } else {
        Err(RepoError::NotFound)
    }
}
