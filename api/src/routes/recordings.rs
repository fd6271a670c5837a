//! Recordings: the phone uploads one per call, keyed by its call id, either
//! streamed through the API (`PUT /v1/phone/recordings/{call_id}`) or, on
//! S3, straight to the bucket with a presigned URL
//! (`POST .../uploads`, then `POST /v1/phone/recording-uploads/{id}/complete`).
//! Reviewers fetch it with `GET /v1/calls/{id}/recording`: served with
//! Range support from a local store, or a redirect to a short-lived
//! presigned URL on S3. See docs/records.md.

use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::domain::call_facts::parse_call_id;
use deskbind_core::ids::{CallRecordId, PhoneId, RecordingId, RecordingUploadId};
use deskbind_core::repo::call_records;
use deskbind_core::repo::recordings::{self, RecordingRow, Stored, UploadRow};
use deskbind_core::repo::users;
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::wire::{CreateRecordingUpload, RecordingFormat, RecordingUpload};

use super::users::visibility;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, AuthUser, Json, path_id};
use crate::recording_intake::{self, Declared, Received};
use crate::state::AppState;

/// How long after its URL expired an upload may still be completed; the
/// worker removes abandoned uploads only later (an hour after expiry).
const COMPLETE_GRACE_SECS: i64 = 1800;

/// The call id from the path, checked and trimmed exactly like a record's,
/// so the two match.
fn call_id_param(raw: &str) -> ApiResult<String> {
    Ok(parse_call_id(raw)?)
}

/// Where a new recording goes: generated, never from the request.
fn storage_key(phone: &AuthPhone, id: RecordingId, format: Option<RecordingFormat>) -> String {
    let ext = format.map_or("upload", RecordingFormat::as_str);
    format!("{}/{}/{id}.{ext}", phone.org_id, phone.phone_id)
}

/// What to answer when the call already has a recording.
fn existing_answer(existing: &RecordingRow, sha256_hex: &str) -> ApiResult<HttpResponse> {
    if existing.sha256 == sha256_hex {
        Ok(HttpResponse::Ok().json(existing.to_wire()?))
    } else {
        Err(ApiError::Conflict {
            code: "recording_exists",
            detail: "this call already has a different recording".into(),
        })
    }
}

async fn stored_recording(
    state: &AppState,
    phone: PhoneId,
    call_id: String,
) -> ApiResult<Option<RecordingRow>> {
    Ok(state
        .db
        .run(move |conn| recordings::for_call(conn, phone, &call_id))
        .await?)
}

pub async fn put(
    state: web::Data<AppState>,
    phone: AuthPhone,
    call_id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let call_id = call_id_param(&call_id)?;
    let declared = Declared::from_headers(req.headers(), state.settings.recording_max_bytes)?;
    if let Some(existing) = stored_recording(&state, phone.phone_id, call_id.clone()).await? {
        return existing_answer(&existing, &declared.sha256_hex());
    }
    let received = recording_intake::receive(body, declared, state.storage.spool_dir()).await?;
    let id = RecordingId::new();
    let key = storage_key(&phone, id, Some(received.format));
    let size = received.size;
    let Received {
        file,
        format,
        duration_ms,
        ..
    } = received;
    state
        .storage
        .put_file(&key, file, size)
        .await
        .map_err(ApiError::internal)?;
    let row = RecordingRow {
        id: id.to_string(),
        org_id: phone.org_id.to_string(),
        phone_id: phone.phone_id.to_string(),
        call_id,
        storage_key: key,
        size_bytes: i64::try_from(size).map_err(ApiError::internal)?,
        sha256: declared.sha256_hex(),
        format: format.as_str().to_owned(),
        duration_ms: duration_ms.and_then(|d| i64::try_from(d).ok()),
        uploaded_at: now_micros(),
    };
    save(&state, row, None).await
}

