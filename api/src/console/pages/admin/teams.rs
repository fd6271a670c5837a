//! `/admin/teams`: teams with their member counts, create, rename, delete
//! (memberships go, users stay) and members added and removed. The checks
//! and use cases are `/v1/teams`'s (`routes::teams::{create_team,
//! rename_team}`, `usecases::teams`). Managers see the teams they belong
//! to, read-only (as `GET /v1/teams` and `/v1/teams/{id}/members` let
//! them); salespeople get the 403 page.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::{TeamId, UserId};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::users;
use deskbind_core::usecases::teams as team_changes;
use deskbind_core::wire::{MAX_PAGE_LIMIT, Role};
use serde::Deserialize;

use super::form::{NoticeQuery, Refusal, notice, page_with, refusal, role_label};
use super::names::{Named, users_of};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::{PageParams, path_id};
use crate::routes::teams::{create_team, rename_team};
use crate::state::AppState;

#[derive(Debug)]
pub struct TeamLine {
    pub id: String,
    pub name: String,
    pub members: i64,
}

#[derive(Template)]
#[template(path = "admin_teams.html")]
struct TeamsPage {
    chrome: Chrome,
    can_edit: bool,
    rows: Vec<TeamLine>,
    next_cursor: Option<String>,
    draft_name: String,
    message: Option<String>,
    notice: Option<&'static str>,
}

/// Which teams the viewer may see, and whether they may change them.
fn scope(user: &ConsoleUser) -> ConsoleResult<(TeamVisibility, bool)> {
    match user.auth.role {
        Role::Admin => Ok((TeamVisibility::Org, true)),
        Role::Manager => Ok((TeamVisibility::MemberOf(user.auth.user_id), false)),
        Role::Salesperson => Err(ConsoleError::forbidden()),
    }
}

fn status_and_message(refused: Option<Refusal>) -> (StatusCode, Option<String>) {
    match refused {
        Some(r) => (r.status, Some(r.message)),
        None => (StatusCode::OK, None),
    }
}

