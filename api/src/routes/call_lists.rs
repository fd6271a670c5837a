//! `/v1/call-lists` (managers and admins; docs/call-lists.md): create a
//! list, page and read the lists one manages (admins: all of the
//! organisation's), rename it or move its state with the version read,
//! import tasks in batches (JSON or CSV), page a list's tasks and move a user's
//! unfinished tasks to someone else. Salespeople: 403.

use actix_web::{HttpResponse, web};
use deskbind_core::domain::FieldError;
use deskbind_core::ids::{CallListId, CallTaskId};
use deskbind_core::usecases::call_list_import::{self, ImportError};
use deskbind_core::usecases::call_list_reassign::{self, ReassignError};
use deskbind_core::usecases::call_list_reports;
use deskbind_core::usecases::call_lists::{self, ListError, Manager};
use deskbind_core::wire::{
    CallAttempt, CallList, CallListReport, CallListState, CallTask, CallTaskState, CreateCallList,
    ErrorCode, ImportCallTask, ImportCallTasks, ImportCallTasksResult, Page, ReassignCallTasks,
    ReassignCallTasksResult, Role, UpdateCallList,
};
use serde::Deserialize;

use super::call_list_csv;
use crate::error::{ApiError, ApiResult};
use crate::extract::{
    AuthUser, BatchBody, Json, PageParams, Query, SeqPageParams, id_param, path_id,
};
use crate::state::AppState;

pub(crate) fn manager(auth: &AuthUser) -> ApiResult<Manager> {
    if auth.role == Role::Salesperson {
        return Err(ApiError::forbidden());
    }
    Ok(Manager {
        org: auth.org_id,
        user: auth.user_id,
        role: auth.role,
    })
}

pub(crate) fn list_refusal(e: ListError) -> ApiError {
    match e {
        ListError::Invalid(e) => e.into(),
        ListError::Changed => ApiError::Conflict {
            code: ErrorCode::CallListChanged,
            detail: "the call list changed since this version: read it again".into(),
        },
        ListError::Transition { from, to } => ApiError::Conflict {
            code: ErrorCode::InvalidStateTransition,
            detail: format!("a {from} call list cannot become {to}"),
        },
        ListError::Repo(e) => e.into(),
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateCallList>,
) -> ApiResult<HttpResponse> {
    let by = manager(&auth)?;
    let list = call_lists::create(&state.services(), by, body, state.clock.now())
        .await
        .map_err(list_refusal)?;
    tracing::info!(list = %list.id, by = %auth.user_id, "call list created");
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/call-lists/{}", list.id)))
        .json(list))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    state: Option<String>,
}

fn state_param(raw: Option<&str>) -> ApiResult<Option<CallListState>> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(raw) => CallListState::parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidQuery {
                field: "state".into(),
                detail: "must be draft, active, paused, completed or archived".into(),
            }),
    }
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<CallList>>> {
    let by = manager(&auth)?;
    let wanted = state_param(query.state.as_deref())?;
    let lists = call_lists::page(&state.services(), by, wanted, page.after, page.limit).await?;
    Ok(web::Json(lists))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<CallList>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    Ok(web::Json(call_lists::get(&state.services(), by, id).await?))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateCallList>,
) -> ApiResult<web::Json<CallList>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    let list = call_lists::update(&state.services(), by, id, body, state.clock.now())
        .await
        .map_err(list_refusal)?;
    state.relay.wake_org(by.org).await;
    tracing::info!(list = %list.id, state = %list.state, version = list.version, "call list changed");
    Ok(web::Json(list))
}

/// `POST /v1/call-lists/{id}/tasks`: `{"tasks": [...]}` as JSON, or a CSV
/// file (`text/csv`, read by [`call_list_csv`]).
pub async fn import(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    body: BatchBody<ImportCallTasks>,
) -> ApiResult<web::Json<ImportCallTasksResult>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    let rows = match body {
        BatchBody::Json(body) => body.tasks.into_iter().map(Ok).collect(),
        BatchBody::Csv(bytes) => csv_rows(&state, by, &bytes).await?,
    };
    Ok(web::Json(import_rows(&state, by, id, rows).await?))
}

/// Imports a CSV file as `POST /v1/call-lists/{id}/tasks` does (the
/// console's upload form sends the file it was given).
pub async fn import_csv(
    state: &AppState,
    by: Manager,
    id: CallListId,
    body: &[u8],
) -> ApiResult<ImportCallTasksResult> {
    let rows = csv_rows(state, by, body).await?;
    import_rows(state, by, id, rows).await
}

