//! `/admin/users`: the organisation's users (name, email, role, teams,
//! enabled), a form to create one, and a page per user to change their
//! name, role, time zone and teams, disable or enable them and set a new
//! password. The checks and the use cases are `POST/PATCH /v1/users`'s
//! (`routes::users::{create_user, update_user}`); team changes are the
//! membership use cases of `/v1/teams/{id}/members/{user_id}`.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::{TeamId, UserId};
use deskbind_core::repo::teams::TeamVisibility;
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::usecases::teams as team_changes;
use deskbind_core::wire::{CreateUser, UpdateUser};
use serde::Deserialize;

use super::form::{
    Choice, Fields, NoticeQuery, Refusal, local_time, notice, page_with, parse_role, refusal,
    role_choices, role_label,
};
use super::names::{Named, teams_of};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::{PageParams, path_id};
use crate::routes::users::{create_user, update_user};
use crate::state::AppState;

/// One row of the users table.
#[derive(Debug)]
pub struct UserLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub teams: String,
    pub enabled: bool,
}

/// What the create form shows (again, after a refusal); never the password.
#[derive(Debug, Default)]
pub struct NewUserDraft {
    pub email: String,
    pub name: String,
    pub role: String,
    pub time_zone: String,
    pub team_ids: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_users.html")]
struct UsersPage {
    chrome: Chrome,
    rows: Vec<UserLine>,
    next_cursor: Option<String>,
    roles: Vec<Choice>,
    teams: Vec<Choice>,
    draft: NewUserDraft,
    message: Option<String>,
    notice: Option<&'static str>,
}

async fn render_list(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    draft: NewUserDraft,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let PageParams(page) = PageParams::extract(req).await?;
    let org = user.auth.org_id;
    let (rows, memberships, teams) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let rows = users::list(conn, org, Visibility::Org, &page)?;
            let ids: Vec<String> = rows.items.iter().map(|r| r.id.clone()).collect();
            let memberships = users::team_ids_of(conn, &ids)?;
            let mut teams = teams_of(conn, org)?;
            // A team beyond the listed ones still shows by name.
            let listed: HashSet<String> = teams.iter().map(|t| t.id.clone()).collect();
            let missing: HashSet<TeamId> = memberships
                .values()
                .flatten()
                .filter(|t| !listed.contains(&t.to_string()))
                .copied()
                .collect();
            for team in missing {
                let row = deskbind_core::repo::teams::get(conn, org, team, TeamVisibility::Org)?;
                teams.push(Named {
                    id: row.id,
                    label: row.name,
                });
            }
            Ok((rows, memberships, teams))
        })
        .await?;
    let team_names: std::collections::HashMap<&str, &str> = teams
        .iter()
        .map(|t| (t.id.as_str(), t.label.as_str()))
        .collect();
    let team_name = |id: &str| {
        team_names
            .get(id)
            .map_or_else(|| id.to_owned(), |n| (*n).to_owned())
    };
    let lines = rows
        .items
        .iter()
        .map(|r| -> ConsoleResult<UserLine> {
            let mut names: Vec<String> = memberships
                .get(&r.id)
                .map(|ts| ts.iter().map(|t| team_name(&t.to_string())).collect())
                .unwrap_or_default();
            names.sort();
            Ok(UserLine {
                id: r.id.clone(),
                name: r.display_name.clone(),
                email: r.email.clone(),
                role: role_label(r.role()?),
                teams: names.join(", "),
                enabled: r.disabled_at.is_none(),
            })
        })
        .collect::<ConsoleResult<Vec<_>>>()?;
    let (status, message) = match refused {
        Some(r) => (r.status, Some(r.message)),
        None => (StatusCode::OK, None),
    };
    let chosen: HashSet<&str> = draft.team_ids.iter().map(String::as_str).collect();
    let page = UsersPage {
        chrome: Chrome::admin(user, AdminSection::Users),
        rows: lines,
        next_cursor: rows.next_cursor.clone(),
        roles: role_choices(if draft.role.is_empty() {
            "salesperson"
        } else {
            &draft.role
        }),
        teams: team_choices(&teams, &chosen),
        draft,
        message,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

fn team_choices(teams: &[Named], chosen: &HashSet<&str>) -> Vec<Choice> {
    teams
        .iter()
        .map(|t| Choice {
            value: t.id.clone(),
            label: t.label.clone(),
            selected: chosen.contains(t.id.as_str()),
        })
        .collect()
}

/// `GET /admin/users`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let draft = NewUserDraft {
        time_zone: "UTC".into(),
        ..NewUserDraft::default()
    };
    render_list(&state, &user, &req, draft, None, q.notice.as_deref()).await
}

/// Team ids from a form; a refusal when one is not an id.
fn parse_team_ids(fields: &Fields) -> Result<Vec<TeamId>, Refusal> {
    fields
        .all("team_ids")
        .map(|raw| {
            raw.parse::<TeamId>()
                .map_err(|_| Refusal::invalid("Teams: choose teams from the list"))
        })
        .collect()
}

/// `POST /admin/users`
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: ConsoleForm<Fields>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let draft = NewUserDraft {
        email: form.one("email").trim().to_owned(),
        name: form.one("display_name").trim().to_owned(),
        role: form.one("role").to_owned(),
        time_zone: form.one("time_zone").trim().to_owned(),
        team_ids: form.all("team_ids").map(str::to_owned).collect(),
    };
    let body = parse_role(form.one("role")).and_then(|role| {
        Ok(CreateUser {
            email: draft.email.clone(),
            display_name: draft.name.clone(),
            role,
            password: form.one("password").to_owned(),
            time_zone: Some(draft.time_zone.clone()).filter(|tz| !tz.is_empty()),
            team_ids: parse_team_ids(&form)?,
        })
    });
    let outcome = match body {
        Ok(body) => create_user(&state, &user.auth, body).await.map_err(refusal),
        Err(r) => Err(Ok(r)),
    };
    match outcome {
        Ok(row) => Ok(see_other(format!("/admin/users/{}?notice=created", row.id))),
        Err(refused) => render_list(&state, &user, &req, draft, Some(refused?), None).await,
    }
}

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
