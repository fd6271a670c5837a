//! The route table. Every route is declared once in [`api_routes`]; the app
//! registers exactly that list, and a test compares it with openapi.yaml, so
//! the contract cannot drift from the code. Paths that exist answer 405 for
//! other methods; unknown paths answer 404, both as problem+json.

pub(crate) mod api_keys;
pub(crate) mod archives;
pub(crate) mod audit_events;
pub(crate) mod auth;
pub(crate) mod binding_events;
pub(crate) mod binding_policy;
pub(crate) mod bindings;
pub(crate) mod blocklist;
pub(crate) mod blocklist_csv;
pub mod call_export;
pub(crate) mod call_list_csv;
pub(crate) mod call_list_work;
pub(crate) mod call_lists;
pub(crate) mod call_outcomes;
mod call_records;
pub(crate) mod call_stats;
pub(crate) mod call_tallies;
pub mod calls;
pub(crate) mod contact_export;
pub(crate) mod contact_import;
mod contact_lookup;
mod contact_settings;
pub(crate) mod contacts;
mod device;
pub(crate) mod dial_policy;
pub(crate) mod dial_rules;
mod dials;
pub(crate) mod dispositions;
mod events;
pub(crate) mod exports;
pub(crate) mod grants;
mod ops;
pub(crate) mod phones;
pub(crate) mod presence;
pub(crate) mod push;
pub mod recording_download;
mod recordings;
pub(crate) mod retention;
mod score_events;
pub(crate) mod score_rules;
pub(crate) mod teams;
pub mod users;
mod vendor_events;
pub(crate) mod vendor_phones;
pub(crate) mod webhooks;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, Responder, Route, web};

use crate::error::ApiError;
use crate::phone_channel;

pub struct ApiRoute {
    pub method: Method,
    pub path: &'static str,
    route: Route,
}

impl std::fmt::Debug for ApiRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

pub(crate) fn at<F, Args>(method: Method, path: &'static str, handler: F) -> ApiRoute
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    ApiRoute {
        route: web::route().method(method.clone()).to(handler),
        method,
        path,
    }
}