async fn render_list(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    draft_name: String,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let (visibility, can_edit) = scope(user)?;
    let PageParams(page) = PageParams::extract(req).await?;
    let org = user.auth.org_id;
    let (rows, counts) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let rows = teams::list(conn, org, visibility, &page)?;
            let ids: Vec<String> = rows.items.iter().map(|t| t.id.clone()).collect();
            let counts = teams::member_counts(conn, org, &ids)?;
            Ok((rows, counts))
        })
        .await?;
    let (status, message) = status_and_message(refused);
    let page = TeamsPage {
        chrome: Chrome::admin(user, AdminSection::Teams),
        can_edit,
        rows: rows
            .items
            .iter()
            .map(|t| TeamLine {
                id: t.id.clone(),
                name: t.name.clone(),
                members: counts.get(&t.id).copied().unwrap_or(0),
            })
            .collect(),
        next_cursor: rows.next_cursor.clone(),
        draft_name,
        message,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/teams`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    render_list(
        &state,
        &user,
        &req,
        String::new(),
        None,
        q.notice.as_deref(),
    )
    .await
}

#[derive(Debug, Deserialize)]
pub struct NameForm {
    #[serde(default)]
    name: String,
}

/// `POST /admin/teams`
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: ConsoleForm<NameForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    match create_team(&state, &user.auth, &form.name).await {
        Ok(row) => Ok(see_other(format!("/admin/teams/{}?notice=created", row.id))),
        Err(e) => {
            let refused = refusal(e)?;
            render_list(&state, &user, &req, form.name, Some(refused), None).await
        }
    }
}

#[derive(Debug)]
pub struct MemberLine {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: &'static str,
    pub enabled: bool,
}

#[derive(Template)]
#[template(path = "admin_team.html")]
struct TeamPage {
    chrome: Chrome,
    can_edit: bool,
    id: String,
    name: String,
    draft_name: String,
    members: Vec<MemberLine>,
    more_members: bool,
    candidates: Vec<Named>,
    message: Option<String>,
    notice: Option<&'static str>,
}

async fn render_team(
    state: &AppState,
    user: &ConsoleUser,
    id: TeamId,
    draft_name: Option<String>,
    refused: Option<Refusal>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let (visibility, can_edit) = scope(user)?;
    let org = user.auth.org_id;
    let (team, members, everyone) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            // Another organisation's team, or (for a manager) one they are
            // not in, is not found.
            let team = teams::get(conn, org, id, visibility)?;
            let page = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
            let members = users::in_team(conn, org, id, &page)?;
            let everyone = if can_edit {
                users_of(conn, org)?
            } else {
                Vec::new()
            };
            Ok((team, members, everyone))
        })
        .await?;
    let in_team: HashSet<&str> = members.items.iter().map(|m| m.id.as_str()).collect();
    let candidates = everyone
        .into_iter()
        .filter(|u| !in_team.contains(u.id.as_str()))
        .collect();
    let mut lines = members
        .items
        .iter()
        .map(|m| -> ConsoleResult<MemberLine> {
            Ok(MemberLine {
                id: m.id.clone(),
                name: m.display_name.clone(),
                email: m.email.clone(),
                role: role_label(m.role()?),
                enabled: m.disabled_at.is_none(),
            })
        })
        .collect::<ConsoleResult<Vec<_>>>()?;
    lines.sort_by_key(|a| a.name.to_lowercase());
    let (status, message) = status_and_message(refused);
    let page = TeamPage {
        chrome: Chrome::admin(user, AdminSection::Teams),
        can_edit,
        id: team.id,
        draft_name: draft_name.unwrap_or_else(|| team.name.clone()),
        name: team.name,
        members: lines,
        more_members: members.next_cursor.is_some(),
        candidates,
        message,
        notice: notice(notice_key),
    };
    page_with(status, &page)
}

/// `GET /admin/teams/{id}`; another organisation's team is not found.
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let id: TeamId = path_id(&id)?;
    render_team(&state, &user, id, None, None, q.notice.as_deref()).await
}

/// `POST /admin/teams/{id}`: rename.
pub async fn rename(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<NameForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: TeamId = path_id(&id)?;
    match rename_team(&state, &user.auth, id, &form.name).await {
        Ok(_) => Ok(see_other(format!("/admin/teams/{id}?notice=saved"))),
        Err(e) => {
            let refused = refusal(e)?;
            render_team(&state, &user, id, Some(form.name), Some(refused), None).await
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// `POST /admin/teams/{id}/delete`
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<EmptyForm>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: TeamId = path_id(&id)?;
    team_changes::delete(
        &state.services(),
        user.auth.org_id,
        id,
        user.auth.user_id,
        deskbind_core::time::now_micros(),
    )
    .await
    .map_err(ApiError::from)?;
    Ok(see_other("/admin/teams?notice=deleted"))
}

#[derive(Debug, Deserialize)]
pub struct MemberForm {
    #[serde(default)]
    user_id: String,
}

/// `POST /admin/teams/{id}/members`: adds the chosen user.
pub async fn add_member(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<MemberForm>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form } = form;
    user.require_admin()?;
    let id: TeamId = path_id(&id)?;
    let Ok(member) = form.user_id.parse::<UserId>() else {
        let refused = Refusal::invalid("User: choose a user from the list");
        return render_team(&state, &user, id, None, Some(refused), None).await;
    };
    team_changes::add_member(&state.services(), user.auth.org_id, id, member)
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(format!("/admin/teams/{id}?notice=added")))
}

/// `POST /admin/teams/{id}/members/{user_id}/remove`
pub async fn remove_member(
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    form: ConsoleForm<EmptyForm>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: TeamId = path_id(&path.0)?;
    let member: UserId = path_id(&path.1)?;
    team_changes::remove_member(&state.services(), user.auth.org_id, id, member)
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(format!("/admin/teams/{id}?notice=removed")))
}
