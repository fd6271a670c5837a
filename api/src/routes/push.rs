//! Push: the caller's devices (FCM registration tokens, never shown back),
//! their digest schedule, the organisation's default (admins set it) and
//! on-request digests. Sending is the worker's (docs/push.md).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::domain::FieldError;
use deskbind_core::domain::push_schedule::ScheduleRule;
use deskbind_core::ids::PushDeviceId;
use deskbind_core::repo::users::Visibility;
use deskbind_core::repo::{RepoError, push_devices, push_schedules, users};
use deskbind_core::time::{now_micros, to_datetime};
use deskbind_core::usecases::push_devices::RegisterError;
use deskbind_core::usecases::{self, digests};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{
    MAX_PUSH_TOKEN_LEN, Page, PushDevice, PushRequested, PushSchedule, PushScheduleRule,
    PushScheduleSource, PushScheduleUpdate, RegisterPushDevice,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, path_id};
use crate::state::AppState;

fn check_token(raw: &str) -> Result<String, FieldError> {
    let bad = |why: &str| FieldError::new("token", ErrorCode::InvalidPushToken, why);
    if raw.is_empty() {
        return Err(bad("must not be empty"));
    }
    if raw.len() > MAX_PUSH_TOKEN_LEN {
        return Err(bad("is longer than an FCM registration token can be"));
    }
    if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("must not contain spaces or control characters"));
    }
    Ok(raw.to_owned())
}

/// `POST /v1/push/devices`: 201 for a new device, 200 when this install was
/// already registered to the caller.
pub async fn register(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<RegisterPushDevice>,
) -> ApiResult<HttpResponse> {
    let token = check_token(&body.token)?;
    let (row, created) = usecases::push_devices::register(
        &state.db,
        auth.org_id,
        auth.user_id,
        body.platform,
        token,
        now_micros(),
    )
    .await
    .map_err(|e| match e {
        RegisterError::Dead => ApiError::Validation {
            code: ErrorCode::PushTokenUnregistered,
            field: "token".into(),
            detail: "FCM reported this token unregistered; get a new one from the FCM SDK".into(),
        },
        RegisterError::TooMany => ApiError::Conflict {
            code: ErrorCode::PushDeviceLimit,
            detail: format!(
                "at most {} devices per user; delete one first",
                deskbind_core::wire::MAX_PUSH_DEVICES_PER_USER
            ),
        },
        RegisterError::Repo(e) => e.into(),
    })?;
    let device = row.to_wire()?;
    Ok(if created {
        HttpResponse::Created()
            .insert_header((header::LOCATION, format!("/v1/push/devices/{}", device.id)))
            .json(device)
    } else {
        HttpResponse::Ok().json(device)
    })
}

/// `GET /v1/push/devices`: the caller's own devices (at most 10, one page).
pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<Page<PushDevice>>> {
    let rows = state
        .db
        .run(move |conn| push_devices::list(conn, auth.user_id))
        .await?;
    let items = rows
        .iter()
        .map(|r| r.to_wire())
        .collect::<Result<Vec<_>, RepoError>>()?;
    Ok(web::Json(Page {
        items,
        next_cursor: None,
    }))
}

/// `DELETE /v1/push/devices/{id}`: only the caller's own; anyone else's is
/// not found.
pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let id: PushDeviceId = path_id(&id)?;
    usecases::push_devices::delete(&state.db, auth.org_id, auth.user_id, id).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The schedule in force for the caller.
