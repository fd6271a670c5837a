//! Presence (docs/presence.md): `GET`/`PUT /v1/me/presence`, `GET
//! /v1/presences` (admins: the organisation; managers and salespeople:
//! their teams' members), and the organisation's `/v1/presence-settings`
//! (admins).

use actix_web::web;
use deskbind_core::domain::FieldError;
use deskbind_core::domain::presence::Choice;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::presence::{self, Filter, Reader};
use deskbind_core::wire::{
    ErrorCode, Page, Presence, PresenceSettings, PresenceState, PutPresence,
};
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{AuthUser, Json, PageParams, Query, id_param};
use crate::state::AppState;

/// Longest auto-away time: a week.
const MAX_AUTO_AWAY_SECS: u32 = 7 * 24 * 3600;

fn reader(auth: &AuthUser) -> Reader {
    Reader {
        org: auth.org_id,
        user: auth.user_id,
        role: auth.role,
    }
}

pub async fn get_mine(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<Presence>> {
    let me = reader(&auth);
    let presence = presence::get(&state.services(), me, auth.user_id, now_micros()).await?;
    Ok(web::Json(presence))
}

pub async fn put_mine(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PutPresence>,
) -> ApiResult<web::Json<Presence>> {
    let now = now_micros();
    let choice = Choice::parse(body, now)?;
    let presence =
        presence::choose(&state.services(), auth.org_id, auth.user_id, choice, now).await?;
    Ok(web::Json(presence))
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    team_id: Option<String>,
    state: Option<String>,
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<Presence>>> {
    let filter = Filter {
        team: id_param("team_id", query.team_id.as_deref())?,
        state: match query.state.as_deref().filter(|s| !s.is_empty()) {
            None => None,
            Some(raw) => Some(PresenceState::parse(raw).ok_or_else(|| {
                crate::error::ApiError::InvalidQuery {
                    field: "state".into(),
                    detail: "must be available, away, busy, dnd or offline".into(),
                }
            })?),
        },
    };
    let presences = presence::list(
        &state.services(),
        reader(&auth),
        filter,
        page.after,
        page.limit,
        now_micros(),
    )
    .await?;
    Ok(web::Json(presences))
}

pub async fn get_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<PresenceSettings>> {
    auth.require_admin()?;
    Ok(web::Json(
        presence::settings(&state.services(), auth.org_id).await?,
    ))
}

pub async fn put_settings(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PresenceSettings>,
) -> ApiResult<web::Json<PresenceSettings>> {
    auth.require_admin()?;
    check_settings(&body)?;
    let saved = presence::put_settings(
        &state.services(),
        auth.org_id,
        body,
        auth.user_id,
        now_micros(),
    )
    .await?;
    tracing::info!(by = %auth.user_id, "presence settings changed");
    Ok(web::Json(saved))
}

/// The checks of `PUT /v1/presence-settings` (the console's form too).
pub(crate) fn check_settings(settings: &PresenceSettings) -> Result<(), FieldError> {
    if settings
        .auto_away_after_secs
        .is_some_and(|s| s == 0 || s > MAX_AUTO_AWAY_SECS)
    {
        return Err(FieldError::new(
            "auto_away_after_secs",
            ErrorCode::InvalidField,
            format!("between 1 and {MAX_AUTO_AWAY_SECS} seconds"),
        ));
    }
    Ok(())
}
