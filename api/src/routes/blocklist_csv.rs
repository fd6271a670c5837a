//! `POST /v1/blocklist/import` and `GET /v1/blocklist/export.csv`: the
//! blocklist as CSV with the columns [`COLUMNS`] (an export imports back
//! as it is). The import answers one result per row and never fails the
//! batch for one bad row; at most `MAX_IMPORT_ROWS` rows.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::domain::FieldError;
use deskbind_core::domain::blocklist::{MAX_IMPORT_ROWS, NewEntry};
use deskbind_core::repo::blocklist::{self as entries, EntryRow};
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::blocklist::{self as blocklist, BlocklistError, Imported};
use deskbind_core::wire::{
    BlocklistImportOutcome, BlocklistImportResult, BlocklistImportRow, BlocklistKind,
    BlocklistPattern, BlocklistScope, CreateBlocklistEntry, ErrorCode, Problem,
};
use futures_util::StreamExt;

use super::blocklist::actor;
use super::call_export::inert;
use crate::error::{ApiError, ApiResult};
use crate::extract::AuthUser;
use crate::state::AppState;

pub const COLUMNS: [&str; 9] = [
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
/// The columns a file must have; the others may be left out.
const REQUIRED: [&str; 3] = ["kind", "pattern", "value"];
/// 1,000 rows of ordinary length fit easily.
pub const MAX_IMPORT_BYTES: usize = 512 * 1024;

pub async fn export(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<HttpResponse> {
    let rows = state
        .db
        .run(move |conn| {
            let reach = blocklist::reach_of(conn, auth.user_id, auth.role)?;
            entries::all(conn, auth.org_id, &reach).map_err(ApiError::from)
        })
        .await?;
    let mut out = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::new());
    out.write_record(COLUMNS).map_err(ApiError::internal)?;
    for row in &rows {
        out.write_record(fields(row)).map_err(ApiError::internal)?;
    }
    let body = out.into_inner().map_err(ApiError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"blocklist.csv\"",
        ))
        .body(body))
}

fn fields(row: &EntryRow) -> [String; 9] {
    let (team, user) = match row.scope {
        BlocklistScope::Organisation => (String::new(), String::new()),
        BlocklistScope::Team => (row.scope_id.clone(), String::new()),
        BlocklistScope::User => (String::new(), row.scope_id.clone()),
    };
    [
        row.kind.as_str().to_owned(),
        row.scope.as_str().to_owned(),
        team,
        user,
        row.pattern.as_str().to_owned(),
        row.value.clone(),
        inert(&row.label),
        inert(&row.reason),
        row.expires_at
            .map(|at| to_datetime(at).to_rfc3339())
            .unwrap_or_default(),
    ]
}

pub async fn import(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    mut body: web::Payload,
) -> ApiResult<web::Json<BlocklistImportResult>> {
    if !is_csv(&req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| invalid_csv(format!("body could not be read: {e}")))?;
        if bytes.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_IMPORT_BYTES,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(web::Json(import_csv(&state, &auth, &bytes).await?))
}

/// Imports a CSV file as `POST /v1/blocklist/import` does, for `auth`
/// (the console's import form sends the file it was given).
pub async fn import_csv(
    state: &AppState,
    auth: &AuthUser,
    bytes: &[u8],
) -> ApiResult<BlocklistImportResult> {
    let now = now_micros();
    let parsed = parse_rows(bytes, auth.org_id, now)?;
    let outcomes = blocklist::import(&state.db, auth.org_id, parsed, actor(auth), now).await?;
    let rows = outcomes
        .into_iter()
        .zip(1..)
        .map(|(outcome, row)| import_row(row, outcome))
        .collect::<ApiResult<Vec<_>>>()?;
    tracing::info!(by = %auth.user_id, rows = rows.len(), "blocklist imported");
    Ok(BlocklistImportResult { rows })
}

fn is_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/csv"))
}

