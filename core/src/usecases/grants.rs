//! Replacing a phone's grants (who besides admins may bind it): the whole
//! set in one transaction under the phone's lock, so concurrent replaces of
//! one phone's grants run one after the other. Every listed user and team
//! must belong to the organisation, else nothing changes.

use std::collections::HashSet;

use super::{Services, audit};
use crate::db::DbError;
use crate::ids::{OrgId, PhoneId, TeamId, UserId};
use crate::repo::{RepoError, grants, phones, teams, users};
use crate::time::now_micros;
use crate::wire::{AuditAction, PhoneGrants};

/// A listed grantee that is not in the organisation: (field, index).
#[derive(Debug)]
pub enum GrantError {
    UnknownGrantee { field: &'static str, index: usize },
    Repo(RepoError),
}

impl From<RepoError> for GrantError {
    fn from(e: RepoError) -> Self {
        Self::Repo(e)
    }
}

impl From<DbError> for GrantError {
    fn from(e: DbError) -> Self {
        RepoError::Db(e).into()
    }
}

impl From<diesel::result::Error> for GrantError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// Replaces the phone's grants (duplicates collapse) on behalf of `by`;
/// returns them as stored.
pub async fn replace(
    services: &Services,
    org: OrgId,
    phone: PhoneId,
    wanted: PhoneGrants,
    by: UserId,
) -> Result<PhoneGrants, GrantError> {
    services
        .db
        .write(move |conn| {
            phones::get(conn, org, phone)?;
            phones::lock(conn, &phone.to_string())?;
            let known_users = users::existing_ids(conn, org, &wanted.user_ids)?;
            let known_teams: HashSet<TeamId> = teams::existing_ids(conn, org, &wanted.team_ids)?
                .into_iter()
                .collect();
            unknown_grantee(&wanted, &known_users, &known_teams)?;
            grants::delete_for_phone(conn, phone)?;
            grants::insert(conn, org, phone, &wanted)?;
            let stored = grants::get(conn, phone)?;
            let ids = |list: Vec<String>| serde_json::Value::from(list);
            let user_ids = stored.user_ids.iter().map(ToString::to_string).collect();
            let team_ids = stored.team_ids.iter().map(ToString::to_string).collect();
            let phone_id = phone.to_string();
            audit::Entry::new(
                &org.to_string(),
                AuditAction::GrantsReplaced,
                "phone",
                &phone_id,
                audit::by_user(by),
            )
            .detail("everyone", stored.everyone)
            .detail("user_ids", ids(user_ids))
            .detail("team_ids", ids(team_ids))
            .record(conn, now_micros())?;
            Ok(stored)
        })
        .await
}

/// The first listed user, then team, that is not of the organisation.
fn unknown_grantee(
    wanted: &PhoneGrants,
    users: &HashSet<UserId>,
    teams: &HashSet<TeamId>,
) -> Result<(), GrantError> {
    if let Some(index) = wanted.user_ids.iter().position(|u| !users.contains(u)) {
        return Err(GrantError::UnknownGrantee {
            field: "user_ids",
            index,
        });
    }
    if let Some(index) = wanted.team_ids.iter().position(|t| !teams.contains(t)) {
        return Err(GrantError::UnknownGrantee {
            field: "team_ids",
            index,
        });
    }
    Ok(())
}
