//! `/admin/users/{id}`: one user's page, to change their name, role, time
//! zone and teams, disable or enable them and set a new password. The
//! checks and the use case are `PATCH /v1/users/{id}`'s
//! (`routes::users::update_user`); team changes are the membership use
//! cases of `/v1/teams/{id}/members/{user_id}`.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::UserId;
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::usecases::teams as team_changes;
use deskbind_core::wire::UpdateUser;
use serde::Deserialize;

use super::form::{
    Choice, Fields, NoticeQuery, Refusal, local_time, notice, page_with, parse_role, refusal,
    role_choices,
};
use super::names::teams_of;
use super::users::{parse_team_ids, team_choices};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::path_id;
use crate::routes::users::update_user;
use crate::state::AppState;

/// What the profile form shows (again, after a refusal).
#[derive(Debug)]
pub struct ProfileDraft {
    pub name: String,
    pub role: String,
    pub time_zone: String,
}

#[derive(Template)]
#[template(path = "admin_user.html")]
struct UserPage {
    chrome: Chrome,
    id: String,
    email: String,
    name: String,
    enabled: bool,
    is_self: bool,
    created_at: String,
    draft: ProfileDraft,
    roles: Vec<Choice>,
    teams: Vec<Choice>,
    message: Option<String>,
    notice: Option<&'static str>,
}

async fn render_user(
    state: &AppState,
    user: &ConsoleUser,
    id: UserId,
    draft: Option<ProfileDraft>,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let org = user.auth.org_id;
    let (row, mine, teams) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let row = users::get(conn, org, id, Visibility::Org)?;
            let mine = users::team_ids_of(conn, std::slice::from_ref(&row.id))?
                .remove(&row.id)
                .unwrap_or_default();
            Ok((row, mine, teams_of(conn, org)?))
        })
        .await?;
    let mine: Vec<String> = mine.iter().map(ToString::to_string).collect();
    let chosen: HashSet<&str> = mine.iter().map(String::as_str).collect();
    let draft = draft.unwrap_or_else(|| ProfileDraft {
        name: row.display_name.clone(),
        role: row.role.clone(),
        time_zone: row.time_zone.clone(),
    });
    let (status, message) = match refused {
        Some(r) => (r.status, Some(r.message)),
        None => (StatusCode::OK, None),
    };
    let page = UserPage {
        chrome: Chrome::admin(user, AdminSection::Users),
        is_self: row.id == user.auth.user_id.to_string(),
        id: row.id,
        email: row.email,
        name: row.display_name,
        enabled: row.disabled_at.is_none(),
        created_at: local_time(row.created_at, &user.time_zone),
        roles: role_choices(&draft.role),
        draft,
        teams: team_choices(&teams, &chosen),
        message,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/users/{id}`; another organisation's user is not found.
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id: UserId = path_id(&id)?;
    render_user(&state, &user, id, None, None, q.notice.as_deref()).await
}

/// Applies `body` as `PATCH /v1/users/{id}` would; a refusal re-shows the
/// page with its message (and `draft` in the profile form).
async fn apply(
    state: &AppState,
    user: &ConsoleUser,
    id: UserId,
    body: Result<UpdateUser, Refusal>,
    draft: Option<ProfileDraft>,
    done: &str,
) -> ConsoleResult<HttpResponse> {
    let outcome = match body {
        Ok(body) => update_user(state, &user.auth, id, body)
            .await
            .map_err(refusal),
        Err(r) => Err(Ok(r)),
    };
    match outcome {
        Ok(()) => Ok(see_other(format!("/admin/users/{id}?notice={done}"))),
        Err(refused) => render_user(state, user, id, draft, Some(refused?), None).await,
    }
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    time_zone: String,
}

/// `POST /admin/users/{id}`: name, role and time zone.
pub async fn update_profile(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<ProfileForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: UserId = path_id(&id)?;
    let body = parse_role(&form.role).map(|role| UpdateUser {
        display_name: Some(form.display_name.clone()),
        role: Some(role),
        time_zone: Some(form.time_zone.clone()),
        ..UpdateUser::default()
    });
    let draft = ProfileDraft {
        name: form.display_name,
        role: form.role,
        time_zone: form.time_zone,
    };
    apply(&state, &user, id, body, Some(draft), "saved").await
}

#[derive(Debug, Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    disabled: String,
}

/// `POST /admin/users/{id}/status`: disable (`disabled=true`) or enable.
/// The use case refuses the last admin and the admin themselves.
pub async fn set_status(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<StatusForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: UserId = path_id(&id)?;
    let disabled = match form.disabled.as_str() {
        "true" => true,
        "false" => false,
        _ => return Err(ConsoleError::invalid("disabled", "must be true or false")),
    };
    let body = UpdateUser {
        disabled: Some(disabled),
        ..UpdateUser::default()
    };
    let done = if disabled { "disabled" } else { "enabled" };
    apply(&state, &user, id, Ok(body), None, done).await
}

#[derive(Debug, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    password: String,
}

/// `POST /admin/users/{id}/password`: a new password (the user's sessions
/// end, as with the API).
pub async fn set_password(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<PasswordForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: UserId = path_id(&id)?;
    let body = UpdateUser {
        password: Some(form.password),
        ..UpdateUser::default()
    };
    apply(&state, &user, id, Ok(body), None, "password").await
}

/// `POST /admin/users/{id}/teams`: the teams the user is in, as checked.
/// Every team must be of the organisation before anything changes; then
/// each membership added or removed is the membership use case.
pub async fn set_teams(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<Fields>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: UserId = path_id(&id)?;
    let wanted = match parse_team_ids(&form) {
        Ok(ids) => ids,
        Err(r) => return render_user(&state, &user, id, None, Some(r), None).await,
    };
    let org = user.auth.org_id;
    let check = wanted.clone();
    let (current, known) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let row = users::get(conn, org, id, Visibility::Org)?;
            let current = users::team_ids_of(conn, std::slice::from_ref(&row.id))?
                .remove(&row.id)
                .unwrap_or_default();
            let known = deskbind_core::repo::teams::existing_ids(conn, org, &check)?;
            Ok((current, known))
        })
        .await?;
    if wanted.iter().any(|t| !known.contains(t)) {
        let refused = Refusal::invalid("Teams: a chosen team no longer exists; reload the page");
        return render_user(&state, &user, id, None, Some(refused), None).await;
    }
    let services = state.services();
    for team in wanted.iter().filter(|t| !current.contains(t)) {
        team_changes::add_member(&services, org, *team, id)
            .await
            .map_err(ApiError::from)?;
    }
    for team in current.iter().filter(|t| !wanted.contains(t)) {
        team_changes::remove_member(&services, org, *team, id)
            .await
            .map_err(ApiError::from)?;
    }
    Ok(see_other(format!("/admin/users/{id}?notice=saved")))
}
