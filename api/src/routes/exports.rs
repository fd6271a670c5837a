//! Export jobs (docs/exports.md): `POST /v1/exports` queues a call log CSV
//! or a zip of recordings of a filter, which a worker writes; the requester
//! follows it with `GET /v1/exports/{id}` (or the `export` event and push
//! when it is ready) and downloads it until it expires. An export is its
//! requester's alone: anyone else, admins included, gets 404.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::ExportId;
use deskbind_core::repo::exports::{self, ExportRow};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::exports::{
    self as export_jobs, CreateError, ExportFilter, MAX_UNFINISHED_PER_USER,
};
use deskbind_core::wire::{ErrorCode, Export, ExportKind, ExportState, Page};
use futures_util::TryStreamExt as _;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::calls::FilterQuery;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, path_id};
use crate::state::AppState;

/// The filters an export takes: those of `GET /v1/calls`.
const FILTERS: [&str; 13] = [
    "user_id",
    "team_id",
    "phone_id",
    "direction",
    "result",
    "from",
    "until",
    "number",
    "has_recording",
    "min_duration_secs",
    "max_duration_secs",
    "disposition_id",
    "contact_id",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateExport {
    kind: String,
    #[serde(default)]
    filters: Option<Map<String, Value>>,
}

impl From<CreateError> for ApiError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::TooMany => ApiError::Conflict {
                code: ErrorCode::ExportLimitReached,
                detail: format!(
                    "at most {MAX_UNFINISHED_PER_USER} exports may be queued or running at once; wait for one to finish"
                ),
            },
            CreateError::Repo(e) => e.into(),
        }
    }
}

fn invalid(field: String, code: ErrorCode, detail: impl Into<String>) -> ApiError {
    ApiError::Validation {
        code,
        field,
        detail: detail.into(),
    }
}

/// The filters object as the call list's query values: strings, numbers
/// and booleans are taken as written, `null` as absent.
fn filter_query(filters: Map<String, Value>) -> ApiResult<FilterQuery> {
    let mut values = Map::new();
    for (name, value) in filters {
        if !FILTERS.contains(&name.as_str()) {
            return Err(invalid(
                format!("filters.{name}"),
                ErrorCode::UnknownField,
                format!("not a filter; the filters are {}", FILTERS.join(", ")),
            ));
        }
        let text = match value {
            Value::Null => continue,
            Value::String(s) => s,
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return Err(invalid(
                    format!("filters.{name}"),
                    ErrorCode::InvalidField,
                    "must be a string, a number or a boolean",
                ));
            }
        };
        values.insert(name, Value::String(text));
    }
    serde_json::from_value(Value::Object(values))
        .map_err(|e| invalid("filters".into(), ErrorCode::InvalidField, e.to_string()))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateExport>,
) -> ApiResult<HttpResponse> {
    let kind = ExportKind::parse(&body.kind).ok_or_else(|| {
        invalid(
            "kind".into(),
            ErrorCode::InvalidField,
            "must be calls_csv or recordings_zip",
        )
    })?;
    let filters = filter_query(body.filters.unwrap_or_default())?
        .parse()
        .map_err(|e| match e {
            ApiError::InvalidQuery { field, detail } => {
                invalid(format!("filters.{field}"), ErrorCode::InvalidField, detail)
            }
            ApiError::Validation {
                code,
                field,
                detail,
            } => invalid(format!("filters.{field}"), code, detail),
            other => other,
        })?;
    let (scope, filter) = state
        .db
        .run(move |conn| filters.resolve(conn, &auth))
        .await?;
    let services = state.services();
    let row = export_jobs::create(
        &services,
        auth.org_id,
        auth.user_id,
        kind,
        ExportFilter { scope, filter },
        now_micros(),
    )
    .await?;
    let export = row.to_wire()?;
    tracing::info!(export = %export.id, kind = %export.kind, "export queued");
    Ok(HttpResponse::Accepted()
        .insert_header((header::LOCATION, format!("/v1/exports/{}", export.id)))
        .json(export))
}

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
) -> ApiResult<web::Json<Page<Export>>> {
    let (after, fetch) = (page.after.clone(), page.fetch());
    let rows = state
        .db
        .run(move |conn| {
            exports::list_of_user(conn, auth.org_id, auth.user_id, after.as_deref(), fetch)
        })
        .await?;
    let page = page.finish(rows, |r| r.id.clone(), |r| r);
    Ok(web::Json(page.try_map(|r| r.to_wire())?))
}

/// The caller's own export `id`; 404 for anyone else's.
pub(crate) async fn own(state: &AppState, auth: &AuthUser, id: &str) -> ApiResult<ExportRow> {
    let id: ExportId = path_id(id)?;
    let (org, user) = (auth.org_id, auth.user_id);
    Ok(state
        .db
        .run(move |conn| exports::get_own(conn, org, user, id))
        .await?)
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Export>> {
    Ok(web::Json(own(&state, &auth, &id).await?.to_wire()?))
}

pub async fn download(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let row = own(&state, &auth, &id).await?;
    serve(&state, row).await
}

/// The export's file; shared with the console's download link.
pub async fn serve(state: &AppState, row: ExportRow) -> ApiResult<HttpResponse> {
    // Past its time the file is gone for the caller at once, whether or
    // not the worker's expiry pass has deleted it yet.
    let expired = row.expires_at.is_some_and(|at| at <= now_micros());
    match row.state()? {
        ExportState::Ready if !expired => {}
        ExportState::Ready | ExportState::Expired => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ExportExpired,
                detail: "the export expired and its file was deleted; ask for a new one".into(),
            });
        }
        state => {
            return Err(ApiError::Conflict {
                code: ErrorCode::ExportNotReady,
                detail: format!("the export is {state}, not ready"),
            });
        }
    }
    let (Some(key), Some(size)) = (row.storage_key.clone(), row.size_bytes) else {
        return Err(ApiError::internal(anyhow::anyhow!(
            "ready export {} has no file",
            row.id
        )));
    };
    if row.store_id.as_deref() != state.storage.store_id() {
        return Err(ApiError::RecordingOnOtherNode);
    }
    let (content_type, ext) = match row.kind()? {
        ExportKind::CallsCsv => ("text/csv; charset=utf-8", "csv"),
        ExportKind::RecordingsZip => ("application/zip", "zip"),
    };
    let body = state
        .storage
        .read(&key)
        .await
        .map_err(ApiError::internal)?
        .map_err(|e| {
            tracing::error!(error = %e, "export download broke off");
            actix_web::error::ErrorInternalServerError("export unreadable")
        });
    let day = deskbind_core::time::to_datetime(row.created_at).format("%Y%m%d");
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}-{day}.{ext}\"", row.kind),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .no_chunking(u64::try_from(size).unwrap_or(0))
        .streaming(body))
}
