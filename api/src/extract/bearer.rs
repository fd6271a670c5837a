use actix_web::http::header;
use actix_web::{HttpRequest, web};
use deskbind_core::wire::ErrorCode;

use crate::error::ApiError;
use crate::state::AppState;

/// The bearer token and the app state, read synchronously so the extractor's
/// future owns them.
pub fn token_and_state(req: &HttpRequest) -> Result<(String, web::Data<AppState>), ApiError> {
    let token = bearer_token(req)?;
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal(anyhow::anyhow!("AppState missing")))?;
    Ok((token, state))
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized {
            code: ErrorCode::MissingCredentials,
        })?
        .to_str()
        .map_err(|_| ApiError::invalid_token())?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::invalid_token())?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::invalid_token());
    }
    Ok(token.trim().to_owned())
}
