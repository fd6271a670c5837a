//! `/v1/binding-policy`: the organisation's binding rules. Everyone may read
//! them (the app explains a refusal with them); only admins change them.

use actix_web::web;
use deskbind_core::domain::binding_policy::Policy;
use deskbind_core::repo::binding_policy as policy_rows;
use deskbind_core::time::Micros;
use deskbind_core::usecases::binding_policy;
use deskbind_core::wire::{BindingPolicy, PutBindingPolicy};

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<BindingPolicy>> {
    let (policy, updated_at) = state
        .db
        .run(move |conn| policy_rows::get(conn, auth.org_id))
        .await?;
    Ok(web::Json(policy.to_wire(updated_at)))
}

/// Replaces the policy; bindings already made keep their expiry.
pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutBindingPolicy>,
) -> ApiResult<web::Json<BindingPolicy>> {
    let (policy, updated_at) = replace(&state, &auth, &body).await?;
    Ok(web::Json(policy.to_wire(Some(updated_at))))
}

/// `PUT /v1/binding-policy` without the response (the console's form
/// too): checks the policy and stores it; when it was stored.
pub(crate) async fn replace(
    state: &AppState,
    auth: &AuthUser,
    body: &PutBindingPolicy,
) -> ApiResult<(Policy, Micros)> {
    auth.require_admin()?;
    let policy = Policy::parse(body)?;
    let updated_at =
        binding_policy::replace(&state.services(), auth.org_id, policy, auth.user_id).await?;
    tracing::info!(by = %auth.user_id, ?policy, "binding policy changed");
    Ok((policy, updated_at))
}