fn effective(
    conn: &mut deskbind_core::db::DbConn,
    auth: &AuthUser,
) -> Result<PushSchedule, RepoError> {
    let me = users::get(conn, auth.org_id, auth.user_id, Visibility::Org)?;
    Ok(match push_schedules::get(conn, auth.user_id)? {
        Some(row) => PushSchedule {
            rule: row.rule()?.to_wire(),
            source: if row.custom == 1 {
                PushScheduleSource::Custom
            } else {
                PushScheduleSource::Default
            },
            time_zone: me.time_zone,
            next_due_at: row.next_due_at.map(to_datetime),
            last_pushed_at: row.last_pushed_at.map(to_datetime),
        },
        None => {
            let rule = push_schedules::org_default(conn, auth.org_id)?;
            let next = push_schedules::next_due(&rule, &me.time_zone, now_micros(), None);
            PushSchedule {
                rule: rule.to_wire(),
                source: PushScheduleSource::Default,
                time_zone: me.time_zone,
                next_due_at: next.map(to_datetime),
                last_pushed_at: None,
            }
        }
    })
}

pub async fn get_schedule(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<PushSchedule>> {
    let schedule = state.db.run(move |conn| effective(conn, &auth)).await?;
    Ok(web::Json(schedule))
}

/// `PUT /v1/push/schedule`: the caller's own rule, or `{"use_default": true}`.
pub async fn put_schedule(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PushScheduleUpdate>,
) -> ApiResult<web::Json<PushSchedule>> {
    let rule = if body.use_default {
        if body
            != (PushScheduleUpdate {
                use_default: true,
                ..PushScheduleUpdate::default()
            })
        {
            return Err(FieldError::new(
                "use_default",
                ErrorCode::InvalidSchedule,
                "use_default cannot be combined with a rule",
            )
            .into());
        }
        None
    } else {
        Some(ScheduleRule::parse(&body.rule())?)
    };
    usecases::push_schedules::set_user_rule(
        &state.db,
        auth.org_id,
        auth.user_id,
        rule,
        now_micros(),
    )
    .await?;
    let schedule = state.db.run(move |conn| effective(conn, &auth)).await?;
    Ok(web::Json(schedule))
}

/// `GET /v1/push/default-schedule`: the organisation's default.
pub async fn get_default(
    state: web::Data<AppState>,
    auth: AuthUser,
) -> ApiResult<web::Json<PushScheduleRule>> {
    let rule = state
        .db
        .run(move |conn| push_schedules::org_default(conn, auth.org_id))
        .await?;
    Ok(web::Json(rule.to_wire()))
}

/// `PUT /v1/push/default-schedule` (admins): also moves every user who
/// follows the default onto the new rule.
pub async fn put_default(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<PushScheduleRule>,
) -> ApiResult<web::Json<PushScheduleRule>> {
    let rule = replace_default(&state, &auth, &body).await?;
    Ok(web::Json(rule.to_wire()))
}

/// `PUT /v1/push/default-schedule` without the response (the console's
/// form too): checks the rule and moves every user who follows the
/// default onto it.
pub(crate) async fn replace_default(
    state: &AppState,
    auth: &AuthUser,
    body: &PushScheduleRule,
) -> ApiResult<ScheduleRule> {
    auth.require_admin()?;
    let rule = ScheduleRule::parse(body)?;
    let moved = usecases::push_schedules::set_org_default(
        &state.db,
        auth.org_id,
        rule,
        auth.user_id,
        now_micros(),
    )
    .await?;
    tracing::info!(org = %auth.org_id, users = moved, "default push schedule changed");
    Ok(rule)
}

/// `POST /v1/push/request`: queues the caller's digest now (202).
pub async fn request(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<HttpResponse> {
    state.limits.push_request(&auth.user_id.to_string())?;
    let queued = digests::request_now(&state.db, auth.org_id, auth.user_id, now_micros()).await;
    let (devices, records) = match queued {
        Ok(counts) => counts,
        Err(RepoError::NotFound) => {
            return Err(ApiError::Conflict {
                code: ErrorCode::NoPushDevice,
                detail: "register a device with POST /v1/push/devices first".into(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(HttpResponse::Accepted().json(PushRequested {
        devices: u32::try_from(devices).unwrap_or(u32::MAX),
        records,
    }))
}
