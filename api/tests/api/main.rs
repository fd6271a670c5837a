//! Integration tests: one binary, each test with its own database
//! (DESKBIND_TEST_BACKEND=sqlite|postgres) and its own server on port 0,
//! driven through the deskbind-mobile SDK and, for malformed input, raw HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod app_recordings;
mod auth;
mod binding_audit;
mod binding_races;
mod bindings;
mod cli;
mod contract;
mod dial_nfc;
mod dial_races;
mod dialing;
mod errors;
mod helpers;
mod multi_node;
mod nfc;
mod ops;
mod phone_channel;
mod phones;
mod push;
mod recording_formats;
mod recording_ranges;
mod recordings;
mod records;
mod s3;
mod tenancy;
mod tokens;
mod users;
mod worker;
