//! The disposition catalogue (docs/call-outcomes.md): everyone in the
//! organisation reads it; admins add entries and change or archive them.
//! There is no delete: an entry calls may carry is archived instead.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::DispositionId;
use deskbind_core::repo::dispositions;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::dispositions::{self as catalogue, CatalogueError};
use deskbind_core::wire::{
    CreateDisposition, Disposition, DispositionList, ErrorCode, MAX_DISPOSITIONS, UpdateDisposition,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

impl From<CatalogueError> for ApiError {
    fn from(e: CatalogueError) -> Self {
        match e {
            CatalogueError::Invalid(field) => field.into(),
            CatalogueError::CodeTaken => ApiError::Conflict {
                code: ErrorCode::DispositionCodeTaken,
                detail: "the organisation has a disposition with this code".into(),
            },
            CatalogueError::Full => ApiError::Conflict {
                code: ErrorCode::DispositionLimit,
                detail: format!("an organisation has at most {MAX_DISPOSITIONS} dispositions"),
            },
            CatalogueError::Repo(e) => e.into(),
        }
    }
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<DispositionList>> {
    let rows = state
        .db
        .run(move |conn| dispositions::list(conn, auth.org_id).map_err(ApiError::from))
        .await?;
    let items = rows.iter().map(|r| r.to_wire()).collect::<Result<_, _>>()?;
    Ok(web::Json(DispositionList { items }))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateDisposition>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let row = catalogue::create(&state.services(), auth.org_id, body, now_micros()).await?;
    let wire: Disposition = row.to_wire()?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/dispositions/{}", wire.id)))
        .json(wire))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateDisposition>,
) -> ApiResult<web::Json<Disposition>> {
    auth.require_admin()?;
    let id: DispositionId = path_id(&id)?;
    let row = catalogue::update(&state.services(), auth.org_id, id, body, now_micros()).await?;
    Ok(web::Json(row.to_wire()?))
}
