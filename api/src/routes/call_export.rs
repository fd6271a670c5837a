//! `GET /v1/calls/export.csv`: the whole filtered call list as CSV, newest
//! first, streamed page by page so neither side holds the full set. The
//! filters and scope are those of `GET /v1/calls`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::repo::call_records::{CallFilter, ListCursor, Scope};
use deskbind_core::usecases::call_csv;
use futures_util::stream;

use super::calls::{FilterQuery, Filters};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// Rows fetched per database round trip.
const EXPORT_PAGE: i64 = 1000;

struct Export {
    state: web::Data<AppState>,
    org: deskbind_core::ids::OrgId,
    reader: deskbind_core::ids::UserId,
    scope: Scope,
    filter: CallFilter,
    cursor: Option<ListCursor>,
    header_sent: bool,
    done: bool,
}

pub async fn csv(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(query): Query<FilterQuery>,
) -> ApiResult<HttpResponse> {
    respond(state, auth, query.parse()?).await
}

/// The CSV of every call `filters` select within the caller's scope:
/// `GET /v1/calls/export.csv` and the console's export.
pub async fn respond(
    state: web::Data<AppState>,
    auth: AuthUser,
    filters: Filters,
) -> ApiResult<HttpResponse> {
    let (scope, filter) = state
        .db
        .run(move |conn| filters.resolve(conn, &auth))
        .await?;
    let export = Export {
        state: state.clone(),
        org: auth.org_id,
        reader: auth.user_id,
        scope,
        filter,
        cursor: None,
        header_sent: false,
        done: false,
    };
    Ok(csv_response(export, "calls.csv"))
}

/// A CSV download read page by page: each page is one chunk of the body.
pub(crate) trait CsvPages: Sized + 'static {
    /// Whether the last page has been sent (or an error ended the file).
    fn finished(&self) -> bool;
    /// Ends the file after a failed page.
    fn stop(&mut self);
    /// The CSV text of the next page (with the header row first).
    fn next_chunk(&mut self) -> impl std::future::Future<Output = Result<web::Bytes, ApiError>>;
}

/// The streamed `200 text/csv` attachment named `filename` of `pages`.
/// A failure once the file has started can only end it early.
pub(crate) fn csv_response(pages: impl CsvPages, filename: &str) -> HttpResponse {
    let body = stream::unfold(pages, |mut pages| async move {
        if pages.finished() {
            return None;
        }
        let chunk = pages.next_chunk().await;
        if chunk.is_err() {
            pages.stop();
        }
        Some((chunk, pages))
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body)
}

impl CsvPages for Export {
    fn finished(&self) -> bool {
        self.done
    }

    fn stop(&mut self) {
        self.done = true;
    }

    async fn next_chunk(&mut self) -> Result<web::Bytes, ApiError> {
        let (org, reader, scope, filter, cursor) = (
            self.org,
            self.reader,
            self.scope.clone(),
            self.filter.clone(),
            self.cursor.clone(),
        );
        let page = self
            .state
            .db
            .run(move |conn| {
                call_csv::page(
                    conn,
                    org,
                    reader,
                    &scope,
                    &filter,
                    cursor.as_ref(),
                    EXPORT_PAGE,
                )
            })
            .await
            .inspect_err(|e| tracing::error!(error = %e, "export stopped"))?;
        self.done = page.next.is_none();
        self.cursor = page.next;
        let mut bytes = Vec::new();
        if !self.header_sent {
            bytes = call_csv::header()?;
            self.header_sent = true;
        }
        bytes.extend_from_slice(&page.bytes);
        Ok(web::Bytes::from(bytes))
    }
}

/// Free text made safe for spreadsheets (`call_csv::inert`).
pub(crate) use deskbind_core::usecases::call_csv::inert;
