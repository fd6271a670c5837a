//! Managing call lists (docs/call-lists.md): managers and admins create
//! them (with a pool of their people), read and page them, rename them
//! and move them through their states, naming the version they read.

use super::Services;
use crate::db::DbConn;
use crate::domain::FieldError;
use crate::domain::call_lists::{NewList, may_change};
use crate::ids::{CallListId, OrgId, UserId};
use crate::repo::call_lists::{self as lists, ListRow};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, stored_id, teams};
use crate::time::{Micros, to_datetime};
use crate::wire::{
    CallList, CallListPool, CallListState, CreateCallList, ErrorCode, Page, Role, UpdateCallList,
};

/// Who manages: admins every list of the organisation, managers their own.
#[derive(Debug, Clone, Copy)]
pub struct Manager {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
}

impl Manager {
    fn owner_filter(self) -> Option<UserId> {
        (self.role != Role::Admin).then_some(self.user)
    }

    /// The list, if this manager may manage it (`NotFound` otherwise).
    pub fn list_in(self, conn: &mut DbConn, id: CallListId) -> Result<ListRow, RepoError> {
        let row = lists::get(conn, self.org, id)?;
        match self.owner_filter() {
            Some(me) if row.owner_id != me.to_string() => Err(RepoError::NotFound),
            _ => Ok(row),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The version named is no longer the stored one.
    #[error("the call list changed")]
    Changed,
    /// The state cannot go there from where it is.
    #[error("a {from} list cannot become {to}")]
    Transition {
        from: CallListState,
        to: CallListState,
    },
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<diesel::result::Error> for ListError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<crate::db::DbError> for ListError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

/// The wire form of stored lists (with their task counts and pools).
pub fn to_wire(conn: &mut DbConn, rows: Vec<ListRow>) -> Result<Vec<CallList>, RepoError> {
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut counts = lists::counts(conn, &ids)?;
    rows.into_iter()
        .map(|row| {
            let settings = row.settings()?;
            Ok(CallList {
                id: stored_id(&row.id)?,
                name: row.name.clone(),
                owner_id: stored_id(&row.owner_id)?,
                state: row.state()?,
                mode: row.mode()?,
                order: row.order()?,
                gap_secs: settings.gap_secs,
                lease_secs: settings.lease_secs,
                min_recall_gap_secs: settings.min_recall_gap_secs,
                region: settings.region,
                calling_hours: settings.calling_hours,
                callee_hours: settings.callee_hours,
                retry: settings.retry,
                hand_back_hold_secs: settings.hand_back_hold_secs,
                offline_return_secs: settings.offline_return_secs,
                callback_pool_after_secs: settings.callback_pool_after_secs,
                pool: CallListPool {
                    team_id: row.pool_team_id.as_deref().map(stored_id).transpose()?,
                    user_ids: lists::members(conn, &row.id)?,
                },
                counts: counts.remove(&row.id).unwrap_or_default(),
                version: row.version,
                created_at: to_datetime(row.created_at),
                updated_at: to_datetime(row.updated_at),
            })
        })
        .collect()
}

/// Creates a draft list owned by the manager. A manager's pool may name
/// only teams they belong to and people they can see; anything else is
/// an unknown team or user, as for another organisation's.
pub async fn create(
    svc: &Services,
    by: Manager,
    body: CreateCallList,
    now: Micros,
) -> Result<CallList, ListError> {
    let list = NewList::parse(&body)?;
    svc.db
        .write(move |conn| -> Result<CallList, ListError> {
            let visibility = Visibility::of(by.role, by.user);
            if let Some(team) = body.pool.team_id {
                let exists = !teams::existing_ids(conn, by.org, &[team])?.is_empty();
                let mine = by.role == Role::Admin
                    || users::team_ids_of(conn, &[by.user.to_string()])?
                        .remove(&by.user.to_string())
                        .unwrap_or_default()
                        .contains(&team);
                if !(exists && mine) {
                    return Err(FieldError::new(
                        "pool",
                        ErrorCode::UnknownTeam,
                        format!("no team {team} in this organisation"),
                    )
                    .into());
                }
            }
            for user in &body.pool.user_ids {
                let found = match users::get(conn, by.org, *user, visibility) {
                    Ok(_) => true,
                    Err(RepoError::NotFound) => false,
                    Err(e) => return Err(e.into()),
                };
                if !found {
                    return Err(FieldError::new(
                        "pool",
                        ErrorCode::UnknownUser,
                        format!("no user {user} in this organisation"),
                    )
                    .into());
                }
            }
            let settings = serde_json::to_string(&list.settings)
                .map_err(|e| RepoError::Corrupt(format!("list settings: {e}")))?;
            let row = ListRow {
                id: CallListId::new().to_string(),
                org_id: by.org.to_string(),
                owner_id: by.user.to_string(),
                name: list.name,
                state: CallListState::Draft.as_str().to_owned(),
                mode: list.mode.as_str().to_owned(),
                order_by: list.order.as_str().to_owned(),
                settings,
                pool_team_id: body.pool.team_id.map(|t| t.to_string()),
                version: 1,
                next_seq: 1,
                created_at: now,
                updated_at: now,
            };
            lists::insert(conn, &row, &body.pool.user_ids)?;
            Ok(to_wire(conn, vec![row])?.remove(0))
        })
        .await
}

/// One list the manager may manage.
pub async fn get(svc: &Services, by: Manager, id: CallListId) -> Result<CallList, RepoError> {
    svc.db
        .run(move |conn| {
            let row = by.list_in(conn, id)?;
            Ok(to_wire(conn, vec![row])?.remove(0))
        })
        .await
}

/// A page of the lists the manager may manage, newest first.
pub async fn page(
    svc: &Services,
    by: Manager,
    state: Option<CallListState>,
    cursor: Option<String>,
    limit: u32,
) -> Result<Page<CallList>, RepoError> {
    svc.db
        .run(move |conn| {
            let mut rows = lists::page(
                conn,
                by.org,
                by.owner_filter(),
                state,
                cursor.as_deref(),
                i64::from(limit) + 1,
            )?;
            let more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let next_cursor = more.then(|| rows.last().map(|r| r.id.clone())).flatten();
            Ok(Page {
                items: to_wire(conn, rows)?,
                next_cursor,
            })
        })
        .await
}

/// Renames the list or moves its state, from the version read.
pub async fn update(
    svc: &Services,
    by: Manager,
    id: CallListId,
    body: UpdateCallList,
    now: Micros,
) -> Result<CallList, ListError> {
    let name = body
        .name
        .as_deref()
        .map(|raw| crate::domain::NonBlank::parse("name", raw, crate::domain::call_lists::MAX_NAME))
        .transpose()?
        .map(crate::domain::NonBlank::into_inner);
    let to = body
        .state
        .as_deref()
        .map(|raw| {
            CallListState::parse(raw).ok_or_else(|| {
                FieldError::new(
                    "state",
                    ErrorCode::InvalidField,
                    "must be draft, active, paused, completed or archived",
                )
            })
        })
        .transpose()?;
    if body.version < 1 {
        return Err(FieldError::new(
            "version",
            ErrorCode::InvalidField,
            "must be the version read",
        )
        .into());
    }
    svc.db
        .write(move |conn| -> Result<CallList, ListError> {
            let row = by.list_in(conn, id)?;
            lists::lock(conn, &row.id)?;
            let row = by.list_in(conn, id)?;
            if row.version != body.version {
                return Err(ListError::Changed);
            }
            let from = row.state()?;
            let to = to.unwrap_or(from);
            if !may_change(from, to) {
                return Err(ListError::Transition { from, to });
            }
            let name = name.unwrap_or_else(|| row.name.clone());
            if !lists::update(conn, &row.id, row.version, &name, to, now)? {
                return Err(ListError::Changed);
            }
            let row = by.list_in(conn, id)?;
            Ok(to_wire(conn, vec![row])?.remove(0))
        })
        .await
}

/// A page of a list's tasks in import order (after the `seq` cursor).
pub async fn tasks(
    svc: &Services,
    by: Manager,
    id: CallListId,
    state: Option<crate::wire::CallTaskState>,
    after: Option<i64>,
    limit: u32,
) -> Result<Page<crate::wire::CallTask>, RepoError> {
    svc.db
        .run(move |conn| {
            let row = by.list_in(conn, id)?;
            let mut rows = crate::repo::call_list_tasks::page(
                conn,
                stored_id(&row.id)?,
                state,
                after,
                i64::from(limit) + 1,
            )?;
            let more = rows.len() > limit as usize;
            rows.truncate(limit as usize);
            let next_cursor = more
                .then(|| rows.last().map(|r| r.seq.to_string()))
                .flatten();
            Ok(Page {
                items: rows.iter().map(|r| r.to_wire()).collect::<Result<_, _>>()?,
                next_cursor,
            })
        })
        .await
}
