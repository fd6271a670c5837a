//! Repository functions: synchronous diesel queries over [`DbConn`], run by
//! callers through `Database::run`. Every query that takes an id also takes
//! the caller's organisation, so another organisation's ids are not found.

pub mod api_keys;
pub mod app_events;
pub mod audit_events;
pub mod binding_events;
pub mod binding_policy;
pub mod binding_tokens;
pub mod bindings;
pub mod blocklist;
pub mod call_annotation_edits;
pub mod call_annotations;
pub mod call_archives;
pub mod call_history;
pub mod call_list_attempts;
pub mod call_list_completions;
pub mod call_list_returns;
pub mod call_list_tasks;
pub mod call_lists;
pub mod call_records;
pub mod call_rollups;
pub mod call_settings;
pub mod call_task_outcomes;
pub mod console_sessions;
pub mod contact_numbers;
pub mod contact_settings;
pub mod contacts;
pub mod dial_policy;
pub mod dial_rule_sets;
pub mod dials;
pub mod dispositions;
pub mod exports;
pub mod grants;
pub mod jobs;
pub mod legal_holds;
pub mod orgs;
pub mod page;
pub mod phones;
pub mod presence;
pub mod presence_minutes;
pub mod presence_reported;
pub mod provisioning;
pub mod push_devices;
pub mod push_schedules;
pub mod recordings;
pub mod retention_policies;
pub mod retention_purge;
pub mod score_events;
pub mod score_recomputes;
pub mod score_rule_sets;
pub mod sessions;
pub mod sync_seq;
pub mod teams;
pub mod users;
pub mod vendor_links;
pub mod webhook_deliveries;
pub mod webhook_endpoints;
pub mod webhook_log;
pub mod webhook_messages;

pub use crate::db::DbConn;
use crate::db::DbError;

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("not found")]
    NotFound,
    /// A unique constraint refused the write; the caller knows which one.
    #[error("conflicts with an existing row")]
    Conflict,
    /// A stored value could not be read back (e.g. an id that is not a UUID).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<diesel::result::Error> for RepoError {
    fn from(err: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match err {
            Error::NotFound => Self::NotFound,
            Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => Self::Conflict,
            // A referenced row vanished under a concurrent delete.
            Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => Self::NotFound,
            other => Self::Db(DbError::Query(other)),
        }
    }
}

/// Parses an id read from the database.
pub(crate) fn stored_id<T: std::str::FromStr>(raw: &str) -> Result<T, RepoError> {
    raw.parse()
        .map_err(|_| RepoError::Corrupt(format!("id {raw:?}")))
}
