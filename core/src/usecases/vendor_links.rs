//! Admins giving a vendor phone direct mode (docs/vendor-phones.md,
//! "Direct mode"): a random event token for its Action URLs, stored hashed
//! and shown once, optionally bound to the handset's MAC address.

use super::audit::{Entry, by_user};
use super::vendor_events;
use crate::auth::secrets::{RandomError, hash_secret, new_secret};
use crate::db::{Database, DbError};
use crate::domain::FieldError;
use crate::ids::{OrgId, PhoneId, UserId};
use crate::repo::vendor_links::{self, VendorLinkRow};
use crate::repo::{RepoError, phones};
use crate::time::now_micros;
use crate::vendor::events::normalise_mac;
use crate::vendor::{CallTracker, Vendor};
use crate::wire::{AuditAction, ErrorCode};

/// What every event token starts with, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "dbv_";

#[derive(Debug, thiserror::Error)]
pub enum VendorLinkError {
    /// The phone has no driver: it speaks deskbind's protocol.
    #[error("the phone has no vendor driver")]
    NoDriver,
    #[error(transparent)]
    Invalid(#[from] FieldError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for VendorLinkError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for VendorLinkError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

/// A token as issued: shown to the admin this once.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    pub token: String,
    pub vendor: Vendor,
    pub mac: Option<String>,
}

/// The MAC an admin typed, normalised, or why not.
pub fn parse_mac(raw: Option<&str>) -> Result<Option<String>, FieldError> {
    raw.map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            normalise_mac(m).ok_or_else(|| {
                FieldError::new(
                    "mac",
                    ErrorCode::InvalidField,
                    "a MAC address is 12 hex digits, e.g. 00:15:65:ab:cd:ef",
                )
            })
        })
        .transpose()
}

/// Issues the phone a new event token (the old one stops working at once),
/// bound to `mac` when given, else to the first MAC an event carries.
pub async fn issue(
    db: &Database,
    org: OrgId,
    phone: PhoneId,
    mac: Option<String>,
    by: UserId,
) -> Result<IssuedToken, VendorLinkError> {
    let token = new_secret(TOKEN_PREFIX)?;
    let token_hash = hash_secret(&token);
    let now = now_micros();
    let bound = mac.clone();
    let vendor = db
        .write(move |conn| {
            phones::get(conn, org, phone)?;
            // Locked before its driver is read: a change of it waits.
            phones::lock(conn, &phone.to_string())?;
            let row = phones::get(conn, org, phone)?;
            let vendor = row
                .driver
                .as_deref()
                .and_then(Vendor::parse)
                .ok_or(VendorLinkError::NoDriver)?;
            let tracker = serde_json::to_string(&CallTracker::new(vendor))
                .map_err(|e| RepoError::Corrupt(e.to_string()))?;
            vendor_links::put_token(
                conn,
                &VendorLinkRow {
                    phone_id: row.id.clone(),
                    org_id: row.org_id.clone(),
                    token_hash,
                    mac: bound.clone(),
                    tracker,
                    open_calls: 0,
                    events_accepted: 0,
                    last_event_at: None,
                    created_at: now,
                    updated_at: now,
                },
            )?;
            Entry::new(
                &row.org_id,
                AuditAction::VendorTokenIssued,
                "phone",
                &row.id,
                by_user(by),
            )
            .detail("vendor", vendor.as_str())
            .detail("mac", bound)
            .record(conn, now)?;
            Ok::<_, VendorLinkError>(vendor)
        })
        .await?;
    Ok(IssuedToken { token, vendor, mac })
}

/// Ends the phone's direct mode: its token stops working, the calls it has
/// open are closed and stored. `NotFound` when it had none.
pub async fn revoke(
    db: &Database,
    org: OrgId,
    phone: PhoneId,
    by: UserId,
) -> Result<(), RepoError> {
    let now = now_micros();
    db.write(move |conn| {
        let row = phones::get(conn, org, phone)?;
        phones::lock(conn, &row.id)?;
        if !vendor_events::end_direct_mode_in(conn, org, phone, now)? {
            return Err(RepoError::NotFound);
        }
        Entry::new(
            &row.org_id,
            AuditAction::VendorTokenRevoked,
            "phone",
            &row.id,
            by_user(by),
        )
        .record(conn, now)
    })
    .await
}
