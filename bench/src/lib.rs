//! deskbind-bench: load benchmarks that drive real `deskbind-api` processes
//! from the outside, the way phones and apps do. The `relay` binary measures
//! how long a dial takes from being stored to reaching its phone, and what
//! an idle phone connection costs the server. The `vendor-relay` binary
//! measures an app dial to a vendor desk phone's HTTP request through the
//! office relay.

// A benchmark reports its progress and figures on stdout.
#![allow(clippy::print_stdout)]

pub mod cluster;
pub mod contacts_fixture;
pub mod dials;
pub mod phones;
pub mod records_fixture;
pub mod records_ingest;
pub mod records_query;
pub mod report;
pub mod setup;
pub mod statement_profile;
pub mod sys;
pub mod vendor_calls;
pub mod vendor_dials;
pub mod vendor_office;
pub mod vendor_report;
pub mod vendor_rig;
pub mod webhook_receiver;
