//! Retention and legal holds (docs/retention.md): admins read and set the
//! organisation's days and place and release holds, with their own access
//! token; API keys never reach these routes.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::FieldError;
use deskbind_core::ids::LegalHoldId;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::legal_holds::{self, LegalHoldError};
use deskbind_core::usecases::retention::{self, RetentionError};
use deskbind_core::wire::{
    ErrorCode, LegalHold, MAX_ACTIVE_LEGAL_HOLDS, Page, PlaceLegalHold, Retention, SetRetention,
};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, Query, path_id};
use crate::state::AppState;

impl From<RetentionError> for ApiError {
    fn from(e: RetentionError) -> Self {
        match e {
            RetentionError::Invalid(field) => field.into(),
            RetentionError::NotAdmin => ApiError::forbidden(),
            RetentionError::Repo(e) => e.into(),
        }
    }
}

impl From<LegalHoldError> for ApiError {
    fn from(e: LegalHoldError) -> Self {
        match e {
            LegalHoldError::Invalid(field) => field.into(),
            LegalHoldError::UnknownSubject => FieldError::new(
                "subject_id",
                ErrorCode::UnknownHoldSubject,
                "no user, contact or call of this type with this id in the organisation",
            )
            .into(),
            LegalHoldError::Exists(id) => ApiError::Conflict {
                code: ErrorCode::LegalHoldExists,
                detail: format!("this subject is held already, by legal hold {id}"),
            },
            LegalHoldError::Full => ApiError::Conflict {
                code: ErrorCode::LegalHoldLimit,
                detail: format!(
                    "an organisation has at most {MAX_ACTIVE_LEGAL_HOLDS} legal holds that are not released"
                ),
            },
            LegalHoldError::NotAdmin => ApiError::forbidden(),
            LegalHoldError::Repo(e) => e.into(),
        }
    }
}

pub async fn get(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<web::Json<Retention>> {
    auth.require_admin()?;
    let defaults = state.settings.retention_defaults();
    Ok(web::Json(
        retention::get(&state.db, auth.org_id, defaults).await?,
    ))
}

pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<SetRetention>,
) -> ApiResult<web::Json<Retention>> {
    auth.require_admin()?;
    let defaults = state.settings.retention_defaults();
    let stored = retention::set(
        &state.db,
        auth.org_id,
        auth.user_id,
        body,
        defaults,
        now_micros(),
    )
    .await?;
    tracing::info!(?stored.effective, "retention set");
    Ok(web::Json(stored))
}

pub async fn place_hold(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PlaceLegalHold>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let hold = legal_holds::place(&state.db, auth.org_id, auth.user_id, body, now_micros()).await?;
    tracing::info!(legal_hold = %hold.id, subject = %hold.subject_type.as_str(), "legal hold placed");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/legal-holds/{}", hold.id)))
        .json(hold))
}

#[derive(Debug, Deserialize)]
pub struct HoldQuery {
    #[serde(default)]
    include_released: bool,
}

pub async fn list_holds(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<HoldQuery>,
) -> ApiResult<web::Json<Page<LegalHold>>> {
    auth.require_admin()?;
    Ok(web::Json(
        legal_holds::list(&state.db, auth.org_id, query.include_released, page).await?,
    ))
}

pub async fn release_hold(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<LegalHold>> {
    auth.require_admin()?;
    let id: LegalHoldId = path_id(&id)?;
    let hold = legal_holds::release(&state.db, auth.org_id, auth.user_id, id, now_micros()).await?;
    tracing::info!(legal_hold = %hold.id, "legal hold released");
    Ok(web::Json(hold))
}
