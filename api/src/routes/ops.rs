//! Liveness, readiness and metrics for orchestrators and Prometheus.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection as _;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// The database answers; 503 otherwise.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    let backend = state.db.backend().name();
    state
        .db
        .run(|conn| {
            conn.batch_execute("SELECT 1").map_err(|e| {
                tracing::warn!(error = %e, "readiness check failed");
                ApiError::Unavailable("database unreachable".into())
            })
        })
        .await
        .map_err(|e| match e {
            ApiError::Internal(cause) => {
                tracing::warn!(error = %cause, "readiness check failed");
                ApiError::Unavailable("database unreachable".into())
            }
            other => other,
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": backend })))
}

/// Prometheus text exposition.
pub async fn metrics() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::handle().render())
}