/// Every route the API serves.
pub fn api_routes() -> Vec<ApiRoute> {
    use Method as M;
    vec![
        at(M::GET, "/healthz", ops::healthz),
        at(M::GET, "/readyz", ops::readyz),
        at(M::GET, "/metrics", ops::metrics),
        at(M::POST, "/v1/auth/login", auth::login),
        at(M::POST, "/v1/auth/refresh", auth::refresh),
        at(M::POST, "/v1/auth/logout", auth::logout),
        at(M::GET, "/v1/me", auth::me),
        at(M::GET, "/v1/users", users::list),
        at(M::POST, "/v1/users", users::create),
        at(M::GET, "/v1/users/{id}", users::get),
        at(M::PATCH, "/v1/users/{id}", users::update),
        at(M::GET, "/v1/teams", teams::list),
        at(M::POST, "/v1/teams", teams::create),
        at(M::GET, "/v1/teams/{id}", teams::get),
        at(M::PATCH, "/v1/teams/{id}", teams::rename),
        at(M::DELETE, "/v1/teams/{id}", teams::delete),
        at(M::GET, "/v1/teams/{id}/members", teams::members),
        at(
            M::PUT,
            "/v1/teams/{id}/members/{user_id}",
            teams::add_member,
        ),
        at(
            M::DELETE,
            "/v1/teams/{id}/members/{user_id}",
            teams::remove_member,
        ),
        at(M::GET, "/v1/phones", phones::list),
        at(M::POST, "/v1/phones", phones::create),
        at(M::GET, "/v1/phones/{id}", phones::get),
        at(M::PATCH, "/v1/phones/{id}", phones::update),
        at(
            M::POST,
            "/v1/phones/{id}/provisioning-code",
            phones::provisioning_code,
        ),
        at(
            M::DELETE,
            "/v1/phones/{id}/credential",
            phones::revoke_credential,
        ),
        at(
            M::GET,
            "/v1/phones/{id}/vendor-config",
            vendor_phones::config,
        ),
        at(
            M::POST,
            "/v1/phones/{id}/vendor-token",
            vendor_phones::issue_token,
        ),
        at(
            M::DELETE,
            "/v1/phones/{id}/vendor-token",
            vendor_phones::revoke_token,
        ),
        at(M::GET, "/v1/vendor-events/{token}", vendor_events::receive),
        at(M::GET, "/v1/phones/{id}/grants", grants::get),
        at(M::PUT, "/v1/phones/{id}/grants", grants::put),
        at(M::GET, "/v1/binding-policy", binding_policy::get),
        at(M::PUT, "/v1/binding-policy", binding_policy::put),
        at(M::GET, "/v1/bindings", bindings::list),
        at(M::POST, "/v1/bindings", bindings::create),
        at(M::GET, "/v1/bindings/{id}", bindings::get),
        at(M::DELETE, "/v1/bindings/{id}", bindings::delete),
        at(M::GET, "/v1/binding-events", binding_events::list),
        at(M::GET, "/v1/audit-events", audit_events::list),
        at(M::GET, "/v1/dial-policy", dial_policy::get),
        at(M::PUT, "/v1/dial-policy", dial_policy::put),
        at(M::GET, "/v1/dial-rules", dial_rules::get),
        at(M::PUT, "/v1/dial-rules", dial_rules::put),
        // The blocklist (docs/blocklist.md); the fixed paths before
        // /v1/blocklist/{id}, which would otherwise take them as ids.
        at(M::GET, "/v1/blocklist", blocklist::list),
        at(M::HEAD, "/v1/blocklist", blocklist::check),
        at(M::POST, "/v1/blocklist", blocklist::create),
        at(M::GET, "/v1/blocklist/export.csv", blocklist_csv::export),
        at(M::POST, "/v1/blocklist/import", blocklist_csv::import),
        at(M::GET, "/v1/blocklist/{id}", blocklist::get),
        at(M::PATCH, "/v1/blocklist/{id}", blocklist::update),
        at(M::DELETE, "/v1/blocklist/{id}", blocklist::delete),
        at(M::GET, "/v1/dials", dials::list),
        at(M::POST, "/v1/dials", dials::create),
        at(M::POST, "/v1/dials/check", dials::check),
        at(M::GET, "/v1/dials/{id}", dials::get),
        at(M::POST, "/v1/dials/{id}/cancel", dials::cancel),
        at(M::GET, "/v1/dials/{id}/nfc", dials::nfc),
        at(M::GET, "/v1/events", events::stream),
        at(M::POST, "/v1/call-records", call_records::app_upload),
        at(
            M::PUT,
            "/v1/phones/{id}/recordings/{call_id}",
            recordings::app_put,
        ),
        at(
            M::POST,
            "/v1/phones/{id}/recordings/{call_id}/uploads",
            recordings::app_create_upload,
        ),
        at(
            M::POST,
            "/v1/recording-uploads/{id}/complete",
            recordings::app_complete_upload,
        ),
        at(M::GET, "/v1/sync/calls", calls::sync),
        // Before /v1/calls/{id}, which would otherwise take "export.csv" as an id.
        at(M::GET, "/v1/calls/export.csv", call_export::csv),
        at(M::GET, "/v1/calls", calls::list),
        at(M::GET, "/v1/calls/{id}", calls::get),
        // What came of a call (docs/call-outcomes.md).
        at(M::PATCH, "/v1/calls/{id}", call_outcomes::update),
        at(M::GET, "/v1/calls/{id}/history", call_outcomes::history),
        // API keys for integrations (docs/integrations.md).
        at(M::GET, "/v1/api-keys", api_keys::list),
        at(M::POST, "/v1/api-keys", api_keys::create),
        at(M::DELETE, "/v1/api-keys/{id}", api_keys::revoke),
        // Retention and legal holds (docs/retention.md).
        at(M::GET, "/v1/retention", retention::get),
        at(M::PUT, "/v1/retention", retention::put),
        at(M::GET, "/v1/legal-holds", retention::list_holds),
        at(M::POST, "/v1/legal-holds", retention::place_hold),
        at(M::DELETE, "/v1/legal-holds/{id}", retention::release_hold),
        at(M::GET, "/v1/archives", archives::list),
        at(M::GET, "/v1/archives/{month}", archives::download),
        at(M::POST, "/v1/exports", exports::create),
        at(M::GET, "/v1/exports", exports::list),
        at(M::GET, "/v1/exports/{id}", exports::get),
        at(M::GET, "/v1/exports/{id}/download", exports::download),
        // Signed webhooks (docs/integrations.md, "Webhooks").
        at(M::GET, "/v1/webhook-endpoints", webhooks::list),
        at(M::POST, "/v1/webhook-endpoints", webhooks::create),
        at(M::GET, "/v1/webhook-endpoints/{id}", webhooks::get),
        at(M::PATCH, "/v1/webhook-endpoints/{id}", webhooks::update),
        at(M::DELETE, "/v1/webhook-endpoints/{id}", webhooks::delete),
        at(
            M::POST,
            "/v1/webhook-endpoints/{id}/rotate-secret",
            webhooks::rotate_secret,
        ),
        at(
            M::POST,
            "/v1/webhook-endpoints/{id}/test",
            webhooks::send_test,
        ),
        at(
            M::GET,
            "/v1/webhook-endpoints/{id}/deliveries",
            webhooks::deliveries,
        ),
        at(
            M::POST,
            "/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/replay",
            webhooks::replay,
        ),
        at(M::GET, "/v1/dispositions", dispositions::list),
        at(M::POST, "/v1/dispositions", dispositions::create),
        at(M::PATCH, "/v1/dispositions/{id}", dispositions::update),
        at(M::GET, "/v1/call-settings", call_outcomes::get_settings),
        at(M::PUT, "/v1/call-settings", call_outcomes::put_settings),
        at(
            M::GET,
            "/v1/calls/{id}/recording",
            recording_download::download,
        ),
        at(M::GET, "/v1/stats/calls", call_stats::get),
        // Contacts (docs/contacts.md). The fixed paths come before
        // /v1/contacts/{id}, which would otherwise take them as ids.
        at(M::GET, "/v1/contacts/lookup", contact_lookup::lookup),
        at(M::GET, "/v1/contacts/export.csv", contact_export::csv),
        at(M::POST, "/v1/contacts/import", contact_import::import),
        at(M::GET, "/v1/contacts", contacts::list),
        at(M::POST, "/v1/contacts", contacts::create),
        at(M::GET, "/v1/contacts/{id}", contacts::get),
        at(M::PATCH, "/v1/contacts/{id}", contacts::update),
        at(M::DELETE, "/v1/contacts/{id}", contacts::delete),
        at(M::POST, "/v1/contacts/{id}/merge", contacts::merge),
        at(M::GET, "/v1/contact-settings", contact_settings::get),
        at(M::PUT, "/v1/contact-settings", contact_settings::put),
        at(M::GET, "/v1/score-rules", score_rules::get),
        at(M::PUT, "/v1/score-rules", score_rules::put),
        at(M::GET, "/v1/score-recomputes/{id}", score_rules::recompute),
        at(M::GET, "/v1/contacts/{id}/score-events", score_events::list),
        at(M::GET, "/v1/push/devices", push::list),
        at(M::POST, "/v1/push/devices", push::register),
        at(M::DELETE, "/v1/push/devices/{id}", push::delete),
        at(M::GET, "/v1/push/schedule", push::get_schedule),
        at(M::PUT, "/v1/push/schedule", push::put_schedule),
        at(M::GET, "/v1/push/default-schedule", push::get_default),
        at(M::PUT, "/v1/push/default-schedule", push::put_default),
        at(M::POST, "/v1/push/request", push::request),
        at(M::POST, "/v1/phone/provision", device::provision),
        at(M::GET, "/v1/phone/me", device::me),
        at(M::POST, "/v1/phone/bindings", device::bind_user),
        at(M::POST, "/v1/phone/binding-tokens", device::binding_token),
        at(M::GET, "/v1/phone/dial-keys", device::dial_keys),
        at(M::GET, "/v1/phone/ws", phone_channel::socket::connect),
        at(
            M::GET,
            "/v1/phone/commands",
            phone_channel::long_poll::commands,
        ),
        at(
            M::POST,
            "/v1/phone/events",
            phone_channel::long_poll::events,
        ),
        at(
            M::POST,
            "/v1/phone/call-records",
            call_records::phone_upload,
        ),
        at(M::PUT, "/v1/phone/recordings/{call_id}", recordings::put),
        at(
            M::POST,
            "/v1/phone/recordings/{call_id}/uploads",
            recordings::create_upload,
        ),
        at(
            M::POST,
            "/v1/phone/recording-uploads/{id}/complete",
            recordings::complete_upload,
        ),
        at(M::GET, "/v1/me/presence", presence::get_mine),
        at(M::PUT, "/v1/me/presence", presence::put_mine),
        at(M::GET, "/v1/presences", presence::list),
        at(M::GET, "/v1/presence-settings", presence::get_settings),
        at(M::PUT, "/v1/presence-settings", presence::put_settings),
        at(M::POST, "/v1/call-lists", call_lists::create),
        at(M::GET, "/v1/call-lists", call_lists::list),
        at(M::GET, "/v1/call-lists/{id}", call_lists::get),
        at(M::PATCH, "/v1/call-lists/{id}", call_lists::update),
        at(M::POST, "/v1/call-lists/{id}/tasks", call_lists::import),
        at(M::GET, "/v1/call-lists/{id}/tasks", call_lists::tasks),
        at(M::GET, "/v1/call-lists/{id}/report", call_lists::report),
        at(M::GET, "/v1/call-lists/{id}/attempts", call_lists::attempts),
        at(
            M::POST,
            "/v1/call-lists/{id}/reassign",
            call_lists::reassign,
        ),
        at(M::POST, "/v1/me/call-list/next", call_list_work::next),
        at(
            M::POST,
            "/v1/me/call-list/tasks/{id}/skip",
            call_list_work::skip,
        ),
        at(
            M::POST,
            "/v1/me/call-list/tasks/{id}/dial",
            call_list_work::dial,
        ),
    ]
}

