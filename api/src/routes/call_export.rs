//! `GET /v1/calls/export.csv`: the whole filtered call list as CSV, newest
//! first, streamed page by page so neither side holds the full set. The
//! filters and scope are those of `GET /v1/calls`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::ContactId;
use deskbind_core::repo::call_records::{self, CallFilter, CallRecordRow, ListCursor, Scope};
use deskbind_core::repo::users;
use deskbind_core::time::to_datetime;
use deskbind_core::usecases::record_reads;
use deskbind_core::wire::ContactRef;
use futures_util::stream;

use super::calls::{FilterQuery, Filters};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// Rows fetched per database round trip.
const EXPORT_PAGE: i64 = 1000;

const COLUMNS: [&str; 19] = [
    "id",
    "started_at",
    "answered_at",
    "ended_at",
    "direction",
    "result",
    "duration_secs",
    "user_id",
    "user_email",
    "phone_id",
    "call_id",
    "local_number",
    "remote_number",
    "remote_number_e164",
    "dial_id",
    "has_recording",
    "reported_by",
    "contact_id",
    "contact_name",
];

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
        let (rows, emails, contacts) = self
            .state
            .db
            .run(move |conn| {
                let mut rows =
                    call_records::list(conn, org, &scope, &filter, cursor.as_ref(), EXPORT_PAGE)?;
                // Another user's private call: its number, dial and recording
                // stay out of the file (the cursor is unaffected: it is the
                // start time and id).
                record_reads::redact_for(conn, reader, &mut rows)?;
                let mut ids: Vec<String> = rows.iter().filter_map(|r| r.user_id.clone()).collect();
                ids.sort_unstable();
                ids.dedup();
                let emails = users::emails_of(conn, &ids)?;
                let contacts = record_reads::linked_contacts(conn, reader, &rows)?;
                Ok::<_, ApiError>((rows, emails, contacts))
            })
            .await
            .inspect_err(|e| tracing::error!(error = %e, "export stopped"))?;
        if (rows.len() as i64) < EXPORT_PAGE {
            self.done = true;
        }
        self.cursor = rows.last().map(ListCursor::of);
        let mut out = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(Vec::new());
        if !self.header_sent {
            out.write_record(COLUMNS).map_err(ApiError::internal)?;
            self.header_sent = true;
        }
        for row in &rows {
            let email = row
                .user_id
                .as_ref()
                .and_then(|u| emails.get(u))
                .map_or("", String::as_str);
            let contact = row
                .contact_id
                .as_deref()
                .and_then(|id| id.parse::<ContactId>().ok())
                .and_then(|id| contacts.get(&id));
            out.write_record(fields(row, email, contact))
                .map_err(ApiError::internal)?;
        }
        let bytes = out
            .into_inner()
            .map_err(|e| ApiError::internal(e.into_error()))?;
        Ok(web::Bytes::from(bytes))
    }
}

fn fields(row: &CallRecordRow, email: &str, contact: Option<&ContactRef>) -> [String; 19] {
    let time = |t: Option<i64>| t.map(|t| to_datetime(t).to_rfc3339()).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    let reported_by = match (
        row.phone_reported_at.is_some(),
        row.app_reported_at.is_some(),
    ) {
        (true, true) => "phone+app",
        (true, false) => "phone",
        _ => "app",
    };
    [
        row.id.clone(),
        time(Some(row.started_at)),
        time(row.answered_at),
        time(row.ended_at),
        row.direction.clone(),
        text(&row.result),
        row.duration_secs.map(|d| d.to_string()).unwrap_or_default(),
        text(&row.user_id),
        inert(email),
        row.phone_id.clone(),
        inert(&row.call_id),
        inert(&text(&row.local_number)),
        inert(&row.remote_number),
        text(&row.remote_e164),
        text(&row.dial_id),
        row.recording_id.is_some().to_string(),
        reported_by.to_owned(),
        contact.map(|c| c.id.to_string()).unwrap_or_default(),
        inert(&contact.and_then(|c| c.name.clone()).unwrap_or_default()),
    ]
}

/// Phones send these fields as free text; a spreadsheet would run one that
/// starts like a formula (OWASP "CSV injection"), so such a value gets a
/// leading apostrophe. A plain phone number such as +49 30 123456 or
/// -123 (an extension) is left as it is.
pub(crate) fn inert(value: &str) -> String {
    let looks_like_a_number = value
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | ' ' | '(' | ')' | '.' | '/'));
    let risky = match value.chars().next() {
        Some('=' | '@' | '\t' | '\r') => true,
        Some('+' | '-') => !looks_like_a_number,
        _ => false,
    };
    if risky {
        format!("'{value}")
    } else {
        value.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formulas_are_neutralised_and_numbers_kept() {
        assert_eq!(inert("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(inert("+SUM(A1)"), "'+SUM(A1)");
        assert_eq!(inert("@cmd"), "'@cmd");
        assert_eq!(inert("+4930123456"), "+4930123456");
        assert_eq!(inert("030 123456"), "030 123456");
        assert_eq!(inert("-2+3+cmd|' /C calc'!A0"), "'-2+3+cmd|' /C calc'!A0");
        assert_eq!(inert("+1+cmd|x"), "'+1+cmd|x");
        assert_eq!(inert("+49 (30) 123-456"), "+49 (30) 123-456");
    }
}
