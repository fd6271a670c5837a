//! `AuthPhone`: a desk phone presenting its live device credential. Only
//! `/v1/phone/...` routes take it; user tokens never pass here.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use deskbind_core::auth::secrets::{PHONE_CREDENTIAL_PREFIX, hash_secret};
use deskbind_core::ids::{OrgId, PhoneId};
use deskbind_core::repo::phones::{self, PhoneRow};
use futures_util::future::LocalBoxFuture;

use super::bearer::token_and_state;
use crate::error::ApiError;

#[derive(Debug, Clone)]
pub struct AuthPhone {
    pub phone_id: PhoneId,
    pub org_id: OrgId,
    pub row: PhoneRow,
    /// The presented credential's hash, rechecked inside a transaction
    /// where a concurrent revoke matters.
    pub credential_hash: String,
}

impl FromRequest for AuthPhone {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let credentials = token_and_state(req);
        Box::pin(async move {
            let (token, state) = credentials?;
            if !token.starts_with(PHONE_CREDENTIAL_PREFIX) {
                return Err(ApiError::invalid_token());
            }
            let credential_hash = hash_secret(&token);
            let hash = credential_hash.clone();
            let row = state
                .db
                .run(move |conn| phones::principal(conn, &hash).map_err(ApiError::from))
                .await?
                .ok_or(ApiError::invalid_token())?;
            let org_id = row
                .org_id
                .parse()
                .map_err(|_| ApiError::internal(anyhow::anyhow!("corrupt org id")))?;
            Ok(AuthPhone {
                phone_id: row.phone_id()?,
                org_id,
                row,
                credential_hash,
            })
        })
    }
}
