//! Integration tests: one binary, each test with its own database
//! (DESKBIND_TEST_BACKEND=sqlite|postgres) and its own server on port 0,
//! driven through the deskbind-mobile SDK and, for malformed input, raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin_races;
mod app_recordings;
mod array_bodies;
mod auth;
mod binding_audit;
mod binding_races;
mod bindings;
mod call_filters;
mod cli;
mod console_live;
mod console_phones;
mod console_sessions;
mod contract;
mod dial_nfc;
mod dial_races;
mod dialing;
mod drain;
mod error_codes;
mod errors;
mod helpers;
mod limit_races;
mod multi_node;
mod nfc;
mod ops;
mod outage;
mod phone_channel;
mod phone_event_limits;
mod phone_frame_limits;
mod phones;
mod push;
mod raw_http;
mod raw_ws;
mod recording_formats;
mod recording_ranges;
mod recordings;
mod records;
mod request_ids;
mod s3;
mod tenancy;
mod tokens;
mod transport;
mod users;
mod worker;
