//! What came of a call (docs/call-outcomes.md): `PATCH /v1/calls/{id}`
//! (notes, tags, disposition, callback, privacy), its edit history, and the
//! organisation's call settings.

use actix_web::web;
use deskbind_core::domain::call_outcomes::{call_notes, call_tags};
use deskbind_core::ids::CallRecordId;
use deskbind_core::repo::{call_annotation_edits, call_settings, users};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::call_outcomes::{self, AnnotateError, CallChange, Editor};
use deskbind_core::usecases::call_settings as settings;
use deskbind_core::wire::{CallHistory, CallRecord, CallSettings, ErrorCode, UpdateCall};

use super::calls::{get_one, unredacted_row};
use super::users::visibility;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

impl From<AnnotateError> for ApiError {
    fn from(e: AnnotateError) -> Self {
        match e {
            AnnotateError::Invalid(field) => field.into(),
            AnnotateError::NotYourCall => ApiError::Denied {
                code: ErrorCode::NotYourCall,
                detail: "only the call's user marks it private or changes a private call".into(),
            },
            AnnotateError::PrivateDisabled => ApiError::Denied {
                code: ErrorCode::PrivateCallsDisabled,
                detail: "the organisation does not allow private calls".into(),
            },
            AnnotateError::Changed => ApiError::Conflict {
                code: ErrorCode::AnnotationChanged,
                detail: "the call was changed since that version; read it again".into(),
            },
            AnnotateError::Blocklist(e) => e.into(),
            AnnotateError::Repo(e) => e.into(),
        }
    }
}

/// `PATCH /v1/calls/{id}`: the call as it is after the change.
pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateCall>,
) -> ApiResult<web::Json<CallRecord>> {
    let id: CallRecordId = path_id(&id)?;
    let change = CallChange {
        notes: body.notes.map(|n| call_notes(n.as_deref())).transpose()?,
        tags: body.tags.as_deref().map(call_tags).transpose()?,
        disposition_id: body.disposition_id,
        callback_at: body.callback_at.map(|at| at.map(|t| t.timestamp_micros())),
        private: body.private,
        version: body.version,
    };
    let editor = {
        let scope = state
            .db
            .run(move |conn| users::visible_ids(conn, visibility(&auth)))
            .await?;
        Editor {
            org: auth.org_id,
            user: auth.user_id,
            scope,
        }
    };
    call_outcomes::annotate(&state.services(), editor, id, change, now_micros()).await?;
    let call = state.db.run(move |conn| get_one(conn, &auth, id)).await?;
    Ok(web::Json(call))
}

/// `GET /v1/calls/{id}/history`: for whoever may see the call, except
/// another user's private call (404, as its annotation is hidden).
pub async fn history(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<CallHistory>> {
    let id: CallRecordId = path_id(&id)?;
    let rows = state
        .db
        .run(move |conn| {
            let call = unredacted_row(conn, &auth, id)?;
            Ok::<_, ApiError>(call_annotation_edits::of_call(conn, auth.org_id, &call.id)?)
        })
        .await?;
    let items = rows.iter().map(|r| r.to_wire()).collect::<Result<_, _>>()?;
    Ok(web::Json(CallHistory { items }))
}

/// `GET /v1/call-settings`: everyone in the organisation.
pub async fn get_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<CallSettings>> {
    let allow_private = state
        .db
        .run(move |conn| call_settings::allow_private(conn, auth.org_id))
        .await?;
    Ok(web::Json(CallSettings { allow_private }))
}

/// `PUT /v1/call-settings`: admins.
pub async fn put_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CallSettings>,
) -> ApiResult<web::Json<CallSettings>> {
    auth.require_admin()?;
    settings::set_allow_private(
        &state.services(),
        auth.org_id,
        body.allow_private,
        now_micros(),
    )
    .await?;
    Ok(web::Json(body))
}
