//! The call log: `GET /calls` (filters, newest first, keyset pages), one
//! call with its player (`detail`), and the CSV export of the filtered set
//! (`export`). Scope and filters are the JSON API's `GET /v1/calls`:
//! the same [`FilterQuery`] checks and the same [`list_page`] read.

pub mod choices;
pub mod detail;
pub mod export;
pub mod form;
pub mod outcome;
pub mod view;
pub mod window;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use askama::Template;
use chrono::Utc;
use deskbind_core::wire::{
    CallDirection, CallRecord, CallResult, DEFAULT_PAGE_LIMIT, ErrorCode, MAX_PAGE_LIMIT, Page,
};

use self::choices::{Choice, Choices};
use self::form::{LogQuery, text};
use self::window::Preset;
use crate::console::chrome::{Chrome, Section};
use crate::console::error::ConsoleResult;
use crate::console::session::ConsoleUser;
use crate::error::ApiError;
use crate::routes::calls::{FilterQuery, cursor_param, limit_param, list_page};
use crate::state::AppState;

/// One row of the table.
#[derive(Debug)]
pub struct CallRow {
    pub id: String,
    pub time: String,
    pub iso: String,
    pub user: String,
    pub phone: String,
    pub direction: &'static str,
    pub number: String,
    pub result: &'static str,
    pub duration: String,
    pub has_recording: bool,
}

/// An option of a select: value, label, selected.
#[derive(Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "calls.html")]
pub struct CallLogPage {
    pub chrome: Chrome,
    pub time_zone: String,
    pub users: Vec<Opt>,
    pub teams: Vec<Opt>,
    pub phones: Vec<Opt>,
    pub directions: Vec<Opt>,
    pub results: Vec<Opt>,
    pub windows: Vec<Opt>,
    pub recordings: Vec<Opt>,
    pub query: LogQuery,
    /// Why the filters could not be used (then no rows are shown).
    pub message: Option<String>,
    pub rows: Vec<CallRow>,
    pub paged: bool,
    pub first_href: String,
    pub next_href: Option<String>,
    pub export_href: String,
    /// The filters, for the background export's form.
    pub export_query: String,
    pub limit: u32,
}

impl CallLogPage {
    pub fn field<'a>(&'a self, value: &'a Option<String>) -> &'a str {
        text(value)
    }
}

/// `GET /calls`.
pub async fn list(
    state: web::Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
) -> ConsoleResult<HttpResponse> {
    let (query, parsed) = match LogQuery::parse(req.query_string()) {
        Ok(q) => (q.clone(), Ok(q)),
        Err(e) => (LogQuery::default(), Err(e)),
    };
    let tz = view::viewer_zone(&user);
    let checked = parsed.and_then(|q| {
        let filters = q.filter_query(tz, Utc::now())?.parse()?;
        let limit = limit_param(q.limit.as_deref(), DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT)?;
        let cursor = cursor_param(q.cursor.as_deref())?;
        Ok::<_, ApiError>((filters, limit, cursor))
    });
    let auth = user.auth;
    let limit = checked.as_ref().map_or(DEFAULT_PAGE_LIMIT, |c| c.1);
    let (choices, page, message) = match checked {
        Ok((filters, limit, cursor)) => {
            let (choices, page) = state
                .db
                .run(move |conn| {
                    let page = list_page(conn, &auth, &filters, cursor.as_ref(), limit)?;
                    Ok::<_, ApiError>((Choices::load(conn, &auth)?, page))
                })
                .await?;
            (choices, page, None)
        }
        Err(e) => {
            let Some(refusal) = form_refusal(&e) else {
                return Err(e.into());
            };
            let choices = state.db.run(move |conn| Choices::load(conn, &auth)).await?;
            (
                choices,
                Page {
                    items: Vec::new(),
                    next_cursor: None,
                },
                Some(refusal),
            )
        }
    };
    let status = message.as_ref().map_or(StatusCode::OK, |(s, _)| *s);
    let message = message.map(|(_, m)| m);
    let page = render_page(&user, tz, query, choices, page, message, limit);
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render()?))
}

