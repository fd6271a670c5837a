//! An organisation's disposition catalogue: the defaults a new
//! organisation starts with, admins adding entries (at most
//! `MAX_DISPOSITIONS`, counted under the organisation's lock) and changing
//! them. Entries are archived, never deleted, so calls keep theirs.

use super::Services;
use crate::db::DbConn;
use crate::domain::FieldError;
use crate::domain::call_outcomes::{DEFAULT_DISPOSITIONS, disposition_code, disposition_label};
use crate::ids::{DispositionId, OrgId};
use crate::repo::dispositions::{self, DispositionRow, Flags};
use crate::repo::{RepoError, orgs};
use crate::time::Micros;
use crate::wire::{CreateDisposition, MAX_DISPOSITIONS, UpdateDisposition};

/// Why a catalogue change was refused.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The organisation has a disposition with this code.
    #[error("code taken")]
    CodeTaken,
    /// The catalogue holds `MAX_DISPOSITIONS` already.
    #[error("catalogue full")]
    Full,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<crate::db::DbError> for CatalogueError {
    fn from(e: crate::db::DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for CatalogueError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// Stores the default catalogue for a new organisation; call inside the
/// transaction that creates it.
pub fn seed_defaults_in(conn: &mut DbConn, org: OrgId, now: Micros) -> Result<(), RepoError> {
    let rows: Vec<DispositionRow> = DEFAULT_DISPOSITIONS
        .iter()
        .zip(1_i64..)
        .map(|(d, order)| {
            let flags = Flags {
                reached: d.reached,
                sale: d.sale,
                do_not_call: d.do_not_call,
                callback: d.callback,
            };
            DispositionRow::new(org, d.code, d.label, flags, order * 10, now)
        })
        .collect();
    dispositions::insert(conn, &rows)
}

/// Adds a disposition; after the existing ones unless `sort_order` says.
pub async fn create(
    services: &Services,
    org: OrgId,
    input: CreateDisposition,
    now: Micros,
) -> Result<DispositionRow, CatalogueError> {
    let code = disposition_code(&input.code)?;
    let label = disposition_label(&input.label)?;
    let flags = Flags {
        reached: input.reached,
        sale: input.sale,
        do_not_call: input.do_not_call,
        callback: input.callback,
    };
    services
        .db
        .write(move |conn| {
            orgs::lock(conn, &org.to_string())?;
            let existing = dispositions::list(conn, org)?;
            if existing.len() >= MAX_DISPOSITIONS {
                return Err(CatalogueError::Full);
            }
            if existing.iter().any(|d| d.code == code) {
                return Err(CatalogueError::CodeTaken);
            }
            let order = input
                .sort_order
                .unwrap_or_else(|| existing.iter().map(|d| d.sort_order).max().unwrap_or(0) + 10);
            let row = DispositionRow::new(org, &code, &label, flags, order, now);
            dispositions::insert(conn, std::slice::from_ref(&row)).map_err(|e| match e {
                RepoError::Conflict => CatalogueError::CodeTaken,
                other => other.into(),
            })?;
            Ok(row)
        })
        .await
}

/// Changes a disposition's label, flags, order or archived state.
pub async fn update(
    services: &Services,
    org: OrgId,
    id: DispositionId,
    change: UpdateDisposition,
    now: Micros,
) -> Result<DispositionRow, CatalogueError> {
    let label = change.label.as_deref().map(disposition_label).transpose()?;
    services
        .db
        .write(move |conn| {
            let mut row = dispositions::get(conn, org, id)?;
            let old = row.flags();
            row.set_flags(Flags {
                reached: change.reached.unwrap_or(old.reached),
                sale: change.sale.unwrap_or(old.sale),
                do_not_call: change.do_not_call.unwrap_or(old.do_not_call),
                callback: change.callback.unwrap_or(old.callback),
            });
            if let Some(label) = label {
                row.label = label;
            }
            if let Some(order) = change.sort_order {
                row.sort_order = order;
            }
            match change.archived {
                Some(true) if row.archived_at.is_none() => row.archived_at = Some(now),
                Some(false) => row.archived_at = None,
                _ => {}
            }
            row.updated_at = now;
            dispositions::update(conn, &row)?;
            Ok(row)
        })
        .await
}
