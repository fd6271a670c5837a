//! `AuthUser`: a person with a valid access token whose session is live and
//! whose account is enabled. Checked against the database on every request
//! so logout, refresh-token theft detection and disabling act at once.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use deskbind_core::auth::jwt::TokenError;
use deskbind_core::auth::secrets::{API_KEY_PREFIX, PHONE_CREDENTIAL_PREFIX};
use deskbind_core::ids::{ApiKeyId, OrgId, SessionId, UserId};
use deskbind_core::repo::users;
use deskbind_core::wire::ErrorCode;
use deskbind_core::wire::Role;
use futures_util::future::LocalBoxFuture;

use super::bearer::token_and_state;
use crate::error::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct AuthUser {
    pub user_id: UserId,
    pub org_id: OrgId,
    pub role: Role,
    pub session_id: SessionId,
    /// Set when an API key makes the request (`extract::Scoped`): then
    /// `user_id` and `session_id` are nil (no person), and `role` is
    /// `Admin` for the organisation-wide view the key's scope opens.
    pub api_key: Option<ApiKeyId>,
}

impl AuthUser {
    /// An API key of `org` seen through the reads and writes its scopes
    /// open: the whole organisation, as no person (another user's private
    /// call stays redacted, since the key is nobody's).
    pub fn for_api_key(key: ApiKeyId, org: OrgId) -> Self {
        Self {
            user_id: UserId::nobody(),
            org_id: org,
            role: Role::Admin,
            session_id: SessionId(uuid::Uuid::nil()),
            api_key: Some(key),
        }
    }

    /// Whether an API key, not a person, makes the request.
    pub fn is_api_key(&self) -> bool {
        self.api_key.is_some()
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = token_and_state(req);
        Box::pin(async move {
            let (token, state) = credentials?;
            if token.starts_with(PHONE_CREDENTIAL_PREFIX) {
                // A phone credential is never a user credential.
                return Err(ApiError::invalid_token());
            }
            if token.starts_with(API_KEY_PREFIX) {
                // Keys reach only the routes that take `Scoped`.
                return Err(ApiError::Denied {
                    code: ErrorCode::ApiKeyNotAllowed,
                    detail: "this route does not take API keys (docs/integrations.md lists those that do)"
                        .into(),
                });
            }
            let claims = state.keys.verify(&token).map_err(|e| match e {
                TokenError::Expired => ApiError::Unauthorized {
                    code: ErrorCode::TokenExpired,
                },
                _ => ApiError::invalid_token(),
            })?;
            let (session, user) = (claims.sid, claims.sub);
            let row = state
                .db
                .run(move |conn| users::principal(conn, session, user).map_err(ApiError::from))
                .await?
                .ok_or(ApiError::invalid_token())?;
            let org_id = row.org()?;
            if org_id != claims.org {
                return Err(ApiError::invalid_token());
            }
            Ok(AuthUser {
                user_id: user,
                org_id,
                role: row.role()?,
                session_id: session,
                api_key: None,
            })
        })
    }
}
