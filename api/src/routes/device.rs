//! Routes a desk phone calls with its own credential (`/v1/phone/...`).

use actix_web::{HttpRequest, web};
use deskbind_core::auth::secrets;
use deskbind_core::repo::provisioning;
use deskbind_core::wire::{Phone, ProvisionRequest, Provisioned};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, Json, peer_ip};
use crate::state::AppState;

const CODE_CHARS: usize = 12;

fn invalid_code() -> ApiError {
    ApiError::BadRequest {
        code: "invalid_provisioning_code",
        detail: "the code is unknown, used or expired; ask an admin for a new one".into(),
    }
}

/// Exchanges a one-time code for the phone's credential (exactly once).
pub async fn provision(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<ProvisionRequest>,
) -> ApiResult<actix_web::HttpResponse> {
    state.limits.provision(&peer_ip(&req))?;
    let code = secrets::normalise_code(&body.code);
    if code.len() != CODE_CHARS {
        return Err(invalid_code());
    }
    let code_hash = secrets::hash_secret(&code);
    let credential =
        secrets::new_secret(secrets::PHONE_CREDENTIAL_PREFIX).map_err(ApiError::internal)?;
    let credential_hash = secrets::hash_secret(&credential);
    let phone = state
        .db
        .run(move |conn| {
            provisioning::redeem(conn, &code_hash, &credential_hash).map_err(ApiError::from)
        })
        .await?
        .ok_or_else(invalid_code)?;
    let phone_id = phone.phone_id()?;
    tracing::info!(phone = %phone_id, "phone provisioned");
    Ok(super::secret_json(
        actix_web::HttpResponse::Ok(),
        &Provisioned {
            phone_id,
            credential,
        },
    ))
}

/// The calling phone's own record.
pub async fn me(phone: AuthPhone) -> ApiResult<web::Json<Phone>> {
    Ok(web::Json(phone.row.to_wire(true)?))
}
