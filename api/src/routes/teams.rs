//! Teams: admins manage them and their members; managers and salespeople
//! see the teams they belong to; managers list their teams' members.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::NonBlank;
use deskbind_core::ids::{TeamId, UserId};
use deskbind_core::repo::teams::{self, TeamRow, TeamVisibility};
use deskbind_core::repo::users;
use deskbind_core::usecases::teams as team_changes;
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{CreateTeam, Page, Role, Team, UpdateTeam, User};

use super::users::to_wire_page;
use crate::error::{ApiError, ApiResult, conflict_as};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

pub fn visibility(auth: &AuthUser) -> TeamVisibility {
    match auth.role {
        Role::Admin => TeamVisibility::Org,
        Role::Manager | Role::Salesperson => TeamVisibility::MemberOf(auth.user_id),
    }
}

const NAME_TAKEN: (ErrorCode, &str) = (ErrorCode::TeamNameTaken, "a team with this name exists");

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<Team>>> {
    let rows = state
        .db
        .run(move |conn| {
            teams::list(conn, auth.org_id, visibility(&auth), &page).map_err(ApiError::from)
        })
        .await?;
    Ok(web::Json(rows.try_map(|r| r.to_wire())?))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateTeam>,
) -> ApiResult<HttpResponse> {
    let row = create_team(&state, &auth, &body.name).await?;
    let team = row.to_wire()?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/teams/{}", team.id)))
        .json(team))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Team>> {
    let id: TeamId = path_id(&id)?;
    let row = state
        .db
        .run(move |conn| {
            teams::get(conn, auth.org_id, id, visibility(&auth)).map_err(ApiError::from)
        })
        .await?;
    Ok(web::Json(row.to_wire()?))
}

pub async fn rename(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateTeam>,
) -> ApiResult<web::Json<Team>> {
    auth.require_admin()?;
    let id: TeamId = path_id(&id)?;
    let row = rename_team(&state, &auth, id, &body.name).await?;
    Ok(web::Json(row.to_wire()?))
}

/// `POST /v1/teams` without the response (the console's form too).
pub(crate) async fn create_team(
    state: &AppState,
    auth: &AuthUser,
    name: &str,
) -> ApiResult<TeamRow> {
    auth.require_admin()?;
    let name = NonBlank::parse("name", name, 100)?.into_inner();
    team_changes::create(&state.services(), auth.org_id, name)
        .await
        .map_err(conflict_as(NAME_TAKEN.0, NAME_TAKEN.1))
}

/// `PATCH /v1/teams/{id}` without the response (the console's form too).
pub(crate) async fn rename_team(
    state: &AppState,
    auth: &AuthUser,
    id: TeamId,
    name: &str,
) -> ApiResult<TeamRow> {
    auth.require_admin()?;
    let name = NonBlank::parse("name", name, 100)?.into_inner();
    team_changes::rename(&state.services(), auth.org_id, id, name)
        .await
        .map_err(conflict_as(NAME_TAKEN.0, NAME_TAKEN.1))
}

pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    let id: TeamId = path_id(&id)?;
    team_changes::delete(
        &state.services(),
        auth.org_id,
        id,
        auth.user_id,
        deskbind_core::time::now_micros(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Admins, and managers who belong to the team.
pub async fn members(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<User>>> {
    if auth.role == Role::Salesperson {
        return Err(ApiError::forbidden());
    }
    let id: TeamId = path_id(&id)?;
    let page = state
        .db
        .run(move |conn| {
            teams::get(conn, auth.org_id, id, visibility(&auth))?;
            let rows = users::in_team(conn, auth.org_id, id, &page)?;
            to_wire_page(conn, rows)
        })
        .await?;
    Ok(web::Json(page))
}

pub async fn add_member(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (team, user) = membership(&auth, &path)?;
    team_changes::add_member(&state.services(), auth.org_id, team, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn remove_member(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(String, String)>,
) -> ApiResult<HttpResponse> {
    let (team, user) = membership(&auth, &path)?;
    team_changes::remove_member(&state.services(), auth.org_id, team, user).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Admin-only `/v1/teams/{id}/members/{user_id}`: the (team, user) named.
fn membership(auth: &AuthUser, path: &(String, String)) -> ApiResult<(TeamId, UserId)> {
    auth.require_admin()?;
    Ok((path_id(&path.0)?, path_id(&path.1)?))
}
