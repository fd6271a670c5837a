//! One phone's page: its state, the current holder (with "end binding"),
//! a new provisioning code (shown once, as text and QR code), "bind to a
//! user", who may bind it (grants), revoke credential, disable/enable.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::ids::PhoneId;
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::teams::{self, TeamVisibility};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::repo::{RepoError, bindings, grants, phones};
use deskbind_core::wire::{MAX_PAGE_LIMIT, PhoneHolder};

use super::list::credential_state;
use super::phone_id;
use crate::console::chrome::{AdminSection, Chrome};
use crate::console::error::ConsoleResult;
use chrono_tz::Tz;

use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, zone_named};
use crate::state::AppState;

/// A person or team in the bind and grant forms.
#[derive(Debug)]
pub struct Choice {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

/// A code just issued: shown on this response only, never stored readable.
#[derive(Debug)]
pub struct IssuedCode {
    pub code: String,
    pub expires: String,
    pub qr_svg: String,
}

#[derive(Debug)]
pub struct Holder {
    pub binding_id: String,
    pub name: String,
    pub since: String,
    pub expires: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_phones_detail.html")]
pub struct PhonePage {
    pub chrome: Chrome,
    pub id: String,
    pub label: String,
    pub number: String,
    pub extension: String,
    pub online: bool,
    pub disabled: bool,
    pub credential: &'static str,
    pub holder: Option<Holder>,
    pub code: Option<IssuedCode>,
    pub everyone: bool,
    pub users: Vec<Choice>,
    pub teams: Vec<Choice>,
    /// More users than one form can list: bind by email instead.
    pub users_truncated: bool,
    /// Grants of people and teams beyond the listed ones, carried as
    /// hidden fields so saving the form keeps them.
    pub unlisted_users: Vec<String>,
    pub unlisted_teams: Vec<String>,
    pub notice: Option<String>,
    pub message: Option<String>,
}

/// What a page view adds to the stored state: a fresh code, a notice of
/// what just happened, or why an action was refused.
#[derive(Debug, Default)]
pub struct Extras {
    pub code: Option<IssuedCode>,
    pub notice: Option<String>,
    pub message: Option<String>,
}

fn holder_of(h: PhoneHolder, zone: Tz) -> Holder {
    Holder {
        binding_id: h.binding_id.to_string(),
        name: h.display_name,
        since: local_time(h.since, zone),
        expires: h.expires_at.map(|t| local_time(t, zone)),
    }
}

/// Renders the page of phone `id` (404 when not of the user's
/// organisation) with `status`.
pub async fn render(
    state: &AppState,
    user: &ConsoleUser,
    id: PhoneId,
    extras: Extras,
    status: StatusCode,
) -> ConsoleResult<HttpResponse> {
    let org = user.auth.org_id;
    let limit = PageRequest::new(None, Some(MAX_PAGE_LIMIT));
    let (row, provisioned, holder, granted, people, groups) = state
        .db
        .run(move |conn| {
            let row = phones::get(conn, org, id)?;
            let ids = vec![row.id.clone()];
            let provisioned = phones::provisioned_among(conn, &ids)?.contains(&row.id);
            let holder = bindings::holders(conn, &ids)?.remove(&row.id);
            let granted = grants::get(conn, id)?;
            let people = users::list(conn, org, Visibility::Org, &limit)?;
            let groups = teams::list(conn, org, TeamVisibility::Org, &limit)?;
            Ok::<_, RepoError>((row, provisioned, holder, granted, people, groups))
        })
        .await?;
    let online = state.relay.online_among(&[id]).await.contains(&id);
    let granted_users: HashSet<String> = granted.user_ids.iter().map(|u| u.to_string()).collect();
    let granted_teams: HashSet<String> = granted.team_ids.iter().map(|t| t.to_string()).collect();
    let users_truncated = people.next_cursor.is_some();
    // Disabled people are not offered; their grants are kept as unlisted.
    let active: Vec<_> = people
        .items
        .into_iter()
        .filter(|u| u.disabled_at.is_none())
        .collect();
    let listed_users: HashSet<&str> = active.iter().map(|u| u.id.as_str()).collect();
    let listed_teams: HashSet<&str> = groups.items.iter().map(|t| t.id.as_str()).collect();
    let unlisted_users = unlisted(&granted_users, &listed_users);
    let unlisted_teams = unlisted(&granted_teams, &listed_teams);
    let page = PhonePage {
        chrome: Chrome::admin(user, AdminSection::Phones),
        credential: credential_state(row.disabled_at.is_some(), provisioned),
        disabled: row.disabled_at.is_some(),
        holder: holder.map(|h| holder_of(h, zone_named(&user.time_zone))),
        online,
        everyone: granted.everyone,
        users: active
            .into_iter()
            .map(|u| Choice {
                checked: granted_users.contains(&u.id),
                label: format!("{} ({})", u.display_name, u.email),
                id: u.id,
            })
            .collect(),
        teams: groups
            .items
            .into_iter()
            .map(|t| Choice {
                checked: granted_teams.contains(&t.id),
                label: t.name,
                id: t.id,
            })
            .collect(),
        users_truncated,
        unlisted_users,
        unlisted_teams,
        id: row.id,
        label: row.label,
        number: row.number_e164,
        extension: row.extension,
        code: extras.code,
        notice: extras.notice,
        message: extras.message,
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// The granted ids the form does not list, in a stable order.
fn unlisted(granted: &HashSet<String>, listed: &HashSet<&str>) -> Vec<String> {
    let mut ids: Vec<String> = granted
        .iter()
        .filter(|id| !listed.contains(id.as_str()))
        .cloned()
        .collect();
    ids.sort();
    ids
}

/// What a redirect after an action says happened (`?done=`).
fn notice(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "registered" => "Phone registered. Issue a provisioning code to set it up.",
        "bound" => "Phone bound.",
        "unbound" => "Binding ended.",
        "grants" => "Grants saved.",
        "revoked" => "Credential revoked: the phone must be provisioned again.",
        "disabled" => "Phone disabled.",
        "enabled" => "Phone enabled.",
        _ => return None,
    };
    Some(text.to_owned())
}

#[derive(Debug, serde::Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    path: web::Path<String>,
    web::Query(query): web::Query<ShowQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let id = phone_id(&path)?;
    let extras = Extras {
        notice: notice(query.done.as_deref()),
        ..Extras::default()
    };
    render(&state, &user, id, extras, StatusCode::OK).await
}
