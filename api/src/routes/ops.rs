//! Liveness, readiness and metrics for orchestrators and Prometheus.

use actix_web::{HttpResponse, web};
use diesel::connection::SimpleConnection as _;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The process is up.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({ "status": "ok" }))
}

/// How long readiness may wait for a database connection: load balancers
/// expect an answer within a second.
const READY_BUDGET: std::time::Duration = std::time::Duration::from_millis(800);

/// The database answers; 503 `unavailable` with `Retry-After` otherwise,
/// within a second (at once while the database breaker is open). A node
/// that is draining (SIGTERM) answers 503 `node_draining`, so a load
/// balancer stops sending it new connections.
pub async fn readyz(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if state.drain.is_draining() {
        return Err(ApiError::NodeDraining);
    }
    let backend = state.db.backend().name();
    state
        .db
        .run_within(READY_BUDGET, |conn| {
            conn.batch_execute("SELECT 1").map_err(ApiError::from)
        })
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "readiness check failed");
            match e {
                ApiError::DatabaseUnavailable { .. } => e,
                _ => ApiError::DatabaseUnavailable {
                    retry_after_secs: 1,
                },
            }
        })?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "database": backend })))
}

/// Prometheus text exposition on the main listener, unless `metrics_listen`
/// moved it to its own.
pub async fn metrics(state: web::Data<AppState>) -> ApiResult<HttpResponse> {
    if state.settings.metrics_listen.is_some() {
        return Err(ApiError::NotFound);
    }
    Ok(exposition())
}

/// Prometheus text exposition.
pub fn exposition() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::metrics::handle().render())
}
