//! The web console: server-rendered pages for managers, admins and
//! salespeople, served by the API binary itself (docs/console.md).
//!
//! - Pages are askama templates (api/templates/, checked at compile time);
//!   the stylesheet and the few scripts are embedded (api/assets/).
//! - A browser signs in with a cookie bound to a server-side session
//!   ([`session`]); every state change passes the CSRF checks of
//!   [`csrf::ConsoleForm`].
//! - Handlers call the same repo reads and use cases as the JSON API and
//!   take the same [`crate::extract::AuthUser`], so roles and tenancy are
//!   decided by the same code. The JSON API stays the contract
//!   (openapi.yaml); these routes are not part of it.
//! - Every feature adds its pages here: a module in [`pages`], its
//!   templates, its entries in [`console_routes`], its browser test in
//!   tests/browser/.

pub mod assets;
pub mod chrome;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod pages;
pub mod session;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};

use crate::routes::ApiRoute;
use pages::{calls, sign_in};

/// Every console route.
pub fn console_routes() -> Vec<ApiRoute> {
    use crate::routes::at;
    use Method as M;
    vec![
        at(M::GET, "/", sign_in::home),
        at(M::GET, "/sign-in", sign_in::form),
        at(M::POST, "/sign-in", sign_in::submit),
        at(M::POST, "/sign-out", sign_in::sign_out),
        at(M::GET, "/calls", calls::list),
        at(M::GET, "/calls/export.csv", calls::export::csv),
        at(M::GET, "/calls/{id}", calls::detail::show),
        at(M::GET, "/calls/{id}/recording", calls::detail::recording),
        at(M::GET, "/assets/{path:.*}", assets::serve),
    ]
}

/// Whether a request for an unknown path came from a browser page (then
/// it gets the console's 404 page, not a problem document).
pub fn wants_html(req: &HttpRequest) -> bool {
    !req.path().starts_with("/v1/")
        && req
            .headers()
            .get(actix_web::http::header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// The fallback for unknown paths: an HTML page for browsers, a problem
/// document for everyone else.
pub async fn not_found(req: HttpRequest) -> HttpResponse {
    use actix_web::ResponseError;
    let err = crate::error::ApiError::NotFound;
    if wants_html(&req) {
        error::ConsoleError::Api(err).error_response()
    } else {
        err.error_response()
    }
}
