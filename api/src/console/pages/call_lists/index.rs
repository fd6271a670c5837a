//! `GET /call-lists`: the lists the viewer manages, newest first, paged
//! and filtered by state, as `GET /v1/call-lists` pages them; `POST
//! /call-lists`: the "New list" form, creating a draft through
//! `usecases::call_lists::create` (the API's checks, refusals shown next
//! to their fields, nothing saved).

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use deskbind_core::usecases::call_lists;
use deskbind_core::wire::{CallList, CallListPool, CallListState, CreateCallList};
use serde::Deserialize;

use super::manager;
use super::pickers::{self, Pickers};
use crate::console::chrome::{Chrome, Section, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleResult, url_escape};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::pages::admin::form::{page_with, refusal};
use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, viewer_zone};
use crate::error::ApiError;
use crate::extract::PageParams;
use crate::routes::call_lists::list_refusal;
use crate::state::AppState;

const SHOWN: &[&str] = &["name", "mode", "order", "gap_secs", "lease_secs", "pool"];

#[derive(Debug)]
pub struct ListLine {
    pub id: String,
    pub name: String,
    pub state: &'static str,
    pub mode: &'static str,
    pub order: &'static str,
    /// Queued, leased or returned: still to work.
    pub open: i64,
    pub completed: i64,
    /// Gave up, dropped or blocked.
    pub closed: i64,
    pub updated: String,
}

/// The "New list" form as typed.
#[derive(Debug, Clone, Deserialize)]
pub struct NewListDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default = "preview")]
    pub mode: String,
    #[serde(default = "priority")]
    pub order: String,
    #[serde(default)]
    pub gap_secs: String,
    #[serde(default)]
    pub lease_secs: String,
    #[serde(default)]
    pub pool_team_id: String,
}

fn preview() -> String {
    "preview".into()
}

fn priority() -> String {
    "priority".into()
}

impl Default for NewListDraft {
    fn default() -> Self {
        Self {
            name: String::new(),
            mode: preview(),
            order: priority(),
            gap_secs: String::new(),
            lease_secs: String::new(),
            pool_team_id: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "call_lists.html")]
struct ListsPage {
    chrome: Chrome,
    state: String,
    states: &'static [CallListState],
    rows: Vec<ListLine>,
    next: Option<String>,
    message: Option<String>,
    draft: NewListDraft,
    errors: Option<FormErrors>,
    teams: Vec<crate::console::pages::admin::names::Named>,
    time_zone: String,
}

/// `?state=&cursor=&limit=`
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    state: Option<String>,
    limit: Option<String>,
}

fn line(l: CallList, tz: chrono_tz::Tz) -> ListLine {
    let c = l.counts;
    ListLine {
        id: l.id.to_string(),
        name: l.name,
        state: l.state.as_str(),
        mode: l.mode.as_str(),
        order: l.order.as_str(),
        open: c.queued + c.leased + c.returned,
        completed: c.completed,
        closed: c.gave_up + c.dropped + c.blocked,
        updated: local_time(l.updated_at, tz),
    }
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    params: ListParams,
    draft: NewListDraft,
    errors: Option<FormErrors>,
) -> ConsoleResult<HttpResponse> {
    let by = manager(user)?;
    let Pickers { teams, .. } = pickers::load(state, by).await?;
    let tz = viewer_zone(user);
    let mut page = ListsPage {
        chrome: Chrome::new(user, Section::CallLists),
        state: params.state.clone().unwrap_or_default(),
        states: CallListState::ALL,
        rows: Vec::new(),
        next: None,
        message: None,
        draft,
        errors,
        teams,
        time_zone: tz.name().to_owned(),
    };
    let mut status = page.errors.as_ref().map_or(StatusCode::OK, |e| e.status);
    let wanted = match page.state.as_str() {
        "" => Ok(None),
        raw => CallListState::parse(raw)
            .map(Some)
            .ok_or_else(|| ApiError::InvalidQuery {
                field: "state".into(),
                detail: "must be draft, active, paused, completed or archived".into(),
            }),
    };
    let checked = match PageParams::extract(req).await {
        Ok(PageParams(p)) => wanted.map(|w| (w, p)),
        Err(e) => Err(e),
    };
    match checked {
        Err(e) => {
            let refused = refusal(e)?;
            status = refused.status;
            page.message = Some(refused.message);
        }
        Ok((wanted, paging)) => {
            let lists =
                call_lists::page(&state.services(), by, wanted, paging.after, paging.limit).await?;
            page.next = lists.next_cursor.map(|cursor| {
                let mut href = String::from("/call-lists?");
                if !page.state.is_empty() {
                    href.push_str(&format!("state={}&", url_escape(&page.state)));
                }
                if let Some(limit) = params.limit.as_deref() {
                    href.push_str(&format!("limit={}&", url_escape(limit)));
                }
                href.push_str(&format!("cursor={}", url_escape(&cursor)));
                href
            });
            page.rows = lists.items.into_iter().map(|l| line(l, tz)).collect();
        }
    }
    page_with(status, &page)
}

/// `GET /call-lists`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(params): web::Query<ListParams>,
) -> ConsoleResult<HttpResponse> {
    render(&state, &user, &req, params, NewListDraft::default(), None).await
}

/// A whole number of seconds typed in a form; empty: the default.
fn seconds(field: &str, raw: &str) -> Result<Option<u32>, FormErrors> {
    match raw.trim() {
        "" => Ok(None),
        n => n
            .parse()
            .map(Some)
            .map_err(|_| FormErrors::invalid(field, "A whole number of seconds", SHOWN)),
    }
}

fn create_body(d: &NewListDraft) -> Result<CreateCallList, FormErrors> {
    let team = match d.pool_team_id.trim() {
        "" => None,
        id => Some(
            id.parse()
                .map_err(|_| FormErrors::invalid("pool", "Choose a team from the list", SHOWN))?,
        ),
    };
    // What the form does not ask for keeps its default.
    Ok(CreateCallList {
        mode: Some(d.mode.clone()),
        order: Some(d.order.clone()),
        gap_secs: seconds("gap_secs", &d.gap_secs)?,
        lease_secs: seconds("lease_secs", &d.lease_secs)?,
        pool: CallListPool {
            team_id: team,
            user_ids: Vec::new(),
        },
        ..CreateCallList::named(d.name.clone())
    })
}

/// `POST /call-lists`
pub async fn create(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: ConsoleForm<NewListDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let by = manager(&user)?;
    let errors = match create_body(&draft) {
        Err(e) => e,
        Ok(body) => {
            match call_lists::create(&state.services(), by, body, state.clock.now()).await {
                Ok(list) => {
                    tracing::info!(list = %list.id, by = %user.auth.user_id, "call list created (console)");
                    return Ok(see_other(format!("/call-lists/{}?notice=created", list.id)));
                }
                Err(e) => FormErrors::from_api(list_refusal(e), SHOWN)?,
            }
        }
    };
    let params = ListParams::default();
    render(&state, &user, &req, params, draft, Some(errors)).await
}
