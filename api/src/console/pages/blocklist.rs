//! `/blocklist`: the blocklist and allow-list entries the viewer may see,
//! as `GET /v1/blocklist` shows them (docs/blocklist.md), filtered by kind,
//! scope and number, in keyset pages; add, change (kind, label, reason,
//! expiry) and remove. Who may change which scope is the use case's rule
//! (`usecases::blocklist`): admins every scope, managers their teams' and
//! their members', salespeople their own user-scope entries; a refused
//! scope is the 403 page, another organisation's entry the 404 page.

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use deskbind_core::domain::blocklist::NewEntry;
use deskbind_core::ids::BlocklistEntryId;
use deskbind_core::repo::blocklist as entries;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::blocklist::{self as changes, EntryChanges};
use deskbind_core::wire::{
    BlocklistEntry, BlocklistKind, BlocklistPattern, BlocklistScope, CreateBlocklistEntry, Role,
    UpdateBlocklistEntry,
};
use serde::Deserialize;

use super::admin::form::{NoticeQuery, notice, page_with, refusal};
use super::admin::names::{Named, teams_of, users_of};
use super::contacts::owner_name;
use crate::console::chrome::{Chrome, Section, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleResult, url_escape};
use crate::console::field_errors::{FieldMessages, FormErrors};
use crate::console::session::ConsoleUser;
use crate::console::time::{local_time, viewer_zone};
use crate::error::ApiError;
use crate::extract::{PageParams, path_id};
use crate::routes::blocklist::{ListQuery, actor};
use crate::state::AppState;

const SHOWN: &[&str] = &[
    "kind",
    "scope",
    "team_id",
    "user_id",
    "pattern",
    "value",
    "label",
    "reason",
    "expires_at",
];

#[derive(Debug)]
pub struct EntryLine {
    pub id: String,
    pub kind: &'static str,
    pub pattern: &'static str,
    pub value: String,
    pub applies_to: String,
    pub label: String,
    pub reason: String,
    pub expires: String,
}

/// The add form as typed.
#[derive(Debug, Clone, Deserialize)]
pub struct EntryDraft {
    #[serde(default = "block")]
    pub kind: String,
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub team_id: String,
    #[serde(default)]
    pub user_id: String,
    #[serde(default = "number")]
    pub pattern: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub reason: String,
    /// `YYYY-MM-DD HH:MM` in the viewer's zone; empty: never.
    #[serde(default)]
    pub expires_at: String,
}

fn block() -> String {
    "block".into()
}

fn number() -> String {
    "number".into()
}

impl EntryDraft {
    fn empty(user: &ConsoleUser) -> Self {
        Self {
            kind: block(),
            scope: match user.auth.role {
                Role::Admin => "organisation",
                Role::Manager => "team",
                Role::Salesperson => "user",
            }
            .into(),
            team_id: String::new(),
            user_id: String::new(),
            pattern: number(),
            value: String::new(),
            label: String::new(),
            reason: String::new(),
            expires_at: String::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "blocklist.html")]
struct BlocklistPage {
    chrome: Chrome,
    kind: String,
    scope: String,
    number: String,
    rows: Vec<EntryLine>,
    next: Option<String>,
    message: Option<String>,
    notice: Option<&'static str>,
    /// The scopes the viewer may add to.
    scopes: Vec<(&'static str, &'static str)>,
    teams: Vec<Named>,
    users: Vec<Named>,
    draft: EntryDraft,
    errors: Option<FormErrors>,
    time_zone: String,
}

/// `?kind=&scope=&number=&cursor=&limit=&notice=`
#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    kind: Option<String>,
    scope: Option<String>,
    number: Option<String>,
    limit: Option<String>,
    notice: Option<String>,
}

fn kind_label(k: BlocklistKind) -> &'static str {
    match k {
        BlocklistKind::Block => "Block",
        BlocklistKind::Allow => "Allow",
    }
}

fn pattern_label(p: BlocklistPattern) -> &'static str {
    match p {
        BlocklistPattern::Number => "Number",
        BlocklistPattern::Prefix => "Prefix",
    }
}

