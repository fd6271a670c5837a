//! `/v1/dial-policy`: numbers the organisation never dials (blocked E.164
//! prefixes and a do-not-call list), a view over the organisation-scope
//! block entries of the blocklist (decision 0019). Everyone may read it;
//! only admins replace it.

use actix_web::web;
use deskbind_core::domain::dial_policy::DialRules;
use deskbind_core::time::{Micros, now_micros, to_datetime};
use deskbind_core::usecases;
use deskbind_core::wire::{DialPolicy, PutDialPolicy};

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

pub(crate) fn to_wire(rules: DialRules, updated_at: Option<Micros>) -> DialPolicy {
    DialPolicy {
        blocked_prefixes: rules.blocked_prefixes.into_iter().collect(),
        do_not_call: rules.do_not_call.into_iter().collect(),
        updated_at: updated_at.map(to_datetime),
    }
}

pub async fn get(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<web::Json<DialPolicy>> {
    let (rules, updated_at) = state
        .db
        .run(move |conn| usecases::dial_policy::read(conn, auth.org_id, now_micros()))
        .await?;
    Ok(web::Json(to_wire(rules, updated_at)))
}

/// Replaces both lists; commands already queued are not re-checked.
pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutDialPolicy>,
) -> ApiResult<web::Json<DialPolicy>> {
    let (rules, now) = replace(&state, &auth, &body).await?;
    Ok(web::Json(to_wire(rules, Some(now))))
}

/// `PUT /v1/dial-policy` without the response (the console's form too):
/// checks both lists and stores them; when they were stored.
pub(crate) async fn replace(
    state: &AppState,
    auth: &AuthUser,
    body: &PutDialPolicy,
) -> ApiResult<(DialRules, Micros)> {
    auth.require_admin()?;
    let rules = DialRules::parse(body)?;
    let now = now_micros();
    let stored = rules.clone();
    usecases::dial_policy::replace(&state.db, auth.org_id, stored, auth.user_id, now).await?;
    tracing::info!(
        by = %auth.user_id,
        blocked_prefixes = rules.blocked_prefixes.len(),
        do_not_call = rules.do_not_call.len(),
        "dial policy changed"
    );
    Ok((rules, now))
}
