//! A manager moving a user's unfinished tasks of a call list
//! (`POST /v1/call-lists/{id}/reassign`; docs/call-lists.md, "Hand-back
//! and reassignment"): to another user, spread over a team's enabled
//! members in turn, or to the pool. A leased task's lease is broken.

use super::Services;
use super::audit;
use super::call_lists::{ListError, Manager};
use crate::db::DbConn;
use crate::domain::FieldError;
use crate::ids::{CallListId, TeamId, UserId};
use crate::repo::call_list_returns as returns;
use crate::repo::call_lists as lists;
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, teams};
use crate::time::Micros;
use crate::wire::{
    AuditAction, CallListState, ErrorCode, ReassignCallTasks, ReassignCallTasksResult,
    ReassignTarget, Role,
};

#[derive(Debug, thiserror::Error)]
pub enum ReassignError {
    #[error(transparent)]
    List(#[from] ListError),
    /// An archived list's tasks stay as they are.
    #[error("the call list is archived")]
    Closed,
}

impl From<RepoError> for ReassignError {
    fn from(e: RepoError) -> Self {
        Self::List(e.into())
    }
}

impl From<FieldError> for ReassignError {
    fn from(e: FieldError) -> Self {
        Self::List(e.into())
    }
}

impl From<diesel::result::Error> for ReassignError {
    fn from(e: diesel::result::Error) -> Self {
        Self::List(e.into())
    }
}

impl From<crate::db::DbError> for ReassignError {
    fn from(e: crate::db::DbError) -> Self {
        Self::List(e.into())
    }
}

/// Where the tasks go, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum To {
    User(UserId),
    Team(TeamId),
    Pool,
}

fn target(to: &ReassignTarget) -> Result<To, FieldError> {
    match (to.user_id, to.team_id, to.pool) {
        (Some(user), None, None) => Ok(To::User(user)),
        (None, Some(team), None) => Ok(To::Team(team)),
        (None, None, Some(true)) => Ok(To::Pool),
        _ => Err(FieldError::new(
            "to",
            ErrorCode::OneOfRequired,
            "give exactly one of user_id, team_id or \"pool\": true",
        )),
    }
}

/// Whether the manager may name `user`: in the organisation and within
/// their reach (as for a list's pool). Anything else is an unknown user,
/// as one of another organisation is.
fn user_in_reach(
    conn: &mut DbConn,
    by: Manager,
    user: UserId,
    field: &'static str,
) -> Result<users::UserRow, ReassignError> {
    match users::get(conn, by.org, user, Visibility::of(by.role, by.user)) {
        Ok(row) => Ok(row),
        Err(RepoError::NotFound) => Err(FieldError::new(
            field,
            ErrorCode::UnknownUser,
            format!("no user {user} in this organisation"),
        )
        .into()),
        Err(e) => Err(e.into()),
    }
}

/// The enabled members a team's tasks go to in turn; a manager may name
/// only their own teams.
fn team_members(
    conn: &mut DbConn,
    by: Manager,
    team: TeamId,
) -> Result<Vec<String>, ReassignError> {
    let exists = !teams::existing_ids(conn, by.org, &[team])?.is_empty();
    let mine = by.role == Role::Admin
        || users::team_ids_of(conn, &[by.user.to_string()])?
            .remove(&by.user.to_string())
            .unwrap_or_default()
            .contains(&team);
    if !(exists && mine) {
        return Err(FieldError::new(
            "to.team_id",
            ErrorCode::UnknownTeam,
            format!("no team {team} in this organisation"),
        )
        .into());
    }
    let members = teams::enabled_member_ids(conn, by.org, team)?;
    if members.is_empty() {
        return Err(FieldError::new(
            "to.team_id",
            ErrorCode::EmptyTeam,
            "the team has no enabled members to take the tasks",
        )
        .into());
    }
    Ok(members)
}

/// Moves `from_user_id`'s unfinished tasks of the list (assigned to them,
/// leased by them, or returned and held for them) to `to`: queued again
/// for the new assignee (or the pool), leases and holds cleared. Runs
/// under the user's row lock and then the list's (the order `next`
/// takes them in), so it never overlaps a lease of the list or that
/// user's own `next`; audited in the same transaction.
pub async fn reassign(
    svc: &Services,
    by: Manager,
    id: CallListId,
    body: ReassignCallTasks,
    now: Micros,
) -> Result<ReassignCallTasksResult, ReassignError> {
    let to = target(&body.to)?;
    let from = body.from_user_id;
    svc.db
        .write(
            move |conn| -> Result<ReassignCallTasksResult, ReassignError> {
                by.list_in(conn, id)?;
                user_in_reach(conn, by, from, "from_user_id")?;
                let assignees: Vec<Option<String>> = match to {
                    To::User(user) => {
                        let row = user_in_reach(conn, by, user, "to.user_id")?;
                        if row.disabled_at.is_some() {
                            return Err(FieldError::new(
                                "to.user_id",
                                ErrorCode::InvalidField,
                                "the user is disabled",
                            )
                            .into());
                        }
                        vec![Some(row.id)]
                    }
                    To::Team(team) => team_members(conn, by, team)?
                        .into_iter()
                        .map(Some)
                        .collect(),
                    To::Pool => vec![None],
                };
                users::lock(conn, &from.to_string())?;
                let list = by.list_in(conn, id)?;
                lists::lock(conn, &list.id)?;
                // Read again under the lock: an archive committed meanwhile counts.
                let list = by.list_in(conn, id)?;
                if list.state()? == CallListState::Archived {
                    return Err(ReassignError::Closed);
                }
                let ids = returns::unfinished_of(conn, &list.id, from, now)?;
                // In turn: the first task to the first member, and so on.
                let mut shares: Vec<Vec<String>> = vec![Vec::new(); assignees.len()];
                for (i, task) in ids.into_iter().enumerate() {
                    shares[i % assignees.len()].push(task);
                }
                let mut moved = 0;
                for (assignee, share) in assignees.iter().zip(&shares) {
                    moved += returns::reassign(conn, &list.id, share, assignee.as_deref(), now)?;
                }
                let entry = audit::Entry::new(
                    &list.org_id,
                    AuditAction::CallTasksReassigned,
                    "call_list",
                    &list.id,
                    audit::by_user(by.user),
                )
                .concerning(&from.to_string())
                .detail("from_user_id", from.to_string())
                .detail("moved", moved);
                let entry = match to {
                    To::User(user) => entry.detail("to_user_id", user.to_string()),
                    To::Team(team) => entry.detail("to_team_id", team.to_string()),
                    To::Pool => entry.detail("to_pool", true),
                };
                entry.record(conn, now)?;
                Ok(ReassignCallTasksResult {
                    moved: moved as u64,
                })
            },
        )
        .await
}
