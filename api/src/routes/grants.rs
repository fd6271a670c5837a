//! `/v1/phones/{id}/grants`: who besides admins may bind a phone. Admins only.

use actix_web::web;
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::grants;
use deskbind_core::repo::phones;
use deskbind_core::usecases::grants as grant_changes;
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::PhoneGrants;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

/// Bounds one request's work; a phone open to more people uses teams or `everyone`.
const MAX_GRANTEES: usize = 1000;

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<PhoneGrants>> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    let grants = state
        .db
        .run(move |conn| {
            phones::get(conn, auth.org_id, id)?;
            grants::get(conn, id)
        })
        .await?;
    Ok(web::Json(grants))
}

/// At most [`MAX_GRANTEES`] people and as many teams; shared with the
/// console's grant form.
pub(crate) fn check_counts(grants: &PhoneGrants) -> ApiResult<()> {
    for (field, len) in [
        ("user_ids", grants.user_ids.len()),
        ("team_ids", grants.team_ids.len()),
    ] {
        if len > MAX_GRANTEES {
            return Err(ApiError::Validation {
                code: ErrorCode::TooManyGrantees,
                field: field.into(),
                detail: format!("at most {MAX_GRANTEES} entries"),
            });
        }
    }
    Ok(())
}

/// Replaces the phone's grants. Existing bindings are not ended by a grant
/// being withdrawn; unbind them if that is wanted.
pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<PhoneGrants>,
) -> ApiResult<web::Json<PhoneGrants>> {
    auth.require_admin()?;
    let id: PhoneId = path_id(&id)?;
    check_counts(&body)?;
    let grants =
        grant_changes::replace(&state.services(), auth.org_id, id, body, auth.user_id).await?;
    tracing::info!(phone = %id, by = %auth.user_id, ?grants, "phone grants replaced");
    Ok(web::Json(grants))
}
