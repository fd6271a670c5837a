//! Use cases: one module per capability (bindings, dials, records, push,
//! provisioning, people). This is the only layer that writes.
//!
//! A use case owns everything a change needs: it opens the write
//! transaction ([`crate::db::Database::write`], which on SQLite queues the
//! body for the process's one writer; [`crate::db::write_tx`] on a
//! connection for sync callers), takes row locks in the documented
//! order (organisation → binding → user → push schedule), runs the checks
//! (the pure rules live in [`crate::domain`]), calls the table functions in
//! [`crate::repo`] (one module per table, no transactions, no imports of
//! each other), and once the transaction has committed runs what follows
//! it ([`AfterCommit`]: frames to phones, wakes of users' event streams).
//!
//! An entry point is async and runs its transaction through
//! `Database::write` (reads through the pool). One
//! with after-commit effects takes [`Services`]; one with none (push
//! schedules and jobs, record ingest, recordings, the dial policy) takes
//! only the [`Database`], so the worker's push loops need no relay. Sync
//! `*_in` functions take a connection for callers that hold one already.
//!
//! API handlers and worker loops call use cases and nothing else writes, so
//! a binding ended by the worker's expiry sweep tells the phone exactly as
//! one ended through the API does.

mod after_commit;
pub mod api_keys;
pub mod app_events;
pub mod archive_downloads;
pub mod audit;
pub mod binding_policy;
pub mod binding_tokens;
pub mod bindings;
pub mod blocklist;
pub mod blocklist_check;
pub mod call_csv;
pub mod call_list_callbacks;
pub mod call_list_completions;
pub mod call_list_dials;
pub mod call_list_handback;
pub mod call_list_import;
pub mod call_list_power;
pub mod call_list_reassign;
pub mod call_list_reports;
pub mod call_list_work;
pub mod call_lists;
pub mod call_outcomes;
pub mod call_record_events;
pub mod call_rollups;
pub mod call_settings;
pub mod console_sessions;
pub mod contact_import;
pub mod contact_links;
pub mod contact_lookup;
pub mod contact_merge;
pub mod contact_reads;
pub mod contacts;
pub mod dial_authorisation;
pub mod dial_policy;
pub mod dial_reports;
pub mod dial_rules;
pub mod dial_sweeps;
pub mod dials;
pub mod digests;
pub mod dispositions;
pub mod export_files;
pub mod exports;
pub mod grants;
pub mod housekeeping;
pub mod legal_holds;
pub mod orgs;
pub mod phone_frames;
pub mod phones;
pub mod planner_stats;
pub mod presence;
pub mod presence_reports;
pub mod presence_time;
pub mod provisioning;
pub mod push_devices;
pub mod push_jobs;
pub mod push_schedules;
pub mod record_ingest;
pub mod record_reads;
pub mod recordings;
pub mod retention;
pub mod retention_archive;
pub mod retention_purge;
mod score_increments;
pub mod score_ledger;
pub mod score_recompute;
pub mod score_rules;
pub mod scoring;
pub mod sessions;
pub mod teams;
pub mod users;
pub mod vendor_events;
pub mod vendor_links;
pub mod webhook_delivery;
pub mod webhook_endpoints;
pub mod webhook_outbox;

pub use after_commit::{AfterCommit, Effect};

use crate::db::Database;
use crate::relay::Relay;

/// What every use case may touch: the database and the relay that carries
/// after-commit notices to phones and to users' streams. Cheap to clone.
#[derive(Clone)]
pub struct Services {
    pub db: Database,
    pub relay: Relay,
    /// The time dial authorisation reads (a settable one in tests).
    pub clock: crate::time::Clock,
}

impl std::fmt::Debug for Services {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Services")
            .field("backend", &self.db.backend())
            .field("relay_node", &self.relay.node())
            .finish()
    }
}

impl Services {
    pub fn new(db: Database, relay: Relay) -> Self {
        Self {
            db,
            relay,
            clock: crate::time::Clock::system(),
        }
    }

    /// The same services reading the time from `clock`.
    pub fn with_clock(self, clock: crate::time::Clock) -> Self {
        Self { clock, ..self }
    }
}
