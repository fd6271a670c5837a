//! deskbind-api: the HTTP API server. `startup::Application` builds and runs
//! it; `routes::api_routes` is the one list of routes; `error::ApiError` is
//! the one error type.

pub mod binding_errors;
pub mod blocklist_errors;
pub mod byte_ranges;
pub mod cli;
pub mod console;
pub mod dial_errors;
pub mod drain;
pub mod error;
pub mod extract;
pub mod http_server;
pub mod log_span;
pub mod metrics;
pub mod password_work;
pub mod phone_channel;
pub mod presence_gauges;
pub mod rate_limit;
pub mod recording_intake;
pub mod request_scope;
pub mod routes;
pub mod sse;
pub mod startup;
pub mod state;
pub mod vendor_event_limits;

pub use startup::Application;
