//! `/v1/contact-settings`: whether salespeople see every contact of the
//! organisation (`organisation`, the default) or only their own (`own`).
//! Admins read and set it.

use actix_web::web;
use deskbind_core::repo::contact_settings;
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::contacts;
use deskbind_core::wire::{ContactSettings, PutContactSettings};

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json};
use crate::state::AppState;

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<ContactSettings>> {
    auth.require_admin()?;
    let (visibility, updated_at) = state
        .db
        .run(move |conn| contact_settings::get(conn, auth.org_id))
        .await?;
    Ok(web::Json(ContactSettings {
        visibility,
        updated_at: updated_at.map(to_datetime),
    }))
}

pub async fn put(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutContactSettings>,
) -> ApiResult<web::Json<ContactSettings>> {
    auth.require_admin()?;
    let now = now_micros();
    contacts::set_visibility(&state.db, auth.org_id, body.visibility, auth.user_id, now).await?;
    tracing::info!(by = %auth.user_id, visibility = %body.visibility, "contact visibility changed");
    Ok(web::Json(ContactSettings {
        visibility: body.visibility,
        updated_at: Some(to_datetime(now)),
    }))
}
