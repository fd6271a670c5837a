//! The browser's session: an HttpOnly, SameSite=Lax cookie (Secure when the
//! request came over TLS) holding a random secret whose SHA-256 names a
//! server-side console session (`usecases::console_sessions`). Revoking the
//! login session, disabling the user, signing out, idling past
//! `console_idle_timeout_secs` or passing `console_session_max_secs` ends it.
//! [`ConsoleUser`] is the extractor every signed-in page takes; it carries
//! the same [`AuthUser`] the JSON API's handlers take, so roles and tenancy
//! are decided by the same code.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, web};
use deskbind_core::auth::secrets;
use deskbind_core::ids::SessionId;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::console_sessions::{self, Lifetimes};
use deskbind_core::wire::Role;
use futures_util::future::LocalBoxFuture;

use super::error::ConsoleError;
use crate::error::ApiError;
use crate::extract::AuthUser;
use crate::state::AppState;

/// The cookie that carries the console session's secret.
pub const SESSION_COOKIE: &str = "deskbind_console";
/// Prefix of the cookie's secret (never valid as an API token).
pub const CONSOLE_SECRET_PREFIX: &str = "dbc_";

/// A signed-in console user.
#[derive(Debug, Clone)]
pub struct ConsoleUser {
    /// What the JSON API's handlers know of a caller.
    pub auth: AuthUser,
    /// This session's synchronizer token; every form carries it.
    pub csrf_token: String,
    pub display_name: String,
    pub email: String,
    /// The user's IANA zone: days and times on pages are in it.
    pub time_zone: String,
}

impl ConsoleUser {
    pub fn is_admin(&self) -> bool {
        self.auth.role == Role::Admin
    }

    /// Managers and admins review others' calls; salespeople only their own.
    pub fn is_manager_or_admin(&self) -> bool {
        matches!(self.auth.role, Role::Admin | Role::Manager)
    }

    pub fn require_admin(&self) -> Result<(), ConsoleError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ConsoleError::forbidden())
        }
    }

    pub fn session(&self) -> SessionId {
        self.auth.session_id
    }
}

pub fn lifetimes(state: &AppState) -> Lifetimes {
    Lifetimes {
        idle_secs: state.settings.console_idle_timeout_secs as i64,
        max_secs: state.settings.console_session_max_secs as i64,
    }
}

/// Whether the browser reached us over TLS (directly or, as the proxy
/// says, through it): then cookies are `Secure`.
pub fn over_tls(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The session cookie for a new secret.
pub fn session_cookie(req: &HttpRequest, secret: String, max_age_secs: u64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, secret)
        .path("/")
        .http_only(true)
        .secure(over_tls(req))
        .same_site(SameSite::Lax)
        .max_age(CookieDuration::seconds(max_age_secs as i64))
        .finish()
}

/// A cookie that tells the browser to forget the session.
pub fn cleared_session_cookie(req: &HttpRequest) -> Cookie<'static> {
    let mut cookie = session_cookie(req, String::new(), 0);
    cookie.make_removal();
    cookie
}

/// Where to come back to after signing in: this request's path and query.
fn return_path(req: &HttpRequest) -> String {
    // A form post cannot be repeated by a redirect: come back to the start.
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return "/".into();
    }
    let uri = req.uri();
    uri.path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| "/".into())
}

impl FromRequest for ConsoleUser {
    type Error = ConsoleError;
    type Future = LocalBoxFuture<'static, Result<Self, ConsoleError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let secret = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let next = return_path(req);
        Box::pin(async move {
            let state = state.ok_or_else(|| ApiError::internal(anyhow::anyhow!("no state")))?;
            let sign_in = || ConsoleError::SignInRequired { next: next.clone() };
            let secret = secret
                .filter(|s| s.starts_with(CONSOLE_SECRET_PREFIX) && s.len() < 128)
                .ok_or_else(sign_in)?;
            let principal = console_sessions::resolve(
                &state.db,
                secrets::hash_secret(&secret),
                lifetimes(&state),
                now_micros(),
            )
            .await
            .map_err(ApiError::from)?
            .ok_or_else(sign_in)?;
            let role = Role::parse(&principal.role).ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!("stored role {:?}", principal.role))
            })?;
            Ok(ConsoleUser {
                auth: AuthUser {
                    user_id: principal.user_id,
                    org_id: principal.org_id,
                    role,
                    session_id: principal.session,
                    api_key: None,
                },
                csrf_token: principal.csrf_token,
                display_name: principal.display_name,
                email: principal.email,
                time_zone: principal.time_zone,
            })
        })
    }
}