fn scopes_for(role: Role) -> Vec<(&'static str, &'static str)> {
    match role {
        Role::Admin => vec![
            ("organisation", "Everyone"),
            ("team", "A team"),
            ("user", "A person"),
        ],
        Role::Manager => vec![("team", "A team"), ("user", "A person")],
        Role::Salesperson => vec![("user", "Me")],
    }
}

fn line(e: BlocklistEntry, teams: &[Named], users: &[Named], tz: Tz) -> EntryLine {
    let applies_to = match e.scope {
        BlocklistScope::Organisation => "Everyone".to_owned(),
        BlocklistScope::Team => format!(
            "Team {}",
            owner_name(teams, e.team_id.map(|t| t.to_string()))
        ),
        BlocklistScope::User => owner_name(users, e.user_id.map(|u| u.to_string())),
    };
    EntryLine {
        id: e.id.to_string(),
        kind: kind_label(e.kind),
        pattern: pattern_label(e.pattern),
        value: e.value,
        applies_to,
        label: e.label,
        reason: e.reason,
        expires: e.expires_at.map(|t| local_time(t, tz)).unwrap_or_default(),
    }
}

/// Teams and people for the pickers: a salesperson picks no one.
async fn pickers(state: &AppState, user: &ConsoleUser) -> ConsoleResult<(Vec<Named>, Vec<Named>)> {
    let org = user.auth.org_id;
    Ok(state
        .db
        .run(move |conn| Ok::<_, ApiError>((teams_of(conn, org)?, users_of(conn, org)?)))
        .await?)
}

async fn render_list(
    state: &AppState,
    user: &ConsoleUser,
    req: &HttpRequest,
    params: ListParams,
    draft: EntryDraft,
    errors: Option<FormErrors>,
) -> ConsoleResult<HttpResponse> {
    let (teams, users) = pickers(state, user).await?;
    let tz = viewer_zone(user);
    let mut page = BlocklistPage {
        chrome: Chrome::new(user, Section::Blocklist),
        kind: params.kind.clone().unwrap_or_default(),
        scope: params.scope.clone().unwrap_or_default(),
        number: params.number.clone().unwrap_or_default(),
        rows: Vec::new(),
        next: None,
        message: None,
        notice: notice(params.notice.as_deref()),
        scopes: scopes_for(user.auth.role),
        teams: Vec::new(),
        users: Vec::new(),
        draft,
        errors,
        time_zone: tz.name().to_owned(),
    };
    let query = ListQuery {
        kind: params.kind.clone(),
        scope: params.scope.clone(),
        number: params.number.clone(),
    };
    let checked = match PageParams::extract(req).await {
        Ok(PageParams(p)) => query.parse().map(|f| (f, p)),
        Err(e) => Err(e),
    };
    let mut status = page
        .errors
        .as_ref()
        .map(|e| e.status)
        .unwrap_or(StatusCode::OK);
    match checked {
        Err(e) => {
            let refused = refusal(e)?;
            status = refused.status;
            page.message = Some(refused.message);
        }
        Ok((filter, paging)) => {
            let auth = user.auth;
            let rows = state
                .db
                .run(move |conn| {
                    let reach = changes::reach_of(conn, auth.user_id, auth.role)?;
                    let rows = entries::list(conn, auth.org_id, &reach, &filter, &paging)?;
                    Ok::<_, ApiError>(rows.try_map(|r| r.to_wire())?)
                })
                .await?;
            page.next = rows.next_cursor.map(|cursor| {
                let mut href = String::from("/blocklist?");
                for (k, v) in [
                    ("kind", &page.kind),
                    ("scope", &page.scope),
                    ("number", &page.number),
                ] {
                    if !v.is_empty() {
                        href.push_str(&format!("{k}={}&", url_escape(v)));
                    }
                }
                if let Some(limit) = params.limit.as_deref() {
                    href.push_str(&format!("limit={}&", url_escape(limit)));
                }
                href.push_str(&format!("cursor={}", url_escape(&cursor)));
                href
            });
            page.rows = rows
                .items
                .into_iter()
                .map(|e| line(e, &teams, &users, tz))
                .collect();
        }
    }
    page.teams = teams;
    page.users = users;
    page_with(status, &page)
}

