//! Users: admins manage them; managers see their teams' members; salespeople
//! see themselves. Everything is scoped to the caller's organisation.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::{Email, NonBlank, Password, TimeZoneName};
use deskbind_core::ids::UserId;
use deskbind_core::repo::RepoError;
use deskbind_core::repo::users::{self, UserChanges, UserRow, Visibility};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::users::{self as user_changes, CreateError, UpdateError};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{CreateUser, Page, UpdateUser, User};

use super::auth::with_teams;
use crate::error::{ApiError, ApiResult, conflict_as};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

pub fn visibility(auth: &AuthUser) -> Visibility {
    Visibility::of(auth.role, auth.user_id)
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<User>>> {
    let page = state
        .db
        .run(move |conn| {
            let rows = users::list(conn, auth.org_id, visibility(&auth), &page)?;
            to_wire_page(conn, rows)
        })
        .await?;
    Ok(web::Json(page))
}

/// Rows with their team ids, in one query for the whole page.
pub fn to_wire_page(
    conn: &mut deskbind_core::db::DbConn,
    rows: Page<UserRow>,
) -> ApiResult<Page<User>> {
    let ids: Vec<String> = rows.items.iter().map(|r| r.id.clone()).collect();
    let mut teams = users::team_ids_of(conn, &ids)?;
    Ok(rows.try_map(|r| r.to_wire(teams.remove(&r.id).unwrap_or_default()))?)
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateUser>,
) -> ApiResult<HttpResponse> {
    let row = create_user(&state, &auth, body).await?;
    let user = state.db.run(move |conn| with_teams(conn, row)).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/v1/users/{}", user.id)))
        .json(user))
}

/// `POST /v1/users` without the response: checks every field, hashes the
/// password and creates the user with their teams. The console's form
/// calls it too, so both refuse the same input with the same words.
pub(crate) async fn create_user(
    state: &AppState,
    auth: &AuthUser,
    body: CreateUser,
) -> ApiResult<UserRow> {
    auth.require_admin()?;
    let email = Email::parse("email", &body.email)?;
    let display_name = NonBlank::parse("display_name", &body.display_name, 200)?;
    let password = Password::parse("password", &body.password)?;
    let time_zone = match &body.time_zone {
        Some(tz) => TimeZoneName::parse("time_zone", tz)?,
        None => TimeZoneName::utc(),
    };
    let password_hash = state
        .passwords
        .run(move |hasher| hasher.hash(password.expose()))
        .await?
        .map_err(ApiError::internal)?;
    let now = now_micros();
    let row = UserRow {
        id: UserId::new().to_string(),
        org_id: auth.org_id.to_string(),
        email: email.into_inner(),
        display_name: display_name.into_inner(),
        role: body.role.as_str().to_owned(),
        password_hash,
        time_zone: time_zone.into_inner(),
        disabled_at: None,
        created_at: now,
        updated_at: now,
    };
    user_changes::create(&state.services(), auth.user_id, row, body.team_ids)
        .await
        .map_err(|e| match e {
            CreateError::Refused(e) => refused(e),
            CreateError::UnknownTeam(missing) => ApiError::Validation {
                code: ErrorCode::UnknownTeam,
                field: "team_ids".into(),
                detail: format!("no team {missing} in this organisation"),
            },
            CreateError::EmailTaken => conflict_as(
                ErrorCode::EmailTaken,
                "a user with this email exists",
            )(RepoError::Conflict),
        })
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<User>> {
    let id: UserId = path_id(&id)?;
    let user = state
        .db
        .run(move |conn| {
            let row = users::get(conn, auth.org_id, id, visibility(&auth))?;
            with_teams(conn, row)
        })
        .await?;
    Ok(web::Json(user))
}

pub async fn update(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    Json(body): Json<UpdateUser>,
) -> ApiResult<web::Json<User>> {
    auth.require_admin()?;
    let id: UserId = path_id(&id)?;
    update_user(&state, &auth, id, body).await?;
    let org = auth.org_id;
    let user = state
        .db
        .run(move |conn| {
            let row = users::get(conn, org, id, Visibility::Org)?;
            with_teams(conn, row)
        })
        .await?;
    Ok(web::Json(user))
}

/// `PATCH /v1/users/{id}` without the response (the console's user page
/// calls it too): checks the fields given and applies them; disabling also
/// ends the user's bindings and sessions, and their phones hear it.
pub(crate) async fn update_user(
    state: &AppState,
    auth: &AuthUser,
    id: UserId,
    body: UpdateUser,
) -> ApiResult<()> {
    auth.require_admin()?;
    let mut changes = UserChanges {
        display_name: body
            .display_name
            .as_deref()
            .map(|n| NonBlank::parse("display_name", n, 200))
            .transpose()?
            .map(NonBlank::into_inner),
        role: body.role.map(|r| r.as_str().to_owned()),
        time_zone: body
            .time_zone
            .as_deref()
            .map(|tz| TimeZoneName::parse("time_zone", tz))
            .transpose()?
            .map(TimeZoneName::into_inner),
        disabled_at: body.disabled.map(|d| d.then(now_micros)),
        ..UserChanges::default()
    };
    if let Some(raw) = body.password {
        let password = Password::parse("password", &raw)?;
        changes.password_hash = Some(
            state
                .passwords
                .run(move |hasher| hasher.hash(password.expose()))
                .await?
                .map_err(ApiError::internal)?,
        );
    }
    user_changes::update(&state.services(), auth.org_id, id, changes, auth.user_id)
        .await
        .map_err(refused)
}

/// The answer to a user change the rules refuse.
fn refused(e: UpdateError) -> ApiError {
    match e {
        UpdateError::ActorNotAdmin => ApiError::forbidden(),
        UpdateError::LastAdmin => ApiError::Conflict {
            code: ErrorCode::LastAdmin,
            detail: "this is the organisation's last active admin; make another user admin first"
                .into(),
        },
        UpdateError::SelfLockout { field } => ApiError::Validation {
            code: ErrorCode::SelfLockout,
            field: field.into(),
            detail: format!(
                "you cannot {} yourself; another admin must do it",
                if field == "disabled" {
                    "disable"
                } else {
                    "demote"
                }
            ),
        },
        UpdateError::Repo(e) => e.into(),
    }
}
