//! Signed webhooks (docs/integrations.md, "Webhooks"): admins register
//! endpoints, change, disable and delete them, rotate their secrets, send
//! a test event, and read and replay their deliveries. Admins only, with
//! their own access token (an API key manages nothing).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::webhook_targets::TargetPolicy;
use deskbind_core::ids::{WebhookDeliveryId, WebhookEndpointId};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::webhook_endpoints::{self as endpoints, EndpointError};
use deskbind_core::wire::{
    CreateWebhookEndpoint, ErrorCode, MAX_WEBHOOK_ENDPOINTS, Page, RotateWebhookSecret,
    UpdateWebhookEndpoint, WebhookDelivery, WebhookEndpoint, WebhookEndpointWithSecret,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

impl From<EndpointError> for ApiError {
    fn from(e: EndpointError) -> Self {
        match e {
            EndpointError::Invalid(field) => field.into(),
            EndpointError::Full => ApiError::Conflict {
                code: ErrorCode::WebhookEndpointLimit,
                detail: format!("an organisation has at most {MAX_WEBHOOK_ENDPOINTS} endpoints"),
            },
            EndpointError::NotAdmin => ApiError::forbidden(),
            EndpointError::Random(e) => ApiError::internal(e),
            EndpointError::Repo(e) => e.into(),
        }
    }
}

/// The operator's target policy (checked at start, so it parses).
pub(crate) fn policy(state: &AppState) -> ApiResult<TargetPolicy> {
    TargetPolicy::parse(&state.settings.webhook_allowed_networks)
        .map_err(|e| ApiError::internal(anyhow::anyhow!(e)))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateWebhookEndpoint>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let created = endpoints::create(
        &state.db,
        &policy(&state)?,
        auth.org_id,
        auth.user_id,
        body,
        now_micros(),
    )
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/v1/webhook-endpoints/{}", created.endpoint.id),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(created))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<WebhookEndpoint>>> {
    auth.require_admin()?;
    Ok(web::Json(
        endpoints::list(&state.db, auth.org_id, page).await?,
    ))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<WebhookEndpoint>> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    Ok(web::Json(endpoints::get(&state.db, auth.org_id, id).await?))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateWebhookEndpoint>,
) -> ApiResult<web::Json<WebhookEndpoint>> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    let endpoint = endpoints::update(
        &state.db,
        &policy(&state)?,
        auth.org_id,
        auth.user_id,
        id,
        body,
        now_micros(),
    )
    .await?;
    Ok(web::Json(endpoint))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    endpoints::delete(&state.db, auth.org_id, auth.user_id, id, now_micros()).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<RotateWebhookSecret>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    let rotated: WebhookEndpointWithSecret =
        endpoints::rotate_secret(&state.db, auth.org_id, auth.user_id, id, body, now_micros())
            .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(rotated))
}

pub async fn send_test(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    let delivery: WebhookDelivery =
        endpoints::send_test(&state.db, auth.org_id, auth.user_id, id, now_micros()).await?;
    Ok(HttpResponse::Accepted().json(delivery))
}

pub async fn deliveries(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<WebhookDelivery>>> {
    auth.require_admin()?;
    let id: WebhookEndpointId = path_id(&id)?;
    Ok(web::Json(
        endpoints::deliveries(&state.db, auth.org_id, id, page).await?,
    ))
}

pub async fn replay(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let (endpoint, delivery) = path.into_inner();
    let endpoint: WebhookEndpointId = path_id(&endpoint)?;
    let delivery: WebhookDeliveryId = path_id(&delivery)?;
    let replayed = endpoints::replay(
        &state.db,
        auth.org_id,
        auth.user_id,
        endpoint,
        delivery,
        now_micros(),
    )
    .await?;
    Ok(HttpResponse::Accepted().json(replayed))
}