/// (method, path) of every route, for the contract test.
pub fn route_signatures() -> Vec<(String, &'static str)> {
    api_routes()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect()
}

/// Registers [`api_routes`] and the console's pages
/// ([`crate::console::console_routes`]), one resource per path.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let mut by_path: Vec<(&'static str, Vec<Route>)> = Vec::new();
    for r in api_routes()
        .into_iter()
        .chain(crate::console::console_routes())
    {
        match by_path.iter_mut().find(|(p, _)| *p == r.path) {
            Some((_, routes)) => routes.push(r.route),
            None => by_path.push((r.path, vec![r.route])),
        }
    }
    for (path, routes) in by_path {
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |res, route| res.route(route))
            .default_service(web::to(method_not_allowed));
        cfg.service(resource);
    }
}

async fn method_not_allowed() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}

/// A JSON response that carries a secret (tokens, credentials, codes): never
/// stored by caches (RFC 6749 section 5.1).
pub fn secret_json(
    mut builder: actix_web::HttpResponseBuilder,
    body: &impl serde::Serialize,
) -> actix_web::HttpResponse {
    builder
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .insert_header((actix_web::http::header::PRAGMA, "no-cache"))
        .json(body)
}

/// `/metrics` on the separate metrics listener.
pub async fn metrics_exposition() -> actix_web::HttpResponse {
    ops::exposition()
}

pub async fn not_found() -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound)
}
