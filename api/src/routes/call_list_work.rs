//! Working call lists from the app (docs/call-lists.md, "Working a
//! list"): `POST /v1/me/call-list/next` leases the next task the caller
//! may call now (or says when one falls due), `POST
//! /v1/me/call-list/tasks/{id}/skip` hands it back with a reason.

use actix_web::web;
use deskbind_core::ids::CallTaskId;
use deskbind_core::usecases::call_list_work::{self, WorkError, Worker};
use deskbind_core::wire::{CallTask, ErrorCode, NextCallTask, NextCallTaskResult, SkipCallTask};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

fn refusal(e: WorkError) -> ApiError {
    match e {
        WorkError::Invalid(e) => e.into(),
        WorkError::Unavailable => ApiError::Conflict {
            code: ErrorCode::CallerUnavailable,
            detail: "you are in do not disturb: end it to work a call list".into(),
        },
        WorkError::NoBinding => ApiError::Conflict {
            code: ErrorCode::NoBinding,
            detail: "bind a desk phone first: call-list tasks are dialled from it".into(),
        },
        WorkError::NotLeased => ApiError::Conflict {
            code: ErrorCode::TaskNotLeased,
            detail: "you do not hold this task (its lease ended or it was never yours)".into(),
        },
        WorkError::ListNotActive => ApiError::Conflict {
            code: ErrorCode::CallListClosed,
            detail: "the call list is not active".into(),
        },
        WorkError::Repo(e) => e.into(),
    }
}

fn worker(auth: &AuthUser) -> Worker {
    Worker {
        org: auth.org_id,
        user: auth.user_id,
    }
}

pub async fn next(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<NextCallTask>,
) -> ApiResult<web::Json<NextCallTaskResult>> {
    let only = body.list_id;
    let now = state.clock.now();
    let result = call_list_work::next(&state.services(), worker(&auth), only, now)
        .await
        .map_err(refusal)?;
    Ok(web::Json(result))
}

pub async fn skip(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<SkipCallTask>,
) -> ApiResult<web::Json<CallTask>> {
    let id: CallTaskId = path_id(&id)?;
    let now = state.clock.now();
    let task = call_list_work::skip(&state.services(), worker(&auth), id, body.reason, now)
        .await
        .map_err(refusal)?;
    Ok(web::Json(task))
}