/// Records the stored object (and retires the presigned `ticket` it came
/// from, in the same transaction); if another upload of the same call won
/// the race, drops this copy, unless it is the very object already
/// recorded (a second complete of one ticket), and answers as for a replay.
async fn save(
    state: &AppState,
    row: RecordingRow,
    ticket: Option<String>,
) -> ApiResult<HttpResponse> {
    let to_store = row.clone();
    let now = now_micros();
    let stored = state
        .db
        .run(move |conn| recordings::store(conn, &to_store, ticket.as_deref(), now))
        .await;
    match stored {
        Ok(Stored::New { linked }) => {
            tracing::info!(
                recording = %row.id,
                phone = %row.phone_id,
                call = %row.call_id,
                bytes = row.size_bytes,
                linked,
                "recording stored"
            );
            Ok(HttpResponse::Created().json(row.to_wire()?))
        }
        Ok(Stored::Existing(existing)) => {
            if existing.storage_key != row.storage_key {
                discard(state, &row.storage_key).await;
            }
            existing_answer(&existing, &row.sha256)
        }
        Err(e) => {
            // The transaction rolled back: no row points at the object.
            discard(state, &row.storage_key).await;
            Err(e.into())
        }
    }
}

async fn discard(state: &AppState, key: &str) {
    if let Err(e) = state.storage.delete(key).await {
        tracing::warn!(key, error = %e, "could not delete a discarded recording");
    }
}

/// `POST /v1/phone/recordings/{call_id}/uploads`: a presigned PUT for a
/// large file (S3 only).
pub async fn create_upload(
    state: web::Data<AppState>,
    phone: AuthPhone,
    call_id: web::Path<String>,
    Json(body): Json<CreateRecordingUpload>,
) -> ApiResult<HttpResponse> {
    let call_id = call_id_param(&call_id)?;
    let max = state.settings.recording_max_bytes;
    if body.size_bytes == 0 || body.size_bytes > max {
        return Err(ApiError::Validation {
            code: "invalid_size",
            field: "size_bytes".into(),
            detail: format!("must be from 1 to {max} bytes"),
        });
    }
    let sha256 = body.sha256.to_ascii_lowercase();
    let declared = Declared::from_hex(body.size_bytes, &sha256).ok_or(ApiError::Validation {
        code: "invalid_sha256",
        field: "sha256".into(),
        detail: "must be 64 hex digits".into(),
    })?;
    if !state.storage.presigns() {
        return Err(ApiError::Conflict {
            code: "presigned_upload_unavailable",
            detail: "recordings are stored locally; PUT the file to /v1/phone/recordings/{call_id}"
                .into(),
        });
    }
    if let Some(existing) = stored_recording(&state, phone.phone_id, call_id.clone()).await? {
        return existing_answer(&existing, &declared.sha256_hex());
    }
    let id = RecordingUploadId::new();
    let key = storage_key(&phone, RecordingId::new(), None);
    let ttl_secs = state.settings.recording_upload_url_ttl_secs;
    let presigned = state
        .storage
        .presign_put(&key, declared.size, Duration::from_secs(ttl_secs))
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("the store stopped presigning")))?;
    let now = now_micros();
    let row = UploadRow {
        id: id.to_string(),
        org_id: phone.org_id.to_string(),
        phone_id: phone.phone_id.to_string(),
        call_id,
        storage_key: key,
        size_bytes: i64::try_from(declared.size).map_err(ApiError::internal)?,
        sha256: declared.sha256_hex(),
        created_at: now,
        expires_at: now + seconds(i64::try_from(ttl_secs).unwrap_or(900)),
    };
    let expires_at = to_datetime(row.expires_at);
    state
        .db
        .run(move |conn| recordings::create_upload(conn, &row))
        .await?;
    Ok(HttpResponse::Created().json(RecordingUpload {
        id,
        method: presigned.method,
        url: presigned.url,
        headers: presigned.headers.into_iter().collect(),
        expires_at,
    }))
}

