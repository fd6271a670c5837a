//! `/v1/dials`: the app asks the phone its user holds to dial. The command
//! is stored first (the source of truth) and then relayed; see
//! docs/dialing.md for the lifecycle and the Idempotency-Key rules.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use deskbind_core::dial_payload::DialClaims;
use deskbind_core::domain::DialNumber;
use deskbind_core::domain::dial_policy::{HandoutRefusal, may_hand_out};
use deskbind_core::ids::{DialId, PhoneId, UserId};
use deskbind_core::repo::dials::{self, DialFilter};
use deskbind_core::repo::users;
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::usecases::contact_links;
use deskbind_core::usecases::dial_authorisation;
use deskbind_core::usecases::dials::{
    self as dialing, Created, DialError, Idempotency, Moved, NewDial,
};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{CreateDial, Dial, DialCheck, DialCheckResult, DialNfc, DialState, Page};
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use super::users::visibility;
use crate::dial_errors::{dial_finished, invalid_idempotency_key};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, Query, id_param, path_id};
use crate::state::AppState;

const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
/// Set on a response that repeats the command an earlier request created.
const REPLAYED: &str = "Idempotent-Replayed";

fn idempotency(req: &HttpRequest, body: &CreateDial) -> ApiResult<Option<Idempotency>> {
    let Some(raw) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let key = raw
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(invalid_idempotency_key)?;
    // The request as understood (number normalised), so cosmetic
    // differences in the retry do not count as a different request.
    let canonical = serde_json::to_vec(body).map_err(ApiError::internal)?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        request_hash: hex::encode(Sha256::digest(&canonical)),
    }))
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    req: HttpRequest,
    Json(body): Json<CreateDial>,
) -> ApiResult<HttpResponse> {
    let number = DialNumber::parse("number", &body.number)?;
    let normalised = CreateDial {
        number: number.canonical(),
        phone_id: body.phone_id,
    };
    let idempotency = idempotency(&req, &normalised)?;
    state.limits.dial(&auth.user_id.to_string())?;
    let request = NewDial {
        org: auth.org_id,
        user: auth.user_id,
        phone: body.phone_id,
        number,
        idempotency,
        ttl: seconds(i64::try_from(state.settings.dial_ttl_secs).unwrap_or(60)),
    };
    let created = dialing::place(&state.services(), request)
        .await
        .inspect_err(|e| tracing::info!(error = %e, "dial refused"))?;
    let (row, replayed) = match created {
        Created::New(row) => {
            tracing::info!(dial = %row.id, phone = %row.phone_id, "dial queued");
            (row, false)
        }
        Created::Replayed(row) => (row, true),
    };
    let dial = as_sent(&state, &auth, row).await?;
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/v1/dials/{}", dial.id)));
    if replayed {
        response.insert_header((REPLAYED, "true"));
    }
    Ok(response.json(dial))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Dial>> {
    let id: DialId = path_id(&id)?;
    let dial = state
        .db
        .run(move |conn| {
            let visible = users::visible_ids(conn, visibility(&auth))?;
            let row = dials::get(conn, auth.org_id, id, visible.as_deref())?;
            let mut sent = contact_links::dials_for(conn, auth.org_id, auth.user_id, &[row])?;
            sent.pop().ok_or(ApiError::NotFound)
        })
        .await?;
    Ok(web::Json(dial))
}

/// `POST /v1/dials/check`: what `POST /v1/dials` would answer for this
/// number and phone now, without storing or sending anything. Every
/// refusal a dial would get (except the rate limit and Idempotency-Key
/// checks) is a 200 with `allowed: false` and the problem's code.
pub async fn check(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<DialCheck>,
) -> ApiResult<web::Json<DialCheckResult>> {
    let now = state.clock.now();
    let (org, user, phone) = (auth.org_id, auth.user_id, body.phone_id);
    let decided = match DialNumber::parse("number", &body.number) {
        Err(e) => Err(DialError::Number(e)),
        Ok(number) => {
            state
                .db
                .run(move |conn| dial_authorisation::check_in(conn, org, user, phone, &number, now))
                .await
        }
    };
    let refusal = match decided {
        Ok(to) => {
            return Ok(web::Json(DialCheckResult {
                allowed: true,
                number: Some(to.number),
                class: Some(to.class.as_str().to_owned()),
                code: None,
                status: None,
                detail: None,
                field: None,
                rule: None,
                retry_at: None,
                blocked_by: None,
            }));
        }
        Err(DialError::Repo(e)) => return Err(e.into()),
        Err(refusal) => refusal,
    };
    let rule = dial_authorisation::rule_of(&refusal);
    let problem = ApiError::from(refusal).problem();
    Ok(web::Json(DialCheckResult {
        allowed: false,
        number: None,
        class: None,
        code: Some(problem.code),
        status: Some(problem.status),
        detail: problem.detail,
        field: problem.field,
        rule,
        retry_at: problem.retry_at,
        blocked_by: problem.blocked_by,
    }))
}

/// One command as the caller is sent it, with its contact.
async fn as_sent(
    state: &web::Data<AppState>,
    auth: &AuthUser,
    row: dials::DialRow,
) -> ApiResult<Dial> {
    let (org, reader) = (auth.org_id, auth.user_id);
    state
        .db
        .run(move |conn| {
            let mut sent = contact_links::dials_for(conn, org, reader, &[row])?;
            sent.pop().ok_or(ApiError::NotFound)
        })
        .await
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    user_id: Option<String>,
    phone_id: Option<String>,
    state: Option<String>,
}

/// Own dials; managers also their teams'; admins the organisation's.
pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<Dial>>> {
    let filter = DialFilter {
        user: id_param::<UserId>("user_id", query.user_id.as_deref())?,
        phone: id_param::<PhoneId>("phone_id", query.phone_id.as_deref())?,
        state: query
            .state
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(|s| {
                DialState::parse(s).ok_or_else(|| ApiError::InvalidQuery {
                    field: "state".into(),
                    detail: "must be a dial state such as queued or ended".into(),
                })
            })
            .transpose()?,
    };
    let page = state
        .db
        .run(move |conn| {
            let visible = users::visible_ids(conn, visibility(&auth))?;
            let rows = dials::list(conn, auth.org_id, visible, &filter, &page)?;
            let items = contact_links::dials_for(conn, auth.org_id, auth.user_id, &rows.items)?;
            Ok::<_, ApiError>(Page {
                items,
                next_cursor: rows.next_cursor,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// Cancels a command that has not finished; the phone is told to hang up.
/// Whoever may see the command may cancel it.
pub async fn cancel(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Dial>> {
    let id: DialId = path_id(&id)?;
    let moved = dialing::cancel(
        &state.services(),
        auth.org_id,
        visibility(&auth),
        id,
        auth.user_id,
    )
    .await?;
    let row = match moved {
        Moved::Changed(row) => {
            tracing::info!(dial = %row.id, "dial cancelled");
            row
        }
        Moved::Unchanged(row) => row,
        Moved::Refused(row) => {
            return Err(dial_finished(format!(
                "the dial has already finished ({})",
                row.state
            )));
        }
    };
    Ok(web::Json(as_sent(&state, &auth, row).await?))
}

/// The caller's queued dial as a signed payload (and its NDEF message) to
/// hand the phone over NFC; the phone verifies it with its dial key, dials,
/// and acks and reports it like a relayed command. Only the dial's own user
/// gets it, and only while the phone could still be sent the command.
pub async fn nfc(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: DialId = path_id(&id)?;
    let now = now_micros();
    let (caller, org) = (auth.user_id, auth.org_id);
    let (row, sendable) = state
        .db
        .run(move |conn| {
            let visible = users::visible_ids(conn, visibility(&auth))?;
            let row = dials::get(conn, auth.org_id, id, visible.as_deref())?;
            let sendable = dials::is_sendable(conn, id, now)?;
            Ok::<_, ApiError>((row, sendable))
        })
        .await?;
    if row.user()? != caller {
        return Err(ApiError::Denied {
            code: ErrorCode::NotYourDial,
            detail: "only the user who placed the dial can hand it to the phone".into(),
        });
    }
    may_hand_out(row.state()?, row.expires_at <= now, sendable).map_err(
        |refusal| match refusal {
            HandoutRefusal::Finished(state) => dial_finished(format!(
                "the dial can no longer be dialed ({state}, or expired)"
            )),
            HandoutRefusal::Delivered(state) => ApiError::Conflict {
                code: ErrorCode::DialDelivered,
                detail: format!("the phone already has this dial ({state})"),
            },
            HandoutRefusal::BindingEnded => ApiError::Conflict {
                code: ErrorCode::BindingEnded,
                detail: "the binding the dial was placed under has ended".into(),
            },
        },
    )?;
    let (phone, dial_id) = (row.phone()?, row.dial_id()?);
    let claims = DialClaims::new(
        phone,
        org,
        dial_id,
        &row.number,
        now / 1_000_000,
        row.expires_at / 1_000_000,
    );
    let payload = state.keys.sign_dial(&claims).map_err(ApiError::internal)?;
    let ndef = deskbind_core::nfc::encode_dial_payload(&payload)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("NDEF encoding: {e}")))?;
    tracing::info!(dial = %dial_id, phone = %phone, "dial handed out for NFC");
    Ok(super::secret_json(
        HttpResponse::Ok(),
        &DialNfc {
            dial_id,
            phone_id: phone,
            payload,
            ndef: STANDARD.encode(ndef),
            expires_at: to_datetime(row.expires_at),
        },
    ))
}
