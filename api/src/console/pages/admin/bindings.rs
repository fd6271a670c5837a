//! `/admin/bindings`: who holds which phone now (since when, how) with a
//! button to end a binding, and `/admin/bindings/log`: the binding audit
//! log of `GET /v1/binding-events`, oldest first, with its keyset paging
//! and its phone, user and action filters.

use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::ids::BindingId;
use deskbind_core::repo::binding_events;
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::bindings::{self, BindingFilter};
use deskbind_core::usecases::bindings as binding_changes;
use deskbind_core::wire::{ActorKind, BindingAction, BindingVia, DEFAULT_PAGE_LIMIT};

use super::form::{Choice, NoticeQuery, local_time, notice, page_with};
use super::names::{Directory, choices, phones_of, users_of};
use crate::console::chrome::{AdminSection, Chrome, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::ConsoleResult;
use crate::console::error::url_escape;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::extract::{PageParams, SeqPageParams, path_id};
use crate::routes::binding_events::EventQuery;
use crate::routes::users::visibility;
use crate::state::AppState;

fn via_label(via: BindingVia) -> &'static str {
    match via {
        BindingVia::App => "App",
        BindingVia::Phone => "Phone",
        BindingVia::Nfc => "NFC or code",
    }
}

#[derive(Debug)]
pub struct BindingLine {
    pub id: String,
    pub phone: String,
    pub user: String,
    pub since: String,
    pub expires: Option<String>,
    pub via: &'static str,
}

#[derive(Template)]
#[template(path = "admin_bindings.html")]
struct BindingsPage {
    chrome: Chrome,
    rows: Vec<BindingLine>,
    next_cursor: Option<String>,
    notice: Option<&'static str>,
}

/// `GET /admin/bindings`: the bindings in force.
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let PageParams(page) = PageParams::extract(&req).await?;
    let org = user.auth.org_id;
    let (rows, names) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let filter = BindingFilter::default();
            let rows = bindings::list(conn, org, None, &filter, &page)?;
            let mut names = Directory::new(&users_of(conn, org)?, &phones_of(conn, org)?);
            names.complete(
                conn,
                org,
                rows.items.iter().map(|b| b.user_id.as_str()),
                rows.items.iter().map(|b| b.phone_id.as_str()),
            )?;
            Ok((rows, names))
        })
        .await?;
    let tz = &user.time_zone;
    let lines = rows
        .items
        .iter()
        .map(|b| -> ConsoleResult<BindingLine> {
            Ok(BindingLine {
                id: b.id.clone(),
                phone: names.phone(&b.phone_id),
                user: names.user(&b.user_id),
                since: local_time(b.started_at, tz),
                expires: b.expires_at.map(|e| local_time(e, tz)),
                via: via_label(b.via()?),
            })
        })
        .collect::<ConsoleResult<Vec<_>>>()?;
    page_with(
        actix_web::http::StatusCode::OK,
        &BindingsPage {
            chrome: Chrome::admin(&user, AdminSection::Bindings),
            rows: lines,
            next_cursor: rows.next_cursor.clone(),
            notice: notice(q.notice.as_deref()),
        },
    )
}

#[derive(Debug, serde::Deserialize)]
pub struct EmptyForm {}

/// `POST /admin/bindings/{id}/end`: the unbind of `DELETE /v1/bindings/{id}`.
pub async fn end(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<EmptyForm>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    user.require_admin()?;
    let id: BindingId = path_id(&id)?;
    let auth = &user.auth;
    let row = binding_changes::unbind(
        &state.services(),
        auth.org_id,
        id,
        visibility(auth),
        By::User(auth.user_id),
    )
    .await
    .map_err(ApiError::from)?;
    tracing::info!(binding = %row.id, phone = %row.phone_id, "phone unbound from the console");
    Ok(see_other("/admin/bindings?notice=ended"))
}

#[derive(Debug)]
pub struct EventLine {
    pub seq: i64,
    pub at: String,
    pub action: &'static str,
    pub phone: String,
    pub user: String,
    pub how: String,
    pub actor: String,
    pub previous: Option<String>,
}

#[derive(Template)]
#[template(path = "admin_binding_log.html")]
struct LogPage {
    chrome: Chrome,
    rows: Vec<EventLine>,
    phones: Vec<Choice>,
    users: Vec<Choice>,
    actions: Vec<Choice>,
    next_href: Option<String>,
    first_href: String,
}

