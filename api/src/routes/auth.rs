//! Login, refresh-token rotation, logout and `/v1/me`.

use actix_web::{HttpRequest, HttpResponse, web};
use deskbind_core::auth::jwt::{ACCESS_TYPE, AUDIENCE, AccessClaims, ISSUER};
use deskbind_core::auth::secrets;
use deskbind_core::domain::Email;
use deskbind_core::ids::{OrgId, SessionId, UserId};
use deskbind_core::repo::users::{self, UserRow, Visibility};
use deskbind_core::time::{now_micros, seconds};
use deskbind_core::usecases::sessions::{self, RotateOutcome};
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::{LoginRequest, RefreshRequest, TokenResponse, User};

use super::secret_json;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AuthUser, Json, peer_ip};
use crate::state::AppState;

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let email = Email::parse("email", &body.email)?;
    state.limits.login(&peer_ip(&req), email.as_str())?;
    if body.password.is_empty() || body.password.len() > 1024 {
        return Err(ApiError::Unauthorized {
            code: ErrorCode::InvalidCredentials,
        });
    }
    let user = verify_password(&state, &email, body.password)
        .await?
        .ok_or(ApiError::Unauthorized {
            code: ErrorCode::InvalidCredentials,
        })?;

    let (org, user_id) = (user.org()?, user.user_id()?);
    let refresh = secrets::new_secret(secrets::REFRESH_PREFIX).map_err(ApiError::internal)?;
    let refresh_hash = secrets::hash_secret(&refresh);
    let expires = refresh_expiry(&state);
    let session = sessions::start(&state.services(), org, user_id, refresh_hash, expires).await?;
    tracing::info!(user = %user_id, %session, "login");
    Ok(secret_json(
        HttpResponse::Ok(),
        &token_response(&state, org, user_id, session, refresh)?,
    ))
}

/// The enabled user with this email and password, or `None`. An unknown
/// email costs a dummy hash, so timing does not tell which emails exist.
/// Shared by the API's login and the console's sign-in.
pub async fn verify_password(
    state: &AppState,
    email: &Email,
    password: String,
) -> ApiResult<Option<UserRow>> {
    let lookup = email.as_str().to_owned();
    let user = state
        .db
        .run(move |conn| users::find_by_email(conn, &lookup).map_err(ApiError::from))
        .await?;
    let verified = state
        .passwords
        .run(move |hasher| match user {
            Some(user) if hasher.verify(&password, &user.password_hash) => Some(user),
            Some(_) => None,
            None => {
                hasher.verify_dummy(&password);
                None
            }
        })
        .await?;
    Ok(verified.filter(|u| u.disabled_at.is_none()))
}

pub async fn refresh(
    state: web::Data<AppState>,
    req: HttpRequest,
    Json(body): Json<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    state.limits.refresh(&peer_ip(&req))?;
    if !body.refresh_token.starts_with(secrets::REFRESH_PREFIX) {
        return Err(ApiError::Unauthorized {
            code: ErrorCode::InvalidRefreshToken,
        });
    }
    let presented = secrets::hash_secret(&body.refresh_token);
    let next = secrets::new_secret(secrets::REFRESH_PREFIX).map_err(ApiError::internal)?;
    let next_hash = secrets::hash_secret(&next);
    let expires = refresh_expiry(&state);
    let outcome = sessions::rotate(&state.services(), presented, next_hash, expires).await?;
    match outcome {
        RotateOutcome::Rotated { session, user } => Ok(secret_json(
            HttpResponse::Ok(),
            &token_response(&state, user.org()?, user.user_id()?, session, next)?,
        )),
        RotateOutcome::Reused => {
            tracing::warn!("a rotated refresh token was presented again; its session is revoked");
            Err(ApiError::Unauthorized {
                code: ErrorCode::RefreshTokenReused,
            })
        }
        RotateOutcome::Invalid => Err(ApiError::Unauthorized {
            code: ErrorCode::InvalidRefreshToken,
        }),
    }
}

/// Ends the caller's session: its refresh tokens and access tokens stop working.
pub async fn logout(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<HttpResponse> {
    sessions::end(
        &state.services(),
        auth.session_id,
        "logout",
        state.clock.now(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

pub async fn me(state: web::Data<AppState>, auth: AuthUser) -> ApiResult<web::Json<User>> {
    let user = state
        .db
        .run(move |conn| {
            let row = users::get(conn, auth.org_id, auth.user_id, Visibility::Org)?;
            with_teams(conn, row)
        })
        .await?;
    Ok(web::Json(user))
}

/// A user row with its team ids, as the API shows it.
pub fn with_teams(conn: &mut deskbind_core::db::DbConn, row: UserRow) -> ApiResult<User> {
    let mut teams = users::team_ids_of(conn, std::slice::from_ref(&row.id))?;
    Ok(row.to_wire(teams.remove(&row.id).unwrap_or_default())?)
}

fn refresh_expiry(state: &AppState) -> i64 {
    now_micros() + seconds(state.settings.refresh_token_ttl_secs as i64)
}

fn token_response(
    state: &AppState,
    org: OrgId,
    user: UserId,
    session: SessionId,
    refresh_token: String,
) -> ApiResult<TokenResponse> {
    let now = chrono::Utc::now().timestamp();
    let ttl = state.settings.access_token_ttl_secs;
    let claims = AccessClaims {
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        sub: user,
        org,
        sid: session,
        typ: ACCESS_TYPE.into(),
        iat: now,
        exp: now + ttl as i64,
    };
    let access_token = state.keys.sign(&claims).map_err(ApiError::internal)?;
    Ok(TokenResponse {
        access_token,
        refresh_token,
        token_type: "Bearer".into(),
        expires_in: ttl,
        refresh_expires_in: state.settings.refresh_token_ttl_secs,
    })
}
