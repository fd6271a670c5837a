//! API keys for integrations (docs/integrations.md): admins create, list
//! and revoke them with their own access token; a key never manages keys.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::ApiKeyId;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::api_keys::{self, ApiKeyError};
use deskbind_core::wire::{ApiKey, CreateApiKey, ErrorCode, MAX_ACTIVE_API_KEYS, Page};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

impl From<ApiKeyError> for ApiError {
    fn from(e: ApiKeyError) -> Self {
        match e {
            ApiKeyError::Invalid(field) => field.into(),
            ApiKeyError::Full => ApiError::Conflict {
                code: ErrorCode::ApiKeyLimit,
                detail: format!(
                    "an organisation has at most {MAX_ACTIVE_API_KEYS} keys that are not revoked"
                ),
            },
            ApiKeyError::NotAdmin => ApiError::forbidden(),
            ApiKeyError::Random(e) => ApiError::internal(e),
            ApiKeyError::Repo(e) => e.into(),
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateApiKey>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let created =
        api_keys::create(&state.db, auth.org_id, auth.user_id, body, now_micros()).await?;
    tracing::info!(api_key = %created.key.id, prefix = %created.key.prefix, "API key created");
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/api-keys/{}", created.key.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<ApiKey>>> {
    auth.require_admin()?;
    Ok(web::Json(
        api_keys::list(&state.db, auth.org_id, page).await?,
    ))
}

pub async fn revoke(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<ApiKey>> {
    auth.require_admin()?;
    let id: ApiKeyId = path_id(&id)?;
    let key = api_keys::revoke(&state.db, auth.org_id, auth.user_id, id, now_micros()).await?;
    tracing::info!(api_key = %key.id, "API key revoked");
    Ok(web::Json(key))
}
