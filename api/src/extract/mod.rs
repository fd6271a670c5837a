//! Request extractors. A handler's signature says who may call it
//! (`AuthUser`, `Scoped` for routes API keys may call too, or `AuthPhone`) and what it reads (`Json`, `PageParams`).

mod auth_phone;
mod auth_user;
mod bearer;
mod body_shape;
mod json;
mod objects_only;
mod page;
mod query;
mod scoped;

pub use auth_phone::AuthPhone;
pub use auth_user::AuthUser;
pub use json::{BatchBody, BatchJson, Json, parse as parse_json};
pub use page::{MonthPageParams, PageParams, SeqPageParams};
pub use query::{Query, id_param, time_param};
pub use scoped::{CallsRead, ContactsRead, ContactsWrite, RecordingsRead, RouteScope, Scoped};

/// Parses an id from the path; an id that is not even a UUID cannot exist,
/// so it is a 404 like any other unknown id.
pub fn path_id<T: std::str::FromStr>(raw: &str) -> Result<T, crate::error::ApiError> {
    raw.parse().map_err(|_| crate::error::ApiError::NotFound)
}

/// The address of the TCP peer. Proxy headers are not trusted: rate limits
/// keyed on them would be trivially evaded.
pub fn peer_ip(req: &actix_web::HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