/// The log page's link with these filters (and a cursor).
fn log_href(q: &EventQuery, limit: Option<u32>, cursor: Option<&str>) -> String {
    let limit = limit.map(|l| l.to_string());
    let mut parts = Vec::new();
    for (key, value) in [
        ("phone_id", q.phone_id.as_deref()),
        ("user_id", q.user_id.as_deref()),
        ("action", q.action.as_deref()),
        ("limit", limit.as_deref()),
        ("cursor", cursor),
    ] {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={}", url_escape(v)));
        }
    }
    if parts.is_empty() {
        "/admin/bindings/log".into()
    } else {
        format!("/admin/bindings/log?{}", parts.join("&"))
    }
}

/// `GET /admin/bindings/log`: `GET /v1/binding-events` as a page, with
/// the same filters and paging (a bad filter is the 400 page).
pub async fn log(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    user.require_admin()?;
    let SeqPageParams(page) = SeqPageParams::extract(&req).await?;
    let crate::extract::Query(q) = crate::extract::Query::<EventQuery>::extract(&req).await?;
    let filter = q.filter()?;
    // A limit asked for is kept from page to page.
    let limit = (page.limit != DEFAULT_PAGE_LIMIT).then_some(page.limit);
    let org = user.auth.org_id;
    let (events, names, users, phones) = state
        .db
        .run(move |conn| -> Result<_, ApiError> {
            let events = binding_events::list(conn, org, &filter, &page)?;
            let (users, phones) = (users_of(conn, org)?, phones_of(conn, org)?);
            let mut names = Directory::new(&users, &phones);
            let user_ids: Vec<String> = events
                .items
                .iter()
                .flat_map(|e| {
                    let mut ids = vec![e.user_id.to_string()];
                    ids.extend(e.previous_user_id.map(|p| p.to_string()));
                    if e.actor.kind == ActorKind::User {
                        ids.extend(e.actor.id.clone());
                    }
                    ids
                })
                .collect();
            let phone_ids: Vec<String> = events
                .items
                .iter()
                .map(|e| e.phone_id.to_string())
                .collect();
            names.complete(
                conn,
                org,
                user_ids.iter().map(String::as_str),
                phone_ids.iter().map(String::as_str),
            )?;
            Ok((events, names, users, phones))
        })
        .await?;
    let tz = &user.time_zone;
    let rows = events
        .items
        .iter()
        .map(|e| EventLine {
            seq: e.seq,
            at: local_time(e.at.timestamp_micros(), tz),
            action: match e.action {
                BindingAction::Bound => "Bound",
                BindingAction::Ended => "Ended",
            },
            phone: names.phone(&e.phone_id.to_string()),
            user: names.user(&e.user_id.to_string()),
            how: match (e.via, e.reason) {
                (Some(via), _) => via_label(via).to_owned(),
                (None, Some(reason)) => reason.as_str().replace('_', " "),
                (None, None) => String::new(),
            },
            actor: match (e.actor.kind, e.actor.id.as_deref()) {
                (ActorKind::User, Some(id)) => names.user(id),
                (ActorKind::Phone, Some(id)) => format!("phone {}", names.phone(id)),
                (ActorKind::System, _) => "deskbind (expiry)".into(),
                (kind, _) => kind.as_str().to_owned(),
            },
            previous: e.previous_user_id.map(|p| names.user(&p.to_string())),
        })
        .collect();
    let action = q.action.as_deref().unwrap_or("");
    let page = LogPage {
        chrome: Chrome::admin(&user, AdminSection::Bindings),
        rows,
        phones: choices(&phones, q.phone_id.as_deref()),
        users: choices(&users, q.user_id.as_deref()),
        actions: BindingAction::ALL
            .iter()
            .map(|a| Choice {
                value: a.as_str().to_owned(),
                label: match a {
                    BindingAction::Bound => "Bound".into(),
                    BindingAction::Ended => "Ended".into(),
                },
                selected: a.as_str() == action,
            })
            .collect(),
        next_href: events
            .next_cursor
            .as_deref()
            .map(|c| log_href(&q, limit, Some(c))),
        first_href: log_href(&q, limit, None),
    };
    page_with(actix_web::http::StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_links_keep_the_filters_and_escape_them() {
        let q = EventQuery {
            phone_id: Some("p 1".into()),
            action: Some(String::new()),
            ..EventQuery::default()
        };
        assert_eq!(
            log_href(&q, Some(4), Some("12")),
            "/admin/bindings/log?phone_id=p+1&limit=4&cursor=12"
        );
        assert_eq!(
            log_href(&EventQuery::default(), None, None),
            "/admin/bindings/log"
        );
    }
}
