//! `/v1/bindings`: the app binds its user to a phone (by phone id, or by the
//! phone's NFC token or numeric code), lists and ends bindings. The policy
//! decision, the write and what follows it are `usecases::bindings`.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use deskbind_core::auth::jwt::TokenError;
use deskbind_core::auth::secrets;
use deskbind_core::ids::{BindingId, PhoneId, UserId};
use deskbind_core::repo::binding_events::By;
use deskbind_core::repo::binding_tokens::{TokenProblem, TokenRef};
use deskbind_core::repo::bindings::{self, BindingFilter};
use deskbind_core::repo::users;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::bindings::{
    self as binding_changes, BindError, BindOutcome, BindRequest, Holder, Target,
};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{Binding, BindingVia, CreateBinding, Page};
use serde::Deserialize;

use super::users::visibility;
use crate::binding_errors::{binding_code_invalid, binding_token_invalid};
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, PageParams, Query, id_param, path_id};
use crate::state::AppState;

/// A created binding is 201 (with its location for users, who can read it
/// there); one the user already held, 200.
pub fn bind_response(outcome: BindOutcome, with_location: bool) -> ApiResult<HttpResponse> {
    let now = now_micros();
    Ok(match outcome {
        BindOutcome::Created(row) => {
            let binding = row.to_wire(now)?;
            let mut response = HttpResponse::Created();
            if with_location {
                response.insert_header((header::LOCATION, format!("/v1/bindings/{}", binding.id)));
            }
            response.json(binding)
        }
        BindOutcome::AlreadyHeld(row) => HttpResponse::Ok().json(row.to_wire(now)?),
    })
}

fn one_of_required() -> ApiError {
    ApiError::Validation {
        code: ErrorCode::OneOfRequired,
        field: "phone_id".into(),
        detail: "give exactly one of phone_id, token and code".into(),
    }
}

/// What the request names, after the token's signature and the rate limits.
fn target(
    state: &AppState,
    auth: &AuthUser,
    body: CreateBinding,
) -> ApiResult<(Target, BindingVia)> {
    let (phone_id, token, code) = (body.phone_id, body.token, body.code);
    match (phone_id, token, code) {
        (Some(phone), None, None) => Ok((Target::Phone(phone), BindingVia::App)),
        (None, Some(token), None) => {
            state.limits.redeem_by_user(&auth.user_id.to_string())?;
            // Another organisation's token is as unknown here as a forged
            // one, expired or not.
            let claims = state
                .keys
                .verify_binding(token.trim(), auth.org_id)
                .map_err(|e| match e {
                    TokenError::Expired => BindError::Token(TokenProblem::Expired).into(),
                    _ => binding_token_invalid(),
                })?;
            state.limits.redeem_for_phone(&claims.sub.to_string())?;
            Ok((Target::Token(TokenRef::Id(claims.jti)), BindingVia::Nfc))
        }
        (None, None, Some(code)) => {
            state.limits.redeem_by_user(&auth.user_id.to_string())?;
            state.limits.redeem_code_in_org(&auth.org_id.to_string())?;
            let digits = secrets::normalise_binding_code(&code).ok_or_else(binding_code_invalid)?;
            Ok((
                Target::Token(TokenRef::CodeHash(secrets::hash_secret(&digits))),
                BindingVia::Nfc,
            ))
        }
        _ => Err(one_of_required()),
    }
}

/// Who will hold the phone: the caller, or (admins, by phone id) the
/// `user_id` the body names.
fn holder(auth: &AuthUser, body: &CreateBinding) -> ApiResult<UserId> {
    match body.user_id {
        None => Ok(auth.user_id),
        Some(user) if user == auth.user_id => Ok(user),
        Some(user) => {
            auth.require_admin()?;
            if body.phone_id.is_none() {
                return Err(ApiError::Validation {
                    code: ErrorCode::InvalidField,
                    field: "user_id".into(),
                    detail: "binding someone else takes phone_id; tokens and codes are redeemed by the holder's own app".into(),
                });
            }
            Ok(user)
        }
    }
}

pub async fn create(
    state: web::Data<AppState>,
    auth: AuthUser,
    Json(body): Json<CreateBinding>,
) -> ApiResult<HttpResponse> {
    let by_code = body.code.is_some();
    let takeover = body.takeover;
    let holder_id = holder(&auth, &body)?;
    let (target, via) = target(&state, &auth, body)?;
    let request = BindRequest {
        org: auth.org_id,
        target,
        holder: Holder::Id(holder_id),
        via,
        // The audit log records who asked: the admin, for someone else.
        by: By::User(auth.user_id),
        takeover,
        phone_credential: None,
    };
    let outcome = binding_changes::bind(&state.services(), request)
        .await
        .map_err(|e| match e {
            BindError::Token(_) if by_code => binding_code_invalid(),
            BindError::UserNotFound => ApiError::Validation {
                code: ErrorCode::InvalidField,
                field: "user_id".into(),
                detail: "no user of this organisation has this id".into(),
            },
            other => other.into(),
        })?;
    log_outcome(&outcome, "app");
    bind_response(outcome, true)
}

pub fn log_outcome(outcome: &BindOutcome, path: &str) {
    if let BindOutcome::Created(row) = outcome {
        tracing::info!(binding = %row.id, phone = %row.phone_id, user = %row.user_id, via = %row.via, path, "phone bound");
    }
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    phone_id: Option<String>,
    user_id: Option<String>,
    #[serde(default)]
    include_ended: bool,
}

/// Own bindings; managers also their teams'; admins the organisation's.
/// Active ones unless `include_ended=true`.
pub async fn list(
    state: web::Data<AppState>,
    auth: AuthUser,
    PageParams(page): PageParams,
    Query(query): Query<ListQuery>,
) -> ApiResult<web::Json<Page<Binding>>> {
    let filter = BindingFilter {
        phone: id_param::<PhoneId>("phone_id", query.phone_id.as_deref())?,
        user: id_param::<UserId>("user_id", query.user_id.as_deref())?,
        include_ended: query.include_ended,
    };
    let visibility = visibility(&auth);
    let page = state
        .db
        .run(move |conn| {
            let scope = users::visible_ids(conn, visibility)?;
            bindings::list(conn, auth.org_id, scope, &filter, &page)
        })
        .await?;
    let now = now_micros();
    Ok(web::Json(page.try_map(|r| r.to_wire(now))?))
}

pub async fn get(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Binding>> {
    let id: BindingId = path_id(&id)?;
    let visibility = visibility(&auth);
    let row = state
        .db
        .run(move |conn| {
            let scope = users::visible_ids(conn, visibility)?;
            bindings::get(conn, auth.org_id, id, scope)
        })
        .await?;
    Ok(web::Json(row.to_wire(now_micros())?))
}

/// Ends a binding: its holder, a manager of the holder's team, or an admin.
pub async fn delete(
    state: web::Data<AppState>,
    auth: AuthUser,
    id: web::Path<String>,
) -> ApiResult<web::Json<Binding>> {
    let id: BindingId = path_id(&id)?;
    let by = By::User(auth.user_id);
    let row =
        binding_changes::unbind(&state.services(), auth.org_id, id, visibility(&auth), by).await?;
    tracing::info!(binding = %row.id, phone = %row.phone_id, "phone unbound");
    Ok(web::Json(row.to_wire(now_micros())?))
}