/// `GET /blocklist`
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    web::Query(params): web::Query<ListParams>,
) -> ConsoleResult<HttpResponse> {
    let draft = EntryDraft::empty(&user);
    render_list(&state, &user, &req, params, draft, None).await
}

/// An expiry typed in the viewer's zone, as an instant.
fn expiry(raw: &str, tz: Tz) -> Result<Option<DateTime<Utc>>, FormErrors> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let refused = || {
        FormErrors::invalid(
            "expires_at",
            "Give a date and time, or leave it empty",
            SHOWN,
        )
    };
    let local = crate::console::time::parse_local_minute(raw).ok_or_else(refused)?;
    tz.from_local_datetime(&local)
        .earliest()
        .map(|t| Some(t.with_timezone(&Utc)))
        .ok_or_else(refused)
}

fn choice<T>(field: &str, raw: &str, parse: fn(&str) -> Option<T>) -> Result<T, FormErrors> {
    parse(raw).ok_or_else(|| FormErrors::invalid(field, "Choose one of the listed values", SHOWN))
}

fn optional_id<T: std::str::FromStr>(field: &str, raw: &str) -> Result<Option<T>, FormErrors> {
    match raw.trim() {
        "" => Ok(None),
        id => id
            .parse()
            .map(Some)
            .map_err(|_| FormErrors::invalid(field, "Choose one from the list", SHOWN)),
    }
}

fn create_body(user: &ConsoleUser, d: &EntryDraft) -> Result<CreateBlocklistEntry, FormErrors> {
    let scope = choice("scope", &d.scope, BlocklistScope::parse)?;
    Ok(CreateBlocklistEntry {
        kind: choice("kind", &d.kind, BlocklistKind::parse)?,
        scope,
        team_id: match scope {
            BlocklistScope::Team => optional_id("team_id", &d.team_id)?,
            _ => None,
        },
        // "Me" for a salesperson; the picked person otherwise.
        user_id: match (scope, user.auth.role) {
            (BlocklistScope::User, Role::Salesperson) => Some(user.auth.user_id),
            (BlocklistScope::User, _) => optional_id("user_id", &d.user_id)?,
            _ => None,
        },
        pattern: choice("pattern", &d.pattern, BlocklistPattern::parse)?,
        value: d.value.clone(),
        label: d.label.clone(),
        reason: d.reason.clone(),
        expires_at: expiry(&d.expires_at, viewer_zone(user))?,
    })
}

/// `POST /blocklist`
pub async fn add(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: ConsoleForm<EntryDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let saved = match create_body(&user, &draft) {
        Err(e) => Err(e),
        Ok(body) => {
            let now = now_micros();
            let added = match NewEntry::parse(user.auth.org_id, &body, now) {
                Ok(entry) => {
                    changes::add(&state.db, user.auth.org_id, entry, actor(&user.auth), now)
                        .await
                        .map_err(ApiError::from)
                }
                Err(e) => Err(e.into()),
            };
            match added {
                Ok(row) => Ok(row),
                Err(e) => Err(FormErrors::from_api(e, SHOWN)?),
            }
        }
    };
    match saved {
        Ok(row) => {
            tracing::info!(by = %user.auth.user_id, entry = %row.id, "blocklist entry added (console)");
            Ok(see_other("/blocklist?notice=created"))
        }
        Err(errors) => {
            render_list(
                &state,
                &user,
                &req,
                ListParams::default(),
                draft,
                Some(errors),
            )
            .await
        }
    }
}

/// The edit form as typed.
#[derive(Debug, Clone, Deserialize)]
pub struct ChangeDraft {
    #[serde(default = "block")]
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub expires_at: String,
}

#[derive(Template)]
#[template(path = "blocklist_entry.html")]
struct EntryPage {
    chrome: Chrome,
    entry: EntryLine,
    draft: ChangeDraft,
    errors: Option<FormErrors>,
    notice: Option<&'static str>,
    time_zone: String,
}

