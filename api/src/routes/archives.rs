//! Call archives (docs/retention.md "Archives"): admins list the months
//! the retention purge archived and download one as gzip-compressed NDJSON
//! (its parts joined: concatenated gzip members are one gzip stream). API
//! keys never reach these routes.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::ids::{OrgId, UserId};
use deskbind_core::repo::call_archives;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::archive_downloads;
use deskbind_core::wire::{CallArchiveList, is_archive_month};
use futures_util::{StreamExt as _, TryStreamExt as _};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, MonthPageParams};
use crate::state::AppState;

pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    MonthPageParams(page): MonthPageParams,
) -> ApiResult<web::Json<CallArchiveList>> {
    auth.require_admin()?;
    let org = auth.org_id;
    let (before, fetch) = (page.after.clone(), page.fetch());
    let months = state
        .db
        .run(move |conn| call_archives::months(conn, org, before.as_deref(), fetch))
        .await?;
    let page = page.finish(months, |m| m.month.clone(), |m| m);
    Ok(web::Json(CallArchiveList {
        archiving: state.settings.retention_archive,
        items: page.items,
        next_cursor: page.next_cursor,
    }))
}

pub async fn download(
    state: web::Data<AppState>,
    auth: AuthUser,
    month: web::Path<String>,
) -> ApiResult<HttpResponse> {
    auth.require_admin()?;
    serve_month(&state, auth.org_id, auth.user_id, month.into_inner()).await
}

/// The organisation's archive of `month` as one gzip file, its download
/// audited; 404 when it has none. Shared with the console's download
/// link; the caller checks `reader` is an admin.
pub async fn serve_month(
    state: &AppState,
    org: OrgId,
    reader: UserId,
    month: String,
) -> ApiResult<HttpResponse> {
    // Not a month: no archive by that name.
    if !is_archive_month(&month) {
        return Err(ApiError::NotFound);
    }
    let wanted = month.clone();
    let parts = state
        .db
        .run(move |conn| call_archives::parts_of_month(conn, org, &wanted))
        .await?;
    if parts.is_empty() {
        return Err(ApiError::NotFound);
    }
    // A part on a local disk this node does not share (or on a local disk
    // while this node uses S3) cannot be served here.
    let here = state.storage.store_id();
    if parts.iter().any(|p| p.store_id.as_deref() != here) {
        return Err(ApiError::RecordingOnOtherNode);
    }
    // Every part is checked before the answer starts: once the 200 and its
    // length are sent, a missing part could only cut the file short.
    for part in &parts {
        let size = state
            .storage
            .size(&part.storage_key)
            .await
            .map_err(ApiError::internal)?;
        if size != u64::try_from(part.size_bytes).ok() {
            return Err(ApiError::internal(anyhow::anyhow!(
                "archive part {} of {month} is {size:?} bytes in storage, {} recorded",
                part.id,
                part.size_bytes
            )));
        }
    }
    let total: u64 = parts
        .iter()
        .map(|p| u64::try_from(p.size_bytes).unwrap_or_default())
        .sum();
    let records: i64 = parts.iter().map(|p| p.records).sum();
    archive_downloads::record(
        &state.db,
        org,
        reader,
        month.clone(),
        records,
        total,
        now_micros(),
    )
    .await?;
    let storage = state.storage.clone();
    let keys: Vec<String> = parts.into_iter().map(|p| p.storage_key).collect();
    let body = futures_util::stream::iter(keys)
        .then(move |key| {
            let storage = storage.clone();
            async move { storage.read(&key).await }
        })
        .try_flatten()
        .map_err(|e| {
            tracing::error!(error = %e, "call archive download broke off");
            actix_web::error::ErrorInternalServerError("archive unreadable")
        });
    tracing::info!(org = %org, %month, bytes = total, "call archive download starts");
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/gzip"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"calls-{month}.ndjson.gz\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        // Already compressed.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .no_chunking(total)
        .streaming(body))
}
