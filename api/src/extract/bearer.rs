use actix_web::HttpRequest;
use actix_web::http::header;

use crate::error::ApiError;

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized {
            code: "missing_credentials",
        })?
        .to_str()
        .map_err(|_| ApiError::Unauthorized {
            code: "invalid_token",
        })?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized {
        code: "invalid_token",
    })?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized {
            code: "invalid_token",
        });
    }
    Ok(token.trim().to_owned())
}