async fn render_entry(
    state: &AppState,
    user: &ConsoleUser,
    id: BlocklistEntryId,
    draft: Option<ChangeDraft>,
    errors: Option<FormErrors>,
    notice_key: Option<&str>,
) -> ConsoleResult<HttpResponse> {
    let auth = user.auth;
    let entry = state
        .db
        .run(move |conn| {
            let row = changes::get(conn, auth.org_id, id, actor(&auth)).map_err(ApiError::from)?;
            Ok::<_, ApiError>(row.to_wire()?)
        })
        .await?;
    let (teams, users) = pickers(state, user).await?;
    let tz = viewer_zone(user);
    let draft = draft.unwrap_or_else(|| ChangeDraft {
        kind: entry.kind.as_str().to_owned(),
        label: entry.label.clone(),
        reason: entry.reason.clone(),
        expires_at: entry
            .expires_at
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
    });
    let status = errors.as_ref().map(|e| e.status).unwrap_or(StatusCode::OK);
    let page = EntryPage {
        chrome: Chrome::new(user, Section::Blocklist),
        entry: line(entry, &teams, &users, tz),
        draft,
        errors,
        notice: notice(notice_key),
        time_zone: tz.name().to_owned(),
    };
    page_with(status, &page)
}

/// `GET /blocklist/{id}`
pub async fn show(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
    web::Query(q): web::Query<NoticeQuery>,
) -> ConsoleResult<HttpResponse> {
    let id: BlocklistEntryId = path_id(&id)?;
    render_entry(&state, &user, id, None, None, q.notice.as_deref()).await
}

/// `POST /blocklist/{id}`
pub async fn update(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<ChangeDraft>,
) -> ConsoleResult<HttpResponse> {
    let ConsoleForm { user, form: draft } = form;
    let id: BlocklistEntryId = path_id(&id)?;
    let body = (|| {
        Ok::<_, FormErrors>(UpdateBlocklistEntry {
            kind: Some(choice("kind", &draft.kind, BlocklistKind::parse)?),
            label: Some(draft.label.clone()),
            reason: Some(draft.reason.clone()),
            expires_at: Some(expiry(&draft.expires_at, viewer_zone(&user))?),
        })
    })();
    let errors = match body {
        Err(e) => e,
        Ok(body) => {
            let now = now_micros();
            let changed = match EntryChanges::parse(&body, now) {
                Ok(c) => {
                    changes::update(&state.db, user.auth.org_id, id, c, actor(&user.auth), now)
                        .await
                        .map_err(ApiError::from)
                }
                Err(e) => Err(e.into()),
            };
            match changed {
                Ok(_) => return Ok(see_other(format!("/blocklist/{id}?notice=saved"))),
                Err(e) => FormErrors::from_api(e, SHOWN)?,
            }
        }
    };
    render_entry(&state, &user, id, Some(draft), Some(errors), None).await
}

/// `GET /blocklist/export.csv`: the JSON API's export
/// (`GET /v1/blocklist/export.csv`) of the entries the viewer may see.
pub async fn export(state: web::Data<AppState>, user: ConsoleUser) -> ConsoleResult<HttpResponse> {
    Ok(crate::routes::blocklist_csv::export(state, user.auth).await?)
}

#[derive(Debug, Deserialize)]
pub struct EmptyForm {}

/// `POST /blocklist/{id}/delete`
pub async fn delete(
    state: web::Data<AppState>,
    id: web::Path<String>,
    form: ConsoleForm<EmptyForm>,
) -> ConsoleResult<HttpResponse> {
    let user = form.user;
    let id: BlocklistEntryId = path_id(&id)?;
    changes::delete(&state.db, user.auth.org_id, id, actor(&user.auth))
        .await
        .map_err(ApiError::from)?;
    Ok(see_other("/blocklist?notice=deleted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expiry_is_read_in_the_viewers_zone() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let at = expiry("2026-07-01T14:00", berlin).unwrap().unwrap();
        assert_eq!(expiry("2026-07-01 14:00", berlin).unwrap(), Some(at));
        assert_eq!(at.to_rfc3339(), "2026-07-01T12:00:00+00:00");
        assert_eq!(expiry(" ", berlin).unwrap(), None);
        let bad = expiry("tomorrow", berlin).unwrap_err();
        assert_eq!(
            bad.at("expires_at"),
            Some("Give a date and time, or leave it empty")
        );
    }
}
