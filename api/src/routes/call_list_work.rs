//! Working call lists from the app (docs/call-lists.md, "Working a
//! list"): `POST /v1/me/call-list/next` leases the next task the caller
//! may call now (or says when one falls due), `POST
//! /v1/me/call-list/tasks/{id}/skip` hands it back with a reason, `POST
//! /v1/me/call-list/tasks/{id}/dial` dials it from the bound phone.

use actix_web::{HttpResponse, web};
use deskbind_core::ids::CallTaskId;
use deskbind_core::time::seconds;
use deskbind_core::usecases::call_list_dials::{self, DialTaskError};
use deskbind_core::usecases::call_list_work::{self, WorkError, Worker};
use deskbind_core::usecases::{call_list_reports, contact_links};
use deskbind_core::wire::{
    CallTask, DialCallTask, DialCallTaskResult, ErrorCode, NextCallTask, NextCallTaskResult,
    SkipCallTask,
};

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
        WorkError::OnCall => ApiError::Conflict {
            code: ErrorCode::TaskOnCall,
            detail: "the task is on a call: wait for it to end, or cancel its dial".into(),
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

/// Dials the task the caller holds from their bound phone. A new dial is
/// 201; asking again while the task is on that call answers the same dial
/// with 200.
pub async fn dial(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<DialCallTask>,
) -> ApiResult<HttpResponse> {
    let id: CallTaskId = path_id(&id)?;
    state.limits.dial(&auth.user_id.to_string())?;
    let now = state.clock.now();
    let ttl = seconds(i64::try_from(state.settings.dial_ttl_secs).unwrap_or(60));
    let dialled = call_list_dials::dial(
        &state.services(),
        worker(&auth),
        id,
        body.phone_id,
        ttl,
        now,
    )
    .await
    .map_err(|e| match e {
        DialTaskError::Work(e) => refusal(e),
        DialTaskError::Dial(e) => e.into(),
    })?;
    if dialled.placed {
        tracing::info!(task = %dialled.task.id, dial = %dialled.dial.id, "call-list task dialled");
    }
    let (org, reader) = (auth.org_id, auth.user_id);
    let placed = dialled.placed;
    let result = state
        .db
        .run(move |conn| -> ApiResult<DialCallTaskResult> {
            let dial = contact_links::dials_for(conn, org, reader, &[dialled.dial])?
                .pop()
                .ok_or(ApiError::NotFound)?;
            let attempt = call_list_reports::to_wire(conn, std::slice::from_ref(&dialled.attempt))?
                .pop()
                .ok_or(ApiError::NotFound)?;
            Ok(DialCallTaskResult {
                task: dialled.task.to_wire()?,
                dial,
                attempt,
            })
        })
        .await?;
    Ok(if placed {
        HttpResponse::Created().json(result)
    } else {
        HttpResponse::Ok().json(result)
    })
}