/// `POST /v1/phone/recording-uploads/{id}/complete`: the phone has PUT the
/// file; the server reads it back, verifies it like a streamed upload, and
/// stores the recording (or deletes the object and says why).
pub async fn complete_upload(
    state: web::Data<AppState>,
    phone: AuthPhone,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: RecordingUploadId = path_id(&id)?;
    let phone_id = phone.phone_id;
    let upload = state
        .db
        .run(move |conn| recordings::upload(conn, phone_id, id))
        .await?;
    let declared = Declared::from_hex(
        u64::try_from(upload.size_bytes).unwrap_or_default(),
        &upload.sha256,
    )
    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored upload has a bad sha256")))?;
    // Past this the worker may be deleting the object as abandoned.
    if now_micros() > upload.expires_at + seconds(COMPLETE_GRACE_SECS) {
        return Err(ApiError::Conflict {
            code: "upload_expired",
            detail: "this upload expired; ask for a new one".into(),
        });
    }
    let Some(size) = state
        .storage
        .size(&upload.storage_key)
        .await
        .map_err(ApiError::internal)?
    else {
        return Err(ApiError::Conflict {
            code: "upload_incomplete",
            detail: "nothing has been uploaded to the URL yet".into(),
        });
    };
    let checked = if size == declared.size {
        let stream = state
            .storage
            .read(&upload.storage_key)
            .await
            .map_err(ApiError::internal)?;
        let print = recording_intake::fingerprint_stream(stream)
            .await
            .map_err(ApiError::internal)?;
        recording_intake::check(&print, declared)
    } else {
        Err(ApiError::BadRequest {
            code: "size_mismatch",
            detail: format!(
                "{} bytes were declared but {size} were uploaded",
                declared.size
            ),
        })
    };
    let received = match checked {
        Ok(r) => r,
        Err(refusal) => {
            discard(&state, &upload.storage_key).await;
            let upload_id = upload.id.clone();
            state
                .db
                .run(move |conn| recordings::delete_upload(conn, &upload_id))
                .await?;
            return Err(refusal);
        }
    };
    let row = RecordingRow {
        id: RecordingId::new().to_string(),
        org_id: upload.org_id.clone(),
        phone_id: upload.phone_id.clone(),
        call_id: upload.call_id.clone(),
        storage_key: upload.storage_key.clone(),
        size_bytes: upload.size_bytes,
        sha256: upload.sha256.clone(),
        format: received.format.as_str().to_owned(),
        duration_ms: received.duration_ms.and_then(|d| i64::try_from(d).ok()),
        uploaded_at: now_micros(),
    };
    save(&state, row, Some(upload.id)).await
}

/// `GET /v1/calls/{id}/recording`.
pub async fn download(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
    req: HttpRequest,
) -> ApiResult<HttpResponse> {
    let id: CallRecordId = path_id(&id)?;
    let recording = state
        .db
        .run(move |conn| {
            let scope = users::visible_ids(conn, visibility(&auth))?;
            let call = call_records::get(conn, auth.org_id, &scope, id)?;
            let recording_id = call.recording_id.ok_or(ApiError::NotFound)?;
            let recording_id: RecordingId = recording_id.parse().map_err(ApiError::internal)?;
            Ok::<_, ApiError>(recordings::get(conn, auth.org_id, recording_id)?)
        })
        .await?;
    let format = recording.format()?;
    if let Some(path) = state.storage.local_path(&recording.storage_key) {
        let file = actix_files::NamedFile::open_async(path)
            .await
            .map_err(ApiError::internal)?
            .set_content_type(format.content_type().parse().map_err(ApiError::internal)?)
            .use_last_modified(true)
            // Audio is already compressed; gzip would also defeat Range.
            .set_content_encoding(actix_web::http::header::ContentEncoding::Identity);
        let mut response = file.into_response(&req);
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("private, no-store"),
        );
        return Ok(response);
    }
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
