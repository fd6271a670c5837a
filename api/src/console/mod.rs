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
pub mod field_errors;
pub mod headers;
pub mod pages;
pub mod session;
pub mod time;

use actix_web::http::Method;
use actix_web::{HttpRequest, HttpResponse};

use crate::routes::ApiRoute;
use pages::{
    admin, audit, blocklist, call_lists, calls, contacts, exports, imports, live, phones, sign_in,
    stats,
};

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
        at(M::GET, "/stats", stats::page),
        at(M::GET, "/exports", exports::page),
        at(M::POST, "/exports", exports::create),
        at(M::GET, "/exports/{id}/download", exports::download),
        at(M::GET, "/audit", audit::page),
        at(M::GET, "/assets/{path:.*}", assets::serve),
        at(M::GET, "/admin", admin::index),
        at(M::GET, "/admin/users", admin::users::list),
        at(M::POST, "/admin/users", admin::users::create),
        at(M::GET, "/admin/users/{id}", admin::user_page::show),
        at(
            M::POST,
            "/admin/users/{id}",
            admin::user_page::update_profile,
        ),
        at(
            M::POST,
            "/admin/users/{id}/teams",
            admin::user_page::set_teams,
        ),
        at(
            M::POST,
            "/admin/users/{id}/status",
            admin::user_page::set_status,
        ),
        at(
            M::POST,
            "/admin/users/{id}/password",
            admin::user_page::set_password,
        ),
        at(M::GET, "/admin/teams", admin::teams::list),
        at(M::POST, "/admin/teams", admin::teams::create),
        at(M::GET, "/admin/teams/{id}", admin::teams::show),
        at(M::POST, "/admin/teams/{id}", admin::teams::rename),
        at(M::POST, "/admin/teams/{id}/delete", admin::teams::delete),
        at(
            M::POST,
            "/admin/teams/{id}/members",
            admin::teams::add_member,
        ),
        at(
            M::POST,
            "/admin/teams/{id}/members/{user_id}/remove",
            admin::teams::remove_member,
        ),
        at(M::GET, "/admin/bindings", admin::bindings::list),
        at(M::POST, "/admin/bindings/{id}/end", admin::bindings::end),
        at(M::GET, "/admin/bindings/log", admin::bindings::log),
        at(M::GET, "/admin/policies", admin::policies::show),
        at(
            M::POST,
            "/admin/policies/binding",
            admin::policies::save_binding,
        ),
        at(M::POST, "/admin/policies/dial", admin::policies::save_dial),
        at(M::GET, "/admin/dial-rules", admin::dial_rules::show),
        at(M::POST, "/admin/dial-rules", admin::dial_rules::save),
        at(M::GET, "/admin/push", admin::push::show),
        at(M::POST, "/admin/push", admin::push::save),
        at(M::GET, "/live", live::page),
        at(M::GET, "/live/events", live::events),
        at(M::GET, "/admin/phones", phones::index),
        at(M::POST, "/admin/phones", phones::register),
        at(M::GET, "/admin/phones/{id}", phones::show),
        at(
            M::POST,
            "/admin/phones/{id}/provisioning-code",
            phones::issue_code,
        ),
        at(M::POST, "/admin/phones/{id}/bind", phones::bind),
        at(M::POST, "/admin/phones/{id}/unbind", phones::unbind),
        at(M::POST, "/admin/phones/{id}/grants", phones::set_grants),
        at(M::POST, "/admin/phones/{id}/revoke", phones::revoke),
        at(M::POST, "/admin/phones/{id}/enabled", phones::set_enabled),
        at(M::POST, "/admin/phones/{id}/driver", phones::set_driver),
        at(
            M::POST,
            "/admin/phones/{id}/vendor-token",
            phones::issue_vendor_token,
        ),
        at(
            M::POST,
            "/admin/phones/{id}/vendor-token/revoke",
            phones::revoke_vendor_token,
        ),
        at(M::GET, "/contacts", contacts::list),
        at(M::POST, "/contacts", contacts::edit::create),
        at(M::GET, "/contacts/new", contacts::edit::new_form),
        at(M::GET, "/contacts/export.csv", contacts::export),
        at(M::GET, "/contacts/import", imports::contacts_form),
        at(M::POST, "/contacts/import", imports::import_contacts),
        at(M::GET, "/contacts/{id}", contacts::detail::show),
        at(M::POST, "/contacts/{id}", contacts::edit::update),
        at(M::GET, "/contacts/{id}/edit", contacts::edit::edit_form),
        at(M::POST, "/contacts/{id}/delete", contacts::detail::delete),
        at(M::GET, "/blocklist", blocklist::list),
        at(M::POST, "/blocklist", blocklist::add),
        at(M::GET, "/blocklist/export.csv", blocklist::export),
        at(M::GET, "/blocklist/import", imports::blocklist_form),
        at(M::POST, "/blocklist/import", imports::import_blocklist),
        at(M::GET, "/blocklist/{id}", blocklist::show),
        at(M::POST, "/blocklist/{id}", blocklist::update),
        at(M::POST, "/blocklist/{id}/delete", blocklist::delete),
        at(M::GET, "/admin/webhooks", admin::webhooks::list),
        at(M::POST, "/admin/webhooks", admin::webhooks::create),
        at(M::GET, "/admin/webhooks/{id}", admin::webhook_page::show),
        at(M::POST, "/admin/webhooks/{id}", admin::webhook_page::update),
        at(
            M::POST,
            "/admin/webhooks/{id}/rotate",
            admin::webhook_page::rotate,
        ),
        at(
            M::POST,
            "/admin/webhooks/{id}/test",
            admin::webhook_page::send_test,
        ),
        at(
            M::POST,
            "/admin/webhooks/{id}/delete",
            admin::webhook_page::delete,
        ),
        at(
            M::POST,
            "/admin/webhooks/{id}/deliveries/{delivery_id}/replay",
            admin::webhook_page::replay,
        ),
        at(M::GET, "/admin/retention", admin::retention::show),
        at(
            M::GET,
            "/admin/archives/{month}",
            admin::retention::download_archive,
        ),
        at(M::POST, "/admin/retention", admin::retention::save),
        at(M::POST, "/admin/legal-holds", admin::retention::place),
        at(
            M::POST,
            "/admin/legal-holds/{id}/release",
            admin::retention::release,
        ),
        at(M::GET, "/admin/api-keys", admin::api_keys::list),
        at(M::POST, "/admin/api-keys", admin::api_keys::create),
        at(
            M::POST,
            "/admin/api-keys/{id}/revoke",
            admin::api_keys::revoke,
        ),
        at(M::GET, "/admin/dispositions", admin::dispositions::list),
        at(M::POST, "/admin/dispositions", admin::dispositions::create),
        at(
            M::POST,
            "/admin/dispositions/{id}",
            admin::dispositions::update,
        ),
        at(M::GET, "/admin/score-rules", admin::score_rules::show),
        at(M::POST, "/admin/score-rules", admin::score_rules::save),
        at(M::GET, "/admin/settings", admin::settings::show),
        at(
            M::POST,
            "/admin/settings/contacts",
            admin::settings::save_contacts,
        ),
        at(
            M::POST,
            "/admin/settings/calls",
            admin::settings::save_calls,
        ),
        at(
            M::POST,
            "/admin/settings/presence",
            admin::settings::save_presence,
        ),
        at(M::POST, "/calls/{id}/outcome", calls::outcome::save),
        at(M::GET, "/call-lists", call_lists::index::list),
        at(M::POST, "/call-lists", call_lists::index::create),
        at(M::GET, "/call-lists/{id}", call_lists::detail::show),
        at(
            M::POST,
            "/call-lists/{id}/state",
            call_lists::actions::change_state,
        ),
        at(
            M::POST,
            "/call-lists/{id}/tasks",
            call_lists::actions::upload,
        ),
        at(
            M::POST,
            "/call-lists/{id}/reassign",
            call_lists::actions::reassign,
        ),
        at(M::GET, "/call-lists/{id}/events", call_lists::events),
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