/// Each data row as a checked entry or the field error that refused it.
/// The header names the columns; a missing required column or too many
/// rows refuse the whole file (nothing is imported).
fn parse_rows(
    body: &[u8],
    org: deskbind_core::ids::OrgId,
    now: i64,
) -> ApiResult<Vec<Result<NewEntry, FieldError>>> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(body);
    let header: HashMap<String, usize> = reader
        .headers()
        .map_err(|e| invalid_csv(format!("the header row cannot be read: {e}")))?
        .iter()
        .enumerate()
        .map(|(i, name)| (name.trim().to_ascii_lowercase(), i))
        .collect();
    if let Some(missing) = REQUIRED.iter().find(|c| !header.contains_key(**c)) {
        return Err(ApiError::Validation {
            code: ErrorCode::MissingField,
            field: (*missing).into(),
            detail: format!("the header row must name the column {missing:?}"),
        });
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() == MAX_IMPORT_ROWS {
            return Err(ApiError::Validation {
                code: ErrorCode::TooMany,
                field: "rows".into(),
                detail: format!("at most {MAX_IMPORT_ROWS} rows per import"),
            });
        }
        rows.push(match record {
            Ok(record) => {
                let cell = |name: &str| -> String {
                    header
                        .get(name)
                        .and_then(|i| record.get(*i))
                        .map_or("", str::trim)
                        .to_owned()
                };
                row_entry(&cell, org, now)
            }
            Err(e) => Err(FieldError::new(
                "row",
                ErrorCode::InvalidField,
                format!("not a CSV row: {e}"),
            )),
        });
    }
    Ok(rows)
}

fn invalid_csv(detail: String) -> ApiError {
    ApiError::Validation {
        code: ErrorCode::InvalidBody,
        field: "body".into(),
        detail,
    }
}

/// One row as the JSON `POST /v1/blocklist` takes, then checked the same
/// way. An empty `scope` is the organisation's.
fn row_entry(
    cell: &dyn Fn(&str) -> String,
    org: deskbind_core::ids::OrgId,
    now: i64,
) -> Result<NewEntry, FieldError> {
    fn listed<T>(
        field: &'static str,
        raw: &str,
        parse: fn(&str) -> Option<T>,
    ) -> Result<T, FieldError> {
        parse(raw).ok_or_else(|| {
            FieldError::new(
                field,
                ErrorCode::InvalidField,
                format!("{raw:?} is not one of the listed values"),
            )
        })
    }
    fn id<T: std::str::FromStr>(field: &'static str, raw: &str) -> Result<Option<T>, FieldError> {
        if raw.is_empty() {
            return Ok(None);
        }
        raw.parse()
            .map(Some)
            .map_err(|_| FieldError::new(field, ErrorCode::InvalidField, "must be an id"))
    }
    let scope = match cell("scope").as_str() {
        "" => BlocklistScope::Organisation,
        raw => listed("scope", raw, BlocklistScope::parse)?,
    };
    let expires_at = match cell("expires_at").as_str() {
        "" => None,
        raw => Some(
            chrono::DateTime::parse_from_rfc3339(raw)
                .map_err(|_| {
                    FieldError::new(
                        "expires_at",
                        ErrorCode::InvalidTime,
                        "must be an RFC 3339 time",
                    )
                })?
                .to_utc(),
        ),
    };
    let body = CreateBlocklistEntry {
        kind: listed("kind", &cell("kind"), BlocklistKind::parse)?,
        scope,
        team_id: id("team_id", &cell("team_id"))?,
        user_id: id("user_id", &cell("user_id"))?,
        pattern: listed("pattern", &cell("pattern"), BlocklistPattern::parse)?,
        value: cell("value"),
        label: cell("label"),
        reason: cell("reason"),
        expires_at,
    };
    NewEntry::parse(org, &body, now)
}

fn import_row(row: u32, outcome: Imported) -> ApiResult<BlocklistImportRow> {
    let done = |outcome, entry: EntryRow| BlocklistImportRow {
        row,
        outcome,
        id: Some(entry.id),
        code: None,
        field: None,
        detail: None,
    };
    Ok(match outcome {
        Imported::Created(entry) => done(BlocklistImportOutcome::Created, entry),
        Imported::Unchanged(entry) => done(BlocklistImportOutcome::Unchanged, entry),
        Imported::Rejected(BlocklistError::Repo(e)) => return Err(e.into()),
        Imported::Rejected(refusal) => {
            let Problem {
                code,
                field,
                detail,
                ..
            } = ApiError::from(refusal).problem();
            BlocklistImportRow {
                row,
                outcome: BlocklistImportOutcome::Rejected,
                id: None,
                code: Some(code),
                field,
                detail,
            }
        }
    })
}
