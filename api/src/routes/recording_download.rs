//! `GET /v1/calls/{id}/recording`, for whoever may see the call. A local
//! store serves the file here, with Range (206, 416) and If-Range per
//! RFC 9110 (api/src/byte_ranges.rs), an ETag (the SHA-256) and
//! Last-Modified (the upload time); S3 answers 302 to a short-lived
//! presigned URL, and the bucket honours Range itself.

use std::io::SeekFrom;
use std::time::{Duration, UNIX_EPOCH};

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::ids::{CallRecordId, RecordingId};
use deskbind_core::repo::recordings::{self, RecordingRow};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

use super::calls::unredacted_row;
use crate::byte_ranges::{self, Answer, Validators};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, RecordingsRead, Scoped, path_id};
use crate::state::AppState;

pub async fn download(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<RecordingsRead>,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id: CallRecordId = path_id(&id)?;
    serve(&state, auth, id, &req, Disposition::Inline).await
}

/// How the browser should treat the file: play it, or save it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disposition {
    Inline,
    Attachment,
}

impl Disposition {
    fn as_str(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Attachment => "attachment",
        }
    }
}

/// The recording of call `id` if `auth` may see the call: the local file
/// (Range, conditional requests) or a redirect to the object store. Shared
/// by the JSON API and the console's player.
pub async fn serve(
    state: &web::Data<AppState>,
    auth: AuthUser,
    id: CallRecordId,
    req: &HttpRequest,
    disposition: Disposition,
) -> ApiResult<HttpResponse> {
    let recording = state
        .db
        .run(move |conn| {
            // Another user's private call has no recording for this reader
            // (404 as for a call without one, so nothing leaks).
            let call = unredacted_row(conn, &auth, id)?;
            let recording_id = call.recording_id.ok_or(ApiError::NotFound)?;
            let recording_id: RecordingId = recording_id.parse().map_err(ApiError::internal)?;
            Ok::<_, ApiError>(recordings::get(conn, auth.org_id, recording_id)?)
        })
        .await?;
    if let Some(path) = state.storage.local_path(&recording.storage_key) {
        return serve_local(state, &recording, &path, req, disposition).await;
    }
    let format = recording.format()?;
    let ttl = Duration::from_secs(state.settings.recording_download_url_ttl_secs);
    let url = state
        .storage
        .presign_get(&recording.storage_key, ttl, format.content_type())
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("no local path and no presigned URL")))?;
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, url))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .finish())
}

async fn serve_local(
    state: &AppState,
    recording: &RecordingRow,
    path: &std::path::Path,
    req: &HttpRequest,
    disposition: Disposition,
) -> ApiResult<HttpResponse> {
    // A recording without a store id was saved before stores had ids: it
    // can only be this node's own file (missing is then a real fault).
    let elsewhere = recording
        .store_id
        .as_deref()
        .is_some_and(|id| Some(id) != state.storage.store_id());
    let mut file = match tokio::fs::File::open(path).await {
        Ok(file) => file,
        // Saved by a node whose disk this node does not share.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && elsewhere => {
            return Err(ApiError::RecordingOnOtherNode);
        }
        Err(e) => return Err(ApiError::internal(e)),
    };
    let format = recording.format()?;
    let len = u64::try_from(recording.size_bytes).map_err(ApiError::internal)?;
    let etag = format!("\"{}\"", recording.sha256);
    let uploaded = UNIX_EPOCH
        + Duration::from_micros(u64::try_from(recording.uploaded_at).unwrap_or_default());
    let last_modified = HttpDate::from(uploaded).to_string();
    let headers = req.headers();
    let text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let date = |name| text(name).and_then(|v| v.parse::<HttpDate>().ok());
    let modified = HttpDate::from(uploaded);
    // RFC 9110 §13.2.2: the preconditions in order, each only without the
    // one before it.
    let precondition_failed = match text(header::IF_MATCH) {
        Some(tags) => !match_holds(tags, &etag, false),
        None => date(header::IF_UNMODIFIED_SINCE).is_some_and(|since| modified > since),
    };
    if precondition_failed {
        return Ok(HttpResponse::PreconditionFailed().finish());
    }
    let not_modified = match text(header::IF_NONE_MATCH) {
        Some(tags) => match_holds(tags, &etag, true),
        None => date(header::IF_MODIFIED_SINCE).is_some_and(|since| modified <= since),
    };
    if not_modified {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .insert_header((header::LAST_MODIFIED, last_modified))
            .finish());
    }
    let answer = byte_ranges::answer(
        text(header::RANGE),
        text(header::IF_RANGE),
        len,
        Validators {
            etag: &etag,
            last_modified: &last_modified,
        },
    );
    let mut response = match answer {
        Answer::Unsatisfiable => return Err(ApiError::RangeNotSatisfiable { len }),
        Answer::Whole => HttpResponse::Ok(),
        Answer::Part { first, last } => {
            let mut partial = HttpResponse::PartialContent();
            partial.insert_header((header::CONTENT_RANGE, format!("bytes {first}-{last}/{len}")));
            partial
        }
    };
    let (first, count) = match answer {
        Answer::Part { first, last } => (first, last - first + 1),
        _ => (0, len),
    };
    file.seek(SeekFrom::Start(first))
        .await
        .map_err(ApiError::internal)?;
    let body = tokio_util::io::ReaderStream::new(file.take(count));
    Ok(response
        .insert_header((header::CONTENT_TYPE, format.content_type()))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!(
                "{}; filename=\"{}.{}\"",
                disposition.as_str(),
                recording.id,
                format.as_str()
            ),
        ))
        .insert_header((header::ACCEPT_RANGES, "bytes"))
        .insert_header((header::ETAG, etag))
        .insert_header((header::LAST_MODIFIED, last_modified))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        // Audio is already compressed; gzip would also defeat Range.
        .insert_header((header::CONTENT_ENCODING, "identity"))
        .no_chunking(count)
        .streaming(body))
}

/// Whether an `If-Match` / `If-None-Match` list names the stored tag (or
/// is `*`); `weak` is the comparison If-None-Match uses.
fn match_holds(tags: &str, etag: &str, weak: bool) -> bool {
    tags.split(',').map(str::trim).any(|tag| {
        let tag = if weak {
            tag.strip_prefix("W/").unwrap_or(tag)
        } else {
            tag
        };
        tag == "*" || tag == etag
    })
}
