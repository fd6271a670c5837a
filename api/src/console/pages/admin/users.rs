//! `/admin/users`: the organisation's users (name, email, role, teams,
//! enabled) and a form to create one, checked and created by
//! `POST /v1/users`'s own `routes::users::create_user`. Each user's page
//! is [`super::user_page`].

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::TeamId;
use deskbind_core::repo::teams::TeamVisibility;
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::wire::CreateUser;

use super::form::{
    Choice, Fields, NoticeQuery, Refusal, notice, page_with, parse_role, refusal, role_choices,
    role_label,
};
use super::names::{Named, teams_of};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::PageParams;
use crate::routes::users::create_user;
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

pub(super) fn team_choices(teams: &[Named], chosen: &HashSet<&str>) -> Vec<Choice> {
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
pub(super) fn parse_team_ids(fields: &Fields) -> Result<Vec<TeamId>, Refusal> {
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