/// The file's rows, assignees named by e-mail turned into the users the
/// manager may name (an address of nobody in reach rejects its row).
async fn csv_rows(
    state: &AppState,
    by: Manager,
    body: &[u8],
) -> ApiResult<Vec<Result<ImportCallTask, FieldError>>> {
    let rows = call_list_csv::read(body)?;
    let emails: Vec<String> = rows
        .iter()
        .filter_map(|r| r.as_ref().ok()?.assignee_email.clone())
        .collect();
    let found = if emails.is_empty() {
        Default::default()
    } else {
        call_list_import::assignees_by_email(&state.services(), by, emails).await?
    };
    Ok(rows
        .into_iter()
        .map(|row| {
            let mut row = row?;
            if let Some(email) = row.assignee_email {
                let user = found.get(&email).copied().ok_or_else(|| {
                    FieldError::new(
                        "assignee_email",
                        ErrorCode::UnknownUser,
                        format!("no user {email} in this organisation"),
                    )
                })?;
                row.task.assignee_id = Some(user);
            }
            Ok(row.task)
        })
        .collect())
}

async fn import_rows(
    state: &AppState,
    by: Manager,
    id: CallListId,
    rows: Vec<Result<ImportCallTask, FieldError>>,
) -> ApiResult<ImportCallTasksResult> {
    let result = call_list_import::import_rows(&state.services(), by, id, rows, state.clock.now())
        .await
        .map_err(|e| match e {
            ImportError::List(e) => list_refusal(e),
            ImportError::Closed => ApiError::Conflict {
                code: ErrorCode::CallListClosed,
                detail: "the call list is archived and takes no tasks".into(),
            },
        })?;
    // The list's page follows its report live (console call_lists/stream.rs).
    state.relay.wake_org(by.org).await;
    tracing::info!(
        list = %id,
        created = result.created,
        unchanged = result.unchanged,
        dropped = result.dropped,
        blocked = result.blocked,
        rejected = result.rejected,
        "call list tasks imported"
    );
    Ok(result)
}

#[derive(Debug, Deserialize)]
pub struct TaskQuery {
    state: Option<String>,
}

pub async fn tasks(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    SeqPageParams(page): SeqPageParams,
    Query(query): Query<TaskQuery>,
) -> ApiResult<web::Json<Page<CallTask>>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    let wanted =
        match query.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(CallTaskState::parse(raw).ok_or_else(|| {
                ApiError::InvalidQuery {
                    field: "state".into(),
                    detail:
                        "must be queued, leased, completed, gave_up, dropped, blocked or returned"
                            .into(),
                }
            })?),
        };
    let after = page
        .after
        .as_deref()
        .and_then(|raw| raw.parse::<i64>().ok());
    let tasks = call_lists::tasks(&state.services(), by, id, wanted, after, page.limit).await?;
    Ok(web::Json(tasks))
}

/// `GET /v1/call-lists/{id}/report`.
pub async fn report(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<CallListReport>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    Ok(web::Json(
        call_list_reports::report(&state.services(), by, id).await?,
    ))
}

#[derive(Debug, Deserialize)]
pub struct AttemptQuery {
    task_id: Option<String>,
}

/// `GET /v1/call-lists/{id}/attempts`, oldest first.
pub async fn attempts(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    PageParams(page): PageParams,
    Query(query): Query<AttemptQuery>,
) -> ApiResult<web::Json<Page<CallAttempt>>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    let task = id_param::<CallTaskId>("task_id", query.task_id.as_deref())?;
    let found =
        call_list_reports::attempts_page(&state.services(), by, id, task, page.after, page.limit)
            .await?;
    Ok(web::Json(found))
}

pub async fn reassign(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<ReassignCallTasks>,
) -> ApiResult<web::Json<ReassignCallTasksResult>> {
    let by = manager(&auth)?;
    let id: CallListId = path_id(&id)?;
    let from = body.from_user_id;
    let result = call_list_reassign::reassign(&state.services(), by, id, body, state.clock.now())
        .await
        .map_err(|e| match e {
            ReassignError::List(e) => list_refusal(e),
            ReassignError::Closed => ApiError::Conflict {
                code: ErrorCode::CallListClosed,
                detail: "the call list is archived: its tasks stay as they are".into(),
            },
        })?;
    state.relay.wake_org(by.org).await;
    tracing::info!(list = %id, from = %from, moved = result.moved, by = %auth.user_id, "call-list tasks reassigned");
    Ok(web::Json(result))
}
