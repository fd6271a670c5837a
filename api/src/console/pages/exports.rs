//! `/exports`: the signed-in user's exports (docs/exports.md) with their
//! progress and download links; `POST /exports` asks for one with the
//! call log's filters (the call log's form carries them), through the
//! same use case as `POST /v1/exports`.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use deskbind_core::repo::exports::{self as export_rows, ExportRow};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::exports::{self, ExportFilter};
use deskbind_core::wire::{ExportKind, ExportState};
use serde::Deserialize;

use super::calls::filters_of;
use super::calls::form::LogQuery;
use crate::console::chrome::{Chrome, Section, see_other};
use crate::console::csrf::ConsoleForm;
use crate::console::error::{ConsoleError, ConsoleResult};
use crate::console::session::ConsoleUser;
use crate::console::time::local_time;
use crate::error::ApiError;
use crate::routes::exports::{own, serve};
use crate::state::AppState;

/// Exports listed on the page.
const SHOWN: i64 = 50;

struct Row {
    id: String,
    asked: String,
    what: &'static str,
    state: String,
    error: Option<String>,
    progress: String,
    size: String,
    expires: String,
    ready: bool,
}

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    chrome: Chrome,
    rows: Vec<Row>,
    more: bool,
    notice: Option<String>,
    message: Option<String>,
}

fn row(e: &ExportRow, tz: chrono_tz::Tz) -> Result<Row, ApiError> {
    let export = e.to_wire()?;
    Ok(Row {
        id: export.id.to_string(),
        asked: local_time(export.created_at, tz),
        what: match export.kind {
            ExportKind::CallsCsv => "Call log (CSV)",
            ExportKind::RecordingsZip => "Recordings (zip)",
        },
        state: export.state.to_string(),
        error: export.error.clone(),
        progress: match export.items_total {
            Some(total) => format!("{} of {total}", export.items_done),
            None => export.items_done.to_string(),
        },
        size: export
            .size_bytes
            .map(|b| format!("{:.1} MB", b as f64 / 1_000_000.0))
            .unwrap_or_default(),
        expires: export
            .expires_at
            .map(|t| local_time(t, tz))
            .unwrap_or_default(),
        ready: export.state == ExportState::Ready,
    })
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    notice: Option<String>,
}

pub async fn page(
    state: web::Data<AppState>,
    user: ConsoleUser,
    query: web::Query<ListQuery>,
) -> ConsoleResult<HttpResponse> {
    render(
        &state,
        &user,
        StatusCode::OK,
        query.into_inner().notice,
        None,
    )
    .await
}

async fn render(
    state: &AppState,
    user: &ConsoleUser,
    status: StatusCode,
    notice: Option<String>,
    message: Option<String>,
) -> ConsoleResult<HttpResponse> {
    let (org, me) = (user.auth.org_id, user.auth.user_id);
    let mut rows = state
        .db
        .run(move |conn| export_rows::list_of_user(conn, org, me, None, SHOWN + 1))
        .await
        .map_err(ApiError::from)?;
    let more = rows.len() as i64 > SHOWN;
    rows.truncate(SHOWN as usize);
    let tz: chrono_tz::Tz = user.time_zone.parse().unwrap_or(chrono_tz::UTC);
    let page = ExportsPage {
        chrome: Chrome::new(user, Section::Calls),
        rows: rows.iter().map(|r| row(r, tz)).collect::<Result<_, _>>()?,
        more,
        notice: notice.filter(|n| n == "queued").map(|_| {
            "Export queued. The worker writes it; this page shows its progress.".to_owned()
        }),
        message,
    };
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(page.render().map_err(ConsoleError::from)?))
}

#[derive(Debug, Deserialize)]
pub struct NewExport {
    #[serde(default)]
    kind: String,
    /// The call log's filters, as its query string.
    #[serde(default)]
    query: String,
}

pub async fn create(
    state: web::Data<AppState>,
    form: ConsoleForm<NewExport>,
) -> ConsoleResult<HttpResponse> {
    let (user, form) = (form.user, form.form);
    let Some(kind) = ExportKind::parse(&form.kind) else {
        return Err(ConsoleError::invalid(
            "kind",
            "choose a CSV or a zip of recordings",
        ));
    };
    let query = LogQuery::parse(&form.query)?;
    let filters = filters_of(&query, &user)?.parse()?;
    let auth = user.auth;
    let (scope, filter) = state
        .db
        .run(move |conn| filters.resolve(conn, &auth))
        .await
        .map_err(ApiError::from)?;
    let created = exports::create(
        &state.services(),
        auth.org_id,
        auth.user_id,
        kind,
        ExportFilter { scope, filter },
        now_micros(),
    )
    .await;
    match created {
        Ok(_) => Ok(see_other("/exports?notice=queued")),
        Err(exports::CreateError::TooMany) => {
            render(
                &state,
                &user,
                StatusCode::CONFLICT,
                None,
                Some(format!(
                    "You already have {} exports queued or running. Wait for one to finish.",
                    exports::MAX_UNFINISHED_PER_USER
                )),
            )
            .await
        }
        Err(e) => Err(ApiError::from(e).into()),
    }
}

pub async fn download(
    state: web::Data<AppState>,
    user: ConsoleUser,
    id: web::Path<String>,
) -> ConsoleResult<HttpResponse> {
    let row = own(&state, &user.auth, &id).await?;
    Ok(serve(&state, row).await?)
}
