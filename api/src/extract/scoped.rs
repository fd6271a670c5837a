//! `Scoped<S>`: a route that people and API keys may call. A person's
//! access token goes through `AuthUser` as everywhere; an API key
//! (`dbk_…`) is checked against the stored keys on every request (so a
//! revoked key stops at once), rate-limited per key, and must carry the
//! route's scope `S`. Routes that take plain `AuthUser` refuse keys with
//! 403 `api_key_not_allowed`; phone routes never see them.

use std::marker::PhantomData;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use deskbind_core::auth::secrets::API_KEY_PREFIX;
use deskbind_core::usecases::api_keys;
use deskbind_core::wire::{ApiKeyScope, ErrorCode};
use futures_util::future::LocalBoxFuture;

use super::AuthUser;
use super::bearer::token_and_state;
use crate::error::ApiError;

/// The scope a route needs from an API key.
pub trait RouteScope {
    const SCOPE: ApiKeyScope;
}

macro_rules! route_scope {
    ($($name:ident => $scope:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy)]
        pub struct $name;
        impl RouteScope for $name {
            const SCOPE: ApiKeyScope = ApiKeyScope::$scope;
        }
    )*};
}

route_scope!(
    CallsRead => CallsRead,
    RecordingsRead => RecordingsRead,
    ContactsRead => ContactsRead,
    ContactsWrite => ContactsWrite,
);

/// The caller: a person, or an API key with scope `S` seen as
/// [`AuthUser::for_api_key`].
#[derive(Debug, Clone, Copy)]
pub struct Scoped<S>(pub AuthUser, pub PhantomData<S>);

impl<S: RouteScope + 'static> FromRequest for Scoped<S> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let is_key = super::bearer::bearer_token(req)
            .map(|t| t.starts_with(API_KEY_PREFIX))
            .unwrap_or(false);
        if !is_key {
            let person = AuthUser::from_request(req, payload);
            return Box::pin(async move { Ok(Scoped(person.await?, PhantomData)) });
        }
        let credentials = token_and_state(req);
        Box::pin(async move {
            let (token, state) = credentials?;
            let key = api_keys::authenticate(&state.db, &token, state.clock.now())
                .await
                .map_err(ApiError::from)?
                .ok_or_else(ApiError::invalid_token)?;
            state.limits.api_key(&key.id.to_string())?;
            if !key.allows(S::SCOPE) {
                return Err(ApiError::Denied {
                    code: ErrorCode::InsufficientScope,
                    detail: format!("this route needs the scope {}", S::SCOPE.as_str()),
                });
            }
            Ok(Scoped(AuthUser::for_api_key(key.id, key.org), PhantomData))
        })
    }
}
