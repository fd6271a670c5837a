//! `POST /v1/contacts/import` (admins and managers): up to
//! [`MAX_IMPORT_ROWS`] rows as JSON (`{"rows": [...]}`) or CSV (`text/csv`
//! with a header row), one result per row. A row that cannot be read is
//! rejected alone; the request fails only when its shape does (not JSON,
//! not CSV, an unknown column, too many rows).

use std::collections::BTreeMap;

use actix_web::http::header;
use actix_web::{HttpRequest, web};
use deskbind_core::domain::contacts::ContactFields;
use deskbind_core::ids::{OrgId, UserId};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::contact_import::{self, ImportRow};
use deskbind_core::wire::{ErrorCode, ImportContactRow, ImportResults, MAX_IMPORT_ROWS, Role};
use futures_util::StreamExt as _;
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Query, parse_json};
use crate::state::AppState;

/// The largest import body: 1000 rows of about 2 KiB.
pub const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;

/// CSV columns the export writes and an import ignores.
const EXPORT_ONLY: [&str; 5] = ["id", "source", "score", "created_at", "updated_at"];

#[derive(Debug, Deserialize)]
pub struct ImportQuery {
    /// ISO 3166-1 alpha-2 region for national numbers.
    region: Option<String>,
}

/// The JSON body, rows unread: each row is read on its own so that one
/// bad row is rejected alone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonImport {
    rows: Vec<serde_json::Value>,
}

