//! Recording uploads, one per call keyed by the phone's call id, either
//! streamed through the API or, on S3, straight to the bucket with a
//! presigned URL (ask for a ticket, PUT, then complete it). Two senders
//! share every check and the storing: the phone itself
//! (`/v1/phone/recordings/...`), and the app user it handed the recording
//! to (`/v1/phones/{id}/recordings/...`), who may send only the recordings
//! of calls they held that phone for. See docs/records.md and
//! docs/decisions/0009-app-recordings-and-local-stores.md.

use deskbind_core::wire::ErrorCode;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::domain::call_facts::parse_call_id;
use deskbind_core::ids::{OrgId, PhoneId, RecordingId, RecordingUploadId};
use deskbind_core::repo::phones;
use deskbind_core::repo::recordings::{RecordingRow, TicketHolder, UploadRow};
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::usecases::AfterCommit;
use deskbind_core::usecases::recordings::{self, Claim, Sender, Stored};
use deskbind_core::wire::{CreateRecordingUpload, RecordingFormat, RecordingUpload};
use serde::Deserialize;

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthPhone, AuthUser, Json, Query, path_id, time_param};
use crate::recording_intake::{self, Declared, Received};
use crate::state::AppState;

/// How long after its URL expired an upload may still be completed; the
/// worker removes abandoned uploads only later (an hour after expiry).
const COMPLETE_GRACE_SECS: i64 = 1800;

/// How far ahead of the server's clock an app's `started_at` may be (its
/// clock may run fast); later is refused, so nobody claims a call that has
/// not happened.
const START_SKEW_SECS: i64 = 300;

/// Who sends a recording, for which phone.
#[derive(Debug, Clone, Copy)]
struct Origin {
    org: OrgId,
    phone: PhoneId,
    sender: Sender,
}

impl Origin {
    fn phone(phone: &AuthPhone) -> Self {
        Self {
            org: phone.org_id,
            phone: phone.phone_id,
            sender: Sender::Phone,
        }
    }

    /// An app user sending for `phone` (404 for a phone of another
    /// organisation) the call that started at `started_at`.
    async fn app(
        state: &AppState,
        auth: &AuthUser,
        phone: &str,
        started_at: &CallStart,
    ) -> ApiResult<Self> {
        // The phone first: another organisation's is not found, whatever
        // else is wrong with the request.
        let phone: PhoneId = path_id(phone)?;
        let org = auth.org_id;
        state
            .db
            .run(move |conn| phones::get(conn, org, phone))
            .await?;
        let started_at = time_param("started_at", started_at.started_at.as_deref())?.ok_or_else(
            || ApiError::InvalidQuery {
                field: "started_at".into(),
                detail: "say when the call started (RFC 3339): who held the phone then may send its recording".into(),
            },
        )?;
        if started_at > now_micros() + seconds(START_SKEW_SECS) {
            return Err(ApiError::Validation {
                code: ErrorCode::StartedAtInFuture,
                field: "started_at".into(),
                detail: format!(
                    "the call cannot start in the future (more than {START_SKEW_SECS} s from now)"
                ),
            });
        }
        Ok(Self {
            org,
            phone,
            sender: Sender::App {
                user: auth.user_id,
                started_at,
            },
        })
    }

    /// Where a new recording goes: generated, never from the request.
    fn storage_key(&self, id: RecordingId, format: Option<RecordingFormat>) -> String {
        let ext = format.map_or("upload", RecordingFormat::as_str);
        format!("{}/{}/{id}.{ext}", self.org, self.phone)
    }

    /// Refuses (403 `not_your_call`) an app user's recording of a call
    /// they did not hold the phone for, and answers a recording stored
    /// already (to whoever may know of it), before any bytes are taken.
    /// `Ok(None)`: go on and take the file.
    async fn claim(
        &self,
        state: &AppState,
        call_id: &str,
        sha256_hex: &str,
    ) -> ApiResult<Option<HttpResponse>> {
        let claim =
            recordings::claim(&state.db, self.phone, call_id.to_owned(), self.sender).await?;
        match claim {
            Claim::NotYours => Err(not_your_call()),
            Claim::Existing(existing) => existing_answer(&existing, sha256_hex).map(Some),
            Claim::Free { .. } => Ok(None),
        }
    }
}

/// `?started_at=` of the app's routes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallStart {
    started_at: Option<String>,
}

fn not_your_call() -> ApiError {
    ApiError::Forbidden {
        code: ErrorCode::NotYourCall,
    }
}

/// The call id from the path, checked and trimmed exactly like a record's,
/// so the two match.
fn call_id_param(raw: &str) -> ApiResult<String> {
    Ok(parse_call_id(raw)?)
}