/// A refused filter as a form error on the page, at the API's status: 400
/// `invalid_query`, or 422 `number_search_too_short` for a number search
/// with too few digits.
fn form_refusal(e: &ApiError) -> Option<(StatusCode, String)> {
    match e {
        ApiError::InvalidQuery { field, detail }
        | ApiError::Validation {
            code: ErrorCode::NumberSearchTooShort,
            field,
            detail,
        } => Some((
            e.status_code(),
            format!("The filter {field} {detail}. Change it and search again."),
        )),
        _ => None,
    }
}

fn render_page(
    user: &ConsoleUser,
    tz: chrono_tz::Tz,
    query: LogQuery,
    choices: Choices,
    page: Page<CallRecord>,
    message: Option<String>,
    limit: u32,
) -> CallLogPage {
    let user_names = choices.user_names();
    let phone_names = choices.phone_names();
    let rows = page
        .items
        .iter()
        .map(|c| CallRow {
            id: c.id.to_string(),
            time: view::local_time(c.started_at, tz),
            iso: view::iso(c.started_at),
            user: c
                .user_id
                .map(|u| u.to_string())
                .map(|u| user_names.get(&u).cloned().unwrap_or(u))
                .unwrap_or_default(),
            phone: phone_names
                .get(&c.phone_id.to_string())
                .cloned()
                .unwrap_or_else(|| c.phone_id.to_string()),
            direction: view::direction_label(c.direction),
            number: view::number_label(c),
            result: view::result_label(c.result),
            duration: view::duration(c.duration_secs),
            has_recording: c.recording.is_some(),
        })
        .collect();
    let preset = query.preset().unwrap_or(Preset::Any);
    let options = |choices: &[Choice], current: &Option<String>, any: &str| {
        let current = text(current);
        std::iter::once(Opt {
            value: String::new(),
            label: any.to_owned(),
            selected: current.is_empty(),
        })
        .chain(choices.iter().map(|c| Opt {
            value: c.id.clone(),
            label: c.label.clone(),
            selected: c.id == current,
        }))
        .collect::<Vec<_>>()
    };
    let words = |pairs: Vec<(&str, &str)>, current: &Option<String>, any: &str| {
        let choices: Vec<Choice> = pairs
            .into_iter()
            .map(|(id, label)| Choice {
                id: id.to_owned(),
                label: label.to_owned(),
                short: label.to_owned(),
            })
            .collect();
        options(&choices, current, any)
    };
    CallLogPage {
        chrome: Chrome::new(user, Section::Calls),
        time_zone: tz.name().to_owned(),
        users: options(&choices.users, &query.user_id, "Anyone"),
        teams: options(&choices.teams, &query.team_id, "Any team"),
        phones: options(&choices.phones, &query.phone_id, "Any phone"),
        directions: words(
            CallDirection::ALL
                .iter()
                .map(|d| (d.as_str(), view::direction_label(*d)))
                .collect(),
            &query.direction,
            "Any direction",
        ),
        results: words(
            CallResult::ALL
                .iter()
                .map(|r| (r.as_str(), view::result_label(Some(*r))))
                .collect(),
            &query.result,
            "Any result",
        ),
        windows: Preset::ALL
            .iter()
            .map(|p| Opt {
                value: p.as_str().to_owned(),
                label: p.label().to_owned(),
                selected: *p == preset,
            })
            .collect(),
        recordings: words(
            vec![
                ("true", "With a recording"),
                ("false", "Without a recording"),
            ],
            &query.has_recording,
            "With or without",
        ),
        paged: !text(&query.cursor).is_empty(),
        first_href: query.page_href(None),
        next_href: page
            .next_cursor
            .as_deref()
            .map(|c| query.page_href(Some(c))),
        export_href: query.export_href(),
        export_query: query.filter_query_string(),
        rows,
        message,
        limit,
        query,
    }
}

/// The filters of a console query string, checked: shared by the export.
pub fn filters_of(query: &LogQuery, user: &ConsoleUser) -> Result<FilterQuery, ApiError> {
    query.filter_query(view::viewer_zone(user), Utc::now())
}