pub async fn import(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    Query(query): Query<ImportQuery>,
    payload: web::Payload,
) -> ApiResult<web::Json<ImportResults>> {
    if auth.role == Role::Salesperson {
        return Err(ApiError::forbidden());
    }
    let csv = match content_type(&req).as_str() {
        "application/json" => false,
        "text/csv" => true,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    let body = read_body(payload).await?;
    let rows = if csv {
        csv_rows(&body)?
    } else {
        json_rows(&body)?
    };
    let results = import_rows(&state, auth.org_id, rows, query.region).await?;
    Ok(web::Json(results))
}

/// Imports a CSV file as `POST /v1/contacts/import` does (the console's
/// import form sends the file it was given); the caller checks the role.
pub async fn import_csv(
    state: &AppState,
    org: OrgId,
    body: &[u8],
    region: Option<String>,
) -> ApiResult<ImportResults> {
    import_rows(state, org, csv_rows(body)?, region).await
}

async fn import_rows(
    state: &AppState,
    org: OrgId,
    rows: Vec<Result<ImportContactRow, RowError>>,
    region: Option<String>,
) -> ApiResult<ImportResults> {
    if rows.is_empty() || rows.len() > MAX_IMPORT_ROWS {
        return Err(ApiError::Validation {
            code: ErrorCode::InvalidBatchSize,
            field: "rows".into(),
            detail: format!("send 1 to {MAX_IMPORT_ROWS} rows"),
        });
    }
    let rows = rows
        .into_iter()
        .map(|row| match row {
            Ok(row) => ImportRow {
                fields: ContactFields::from_import(&row, region.as_deref()),
                owner: row.owner_id,
            },
            Err(e) => ImportRow {
                fields: Err(deskbind_core::domain::FieldError::new(
                    e.field, e.code, e.message,
                )),
                owner: None,
            },
        })
        .collect();
    let results = contact_import::import(&state.db, org, rows, now_micros()).await?;
    Ok(ImportResults { results })
}

/// Why one row could not be read.
#[derive(Debug)]
struct RowError {
    field: &'static str,
    code: ErrorCode,
    message: String,
}

fn content_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

async fn read_body(mut payload: web::Payload) -> ApiResult<web::BytesMut> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::BadRequest {
            code: ErrorCode::UploadInterrupted,
            detail: format!("body could not be read: {e}"),
        })?;
        if body.len() + chunk.len() > MAX_IMPORT_BYTES {
            return Err(ApiError::PayloadTooLarge {
                limit: MAX_IMPORT_BYTES,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

fn json_rows(body: &[u8]) -> ApiResult<Vec<Result<ImportContactRow, RowError>>> {
    let JsonImport { rows } = parse_json(body)?;
    if rows.len() > MAX_IMPORT_ROWS {
        return Ok(rows.into_iter().map(|_| Err(too_many())).collect());
    }
    Ok(rows
        .into_iter()
        .map(|value| {
            let bytes = serde_json::to_vec(&value).map_err(|e| RowError {
                field: "rows",
                code: ErrorCode::InvalidField,
                message: e.to_string(),
            })?;
            parse_json::<ImportContactRow>(&bytes).map_err(|e| match e {
                ApiError::Validation {
                    code,
                    field,
                    detail,
                } => RowError {
                    field: leak_free_field(&field),
                    code,
                    message: detail,
                },
                other => RowError {
                    field: "rows",
                    code: other.code(),
                    message: other.to_string(),
                },
            })
        })
        .collect())
}

fn too_many() -> RowError {
    RowError {
        field: "rows",
        code: ErrorCode::InvalidBatchSize,
        message: format!("at most {MAX_IMPORT_ROWS} rows"),
    }
}

/// A row field's name as a `'static` text: one of the row's own fields, or
/// `rows` for anything else (an unknown field's name is in the message).
fn leak_free_field(field: &str) -> &'static str {
    const FIELDS: [&str; 10] = [
        "external_id",
        "name",
        "company",
        "notes",
        "email",
        "numbers",
        "tags",
        "owner_id",
        "custom_fields",
        "region",
    ];
    let head = field.split(['.', '[']).next().unwrap_or_default();
    FIELDS.into_iter().find(|f| *f == head).unwrap_or("rows")
}

/// Reads CSV rows by their header: the row fields, `numbers` and `tags`
/// separated by `;`, custom fields as `custom.<key>` columns or as a JSON
/// object in `custom_fields`; the export's own columns are ignored.
fn csv_rows(body: &[u8]) -> ApiResult<Vec<Result<ImportContactRow, RowError>>> {
    let invalid = |detail: String| ApiError::Validation {
        code: ErrorCode::InvalidCsv,
        field: "body".into(),
        detail,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(body);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("the header row cannot be read: {e}")))?
        .iter()
        .map(str::to_owned)
        .collect();
    for column in &header {
        let known = leak_free_field(column) != "rows" && !column.contains('.')
            || EXPORT_ONLY.contains(&column.as_str())
            || column
                .strip_prefix("custom.")
                .is_some_and(|k| !k.is_empty());
        if !known {
            return Err(invalid(format!(
                "unknown column {column:?}: use external_id, name, company, notes, email, \
                 numbers, tags, owner_id, custom_fields, custom.<key> or region"
            )));
        }
    }
    let mut rows = Vec::new();
    for record in reader.records() {
        if rows.len() >= MAX_IMPORT_ROWS {
            rows.push(Err(too_many()));
            break;
        }
        rows.push(match record {
            Err(e) => Err(RowError {
                field: "body",
                code: ErrorCode::InvalidCsv,
                message: e.to_string(),
            }),
            Ok(record) if record.len() != header.len() => Err(RowError {
                field: "body",
                code: ErrorCode::InvalidCsv,
                message: format!("{} values for {} columns", record.len(), header.len()),
            }),
            Ok(record) => csv_row(&header, &record),
        });
    }
    Ok(rows)
}

fn csv_row(header: &[String], record: &csv::StringRecord) -> Result<ImportContactRow, RowError> {
    let mut row = ImportContactRow::default();
    let list = |value: &str| -> Vec<String> {
        value
            .split(';')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    };
    for (column, value) in header.iter().zip(record.iter()) {
        let text = (!value.is_empty()).then(|| value.to_owned());
        match column.as_str() {
            "external_id" => row.external_id = text,
            "name" => row.name = text,
            "company" => row.company = text,
            "notes" => row.notes = text,
            "email" => row.email = text,
            "region" => row.region = text,
            "numbers" => row.numbers = list(value),
            "tags" => row.tags = list(value),
            "owner_id" if !value.is_empty() => {
                row.owner_id = Some(value.parse::<UserId>().map_err(|_| RowError {
                    field: "owner_id",
                    code: ErrorCode::InvalidField,
                    message: "must be a user id".into(),
                })?);
            }
            "custom_fields" if !value.is_empty() => {
                let map: BTreeMap<String, String> =
                    serde_json::from_str(value).map_err(|e| RowError {
                        field: "custom_fields",
                        code: ErrorCode::InvalidField,
                        message: format!("must be a JSON object of strings: {e}"),
                    })?;
                row.custom_fields.extend(map);
            }
            other => {
                if let Some(key) = other.strip_prefix("custom.")
                    && !value.is_empty()
                {
                    row.custom_fields.insert(key.to_owned(), value.to_owned());
                }
            }
        }
    }
    Ok(row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_read_lists_and_custom_columns_and_refuse_unknown_columns() {
        let body = b"external_id,name,numbers,tags,custom.tier,score\n\
                     crm-1,Ann,+4930901820; +16502530000,vip;lead,gold,7\n\
                     crm-2,Bob\n";
        let rows = csv_rows(body).unwrap_or_else(|e| panic!("{e}"));
        let first = rows[0].as_ref().unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(first.numbers, vec!["+4930901820", "+16502530000"]);
        assert_eq!(first.tags, vec!["vip", "lead"]);
        assert_eq!(
            first.custom_fields.get("tier").map(String::as_str),
            Some("gold")
        );
        assert!(matches!(&rows[1], Err(e) if e.code == ErrorCode::InvalidCsv));
        assert!(csv_rows(b"name,colour\nAnn,red\n").is_err());
    }
}