/// What to answer when the call already has a recording.
fn existing_answer(existing: &RecordingRow, sha256_hex: &str) -> ApiResult<HttpResponse> {
    if existing.sha256 == sha256_hex {
        Ok(HttpResponse::Ok().json(existing.to_wire()?))
    } else {
        Err(ApiError::Conflict {
            code: ErrorCode::RecordingExists,
            detail: "this call already has a different recording".into(),
        })
    }
}

/// A new recording's row.
fn new_row(
    state: &AppState,
    origin: Origin,
    id: RecordingId,
    call_id: String,
    storage_key: String,
    declared: Declared,
    checked: recording_intake::Checked,
) -> ApiResult<RecordingRow> {
    Ok(RecordingRow {
        id: id.to_string(),
        org_id: origin.org.to_string(),
        phone_id: origin.phone.to_string(),
        call_id,
        storage_key,
        size_bytes: i64::try_from(declared.size).map_err(ApiError::internal)?,
        sha256: declared.sha256_hex(),
        format: checked.format.as_str().to_owned(),
        duration_ms: checked.duration_ms.and_then(|d| i64::try_from(d).ok()),
        uploaded_at: now_micros(),
        uploaded_by: origin.sender.user().map(|u| u.to_string()),
        store_id: state.storage.store_id().map(str::to_owned),
    })
}

/// `PUT /v1/phone/recordings/{call_id}`: the phone streams the file.
pub async fn put(
    state: web::Data<AppState>,
    phone: AuthPhone,
    call_id: web::Path<String>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    streamed(&state, Origin::phone(&phone), &call_id, &req, body).await
}

/// `PUT /v1/phones/{id}/recordings/{call_id}?started_at=`: an app user
/// streams the recording the phone handed them.
pub async fn app_put(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(String, String)>,
    Query(start): Query<CallStart>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let (phone, call_id) = path.into_inner();
    let origin = Origin::app(&state, &auth, &phone, &start).await?;
    streamed(&state, origin, &call_id, &req, body).await
}

async fn streamed(
    state: &AppState,
    origin: Origin,
    call_id: &str,
    req: &HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let call_id = call_id_param(call_id)?;
    let declared = Declared::from_headers(req.headers(), state.settings.recording_max_bytes)?;
    if let Some(answer) = origin
        .claim(state, &call_id, &declared.sha256_hex())
        .await?
    {
        return Ok(answer);
    }
    let received = recording_intake::receive(body, declared, state.storage.spool_dir()).await?;
    let Received { file, checked } = received;
    let id = RecordingId::new();
    let key = origin.storage_key(id, Some(checked.format));
    state
        .storage
        .put_file(&key, file, declared.size)
        .await
        .map_err(ApiError::internal)?;
    let row = new_row(state, origin, id, call_id, key, declared, checked)?;
    save(state, row, origin.sender, None).await
}

/// Records the stored object (and retires the presigned `ticket` it came
/// from, in the same transaction); if another upload of the same call won
/// the race, drops this copy, unless it is the very object already
/// recorded (a second complete of one ticket), and answers as for a replay.
async fn save(
    state: &AppState,
    row: RecordingRow,
    sender: Sender,
    ticket: Option<String>,
) -> ApiResult<HttpResponse> {
    let stored = recordings::store(&state.db, row.clone(), sender, ticket, now_micros()).await;
    match stored {
        Ok(Stored::New {
            linked,
            replaced,
            woken,
        }) => {
            if let Some(orphan) = &replaced {
                // Committed: nothing points at the orphan's object now.
                discard(state, orphan).await;
            }
            let mut after = AfterCommit::new();
            for user in woken {
                after.wake_user(user);
            }
            after.run(&state.services()).await;
            tracing::info!(
                recording = %row.id,
                phone = %row.phone_id,
                call = %row.call_id,
                bytes = row.size_bytes,
                by_app = row.uploaded_by.is_some(),
                linked,
                replaced_orphan = replaced.is_some(),
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
        Ok(Stored::NotYours) => {
            discard(state, &row.storage_key).await;
            Err(not_your_call())
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
    ticket(&state, Origin::phone(&phone), &call_id, &body).await
}

/// `POST /v1/phones/{id}/recordings/{call_id}/uploads?started_at=`: the
/// same for an app user.
pub async fn app_create_upload(
    state: web::Data<AppState>,
    auth: AuthUser,
    path: web::Path<(String, String)>,
    Query(start): Query<CallStart>,
    Json(body): Json<CreateRecordingUpload>,
) -> ApiResult<HttpResponse> {
    let (phone, call_id) = path.into_inner();
    let origin = Origin::app(&state, &auth, &phone, &start).await?;
    ticket(&state, origin, &call_id, &body).await
}

async fn ticket(
    state: &AppState,
    origin: Origin,
    call_id: &str,
    body: &CreateRecordingUpload,
) -> ApiResult<HttpResponse> {
    let call_id = call_id_param(call_id)?;
    let max = state.settings.recording_max_bytes;
    if body.size_bytes == 0 || body.size_bytes > max {
        return Err(ApiError::Validation {
            code: ErrorCode::InvalidSize,
            field: "size_bytes".into(),
            detail: format!("must be from 1 to {max} bytes"),
        });
    }
    let sha256 = body.sha256.to_ascii_lowercase();
    let declared = Declared::from_hex(body.size_bytes, &sha256).ok_or(ApiError::Validation {
        code: ErrorCode::InvalidSha256,
        field: "sha256".into(),
        detail: "must be 64 hex digits".into(),
    })?;
    if !state.storage.presigns() {
        return Err(ApiError::Conflict {
            code: ErrorCode::PresignedUploadUnavailable,
            detail: "recordings are stored locally; PUT the file to the recording's URL instead"
                .into(),
        });
    }
    if let Some(answer) = origin
        .claim(state, &call_id, &declared.sha256_hex())
        .await?
    {
        return Ok(answer);
    }
    let id = RecordingUploadId::new();
    let key = origin.storage_key(RecordingId::new(), None);
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
        org_id: origin.org.to_string(),
        phone_id: origin.phone.to_string(),
        call_id,
        storage_key: key,
        size_bytes: i64::try_from(declared.size).map_err(ApiError::internal)?,
        sha256: declared.sha256_hex(),
        created_at: now,
        expires_at: now + seconds(i64::try_from(ttl_secs).unwrap_or(900)),
        user_id: origin.sender.user().map(|u| u.to_string()),
        call_started_at: origin.sender.started_at(),
    };
    let expires_at = to_datetime(row.expires_at);
    recordings::open_ticket(&state.db, row).await?;
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
    complete(&state, TicketHolder::Phone(phone.phone_id), &id).await
}

/// `POST /v1/recording-uploads/{id}/complete`: the same for an app user's
/// ticket.
pub async fn app_complete_upload(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    complete(&state, TicketHolder::User(auth.org_id, auth.user_id), &id).await
}

async fn complete(state: &AppState, holder: TicketHolder, id: &str) -> ApiResult<HttpResponse> {
    let id: RecordingUploadId = path_id(id)?;
    let upload = recordings::ticket(&state.db, holder, id).await?;
    let origin = ticket_origin(&upload)?;
    let declared = Declared::from_hex(
        u64::try_from(upload.size_bytes).unwrap_or_default(),
        &upload.sha256,
    )
    .ok_or_else(|| ApiError::internal(anyhow::anyhow!("stored upload has a bad sha256")))?;
    // Past this the worker may be deleting the object as abandoned.
    if now_micros() > upload.expires_at + seconds(COMPLETE_GRACE_SECS) {
        return Err(ApiError::Conflict {
            code: ErrorCode::UploadExpired,
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
            code: ErrorCode::UploadIncomplete,
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
            code: ErrorCode::SizeMismatch,
            detail: format!(
                "{} bytes were declared but {size} were uploaded",
                declared.size
            ),
        })
    };
    let checked = match checked {
        Ok(c) => c,
        Err(refusal) => {
            discard(state, &upload.storage_key).await;
            recordings::drop_ticket(&state.db, upload.id.clone()).await?;
            return Err(refusal);
        }
    };
    let row = new_row(
        state,
        origin,
        RecordingId::new(),
        upload.call_id.clone(),
        upload.storage_key.clone(),
        declared,
        checked,
    )?;
    save(state, row, origin.sender, Some(upload.id)).await
}

/// The sender a ticket was handed to.
fn ticket_origin(upload: &UploadRow) -> ApiResult<Origin> {
    let sender = match (&upload.user_id, upload.call_started_at) {
        (None, _) => Sender::Phone,
        (Some(user), Some(started_at)) => Sender::App {
            user: user.parse().map_err(ApiError::internal)?,
            started_at,
        },
        (Some(_), None) => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "an app's upload ticket without its call's start"
            )));
        }
    };
    Ok(Origin {
        org: upload.org_id.parse().map_err(ApiError::internal)?,
        phone: upload.phone_id.parse().map_err(ApiError::internal)?,
        sender,
    })
}
