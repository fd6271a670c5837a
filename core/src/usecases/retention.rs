//! An organisation's retention (docs/retention.md): the days it keeps call
//! records and recordings, over the operator's defaults. Admins change it;
//! the change is audited. The purge itself is `retention_purge`.

use crate::db::{Database, DbError};
use crate::domain::FieldError;
use crate::ids::{OrgId, UserId};
use crate::repo::retention_policies::{self, RetentionPolicyRow};
use crate::repo::{RepoError, stored_id};
use crate::time::{Micros, to_datetime};
use crate::wire::{
    AuditAction, ErrorCode, MAX_EXPORT_DAYS, MAX_RETENTION_DAYS, Retention, RetentionDays,
    SetRetention,
};

use super::audit::{Entry, by_user};
use super::users::{UpdateError, lock_org_as_admin};

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error(transparent)]
    Invalid(#[from] FieldError),
    /// The actor is no longer an enabled admin.
    #[error("not an admin")]
    NotAdmin,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

impl From<DbError> for RetentionError {
    fn from(e: DbError) -> Self {
        Self::Repo(e.into())
    }
}

impl From<diesel::result::Error> for RetentionError {
    fn from(e: diesel::result::Error) -> Self {
        Self::Repo(e.into())
    }
}

impl From<UpdateError> for RetentionError {
    fn from(e: UpdateError) -> Self {
        match e {
            UpdateError::Repo(e) => Self::Repo(e),
            _ => Self::NotAdmin,
        }
    }
}

/// What applies: the organisation's days where it chose them, else the
/// default.
pub fn effective(chosen: RetentionDays, defaults: RetentionDays) -> RetentionDays {
    RetentionDays {
        call_record_days: chosen.call_record_days.or(defaults.call_record_days),
        recording_days: chosen.recording_days.or(defaults.recording_days),
        export_days: chosen.export_days.or(defaults.export_days),
    }
}

fn checked_days(
    field: &'static str,
    days: Option<i64>,
    max: i64,
) -> Result<Option<i64>, FieldError> {
    match days {
        Some(d) if !(1..=max).contains(&d) => Err(FieldError::new(
            field,
            ErrorCode::InvalidField,
            format!("days from 1 to {max}, or null to follow the default"),
        )),
        other => Ok(other),
    }
}

fn to_wire(
    row: Option<&RetentionPolicyRow>,
    defaults: RetentionDays,
) -> Result<Retention, RepoError> {
    let chosen = row.map_or(RetentionDays::UNCHOSEN, RetentionPolicyRow::chosen);
    Ok(Retention {
        chosen,
        defaults,
        effective: effective(chosen, defaults),
        updated_at: row.map(|r| to_datetime(r.updated_at)),
        updated_by: row.map(|r| stored_id(&r.updated_by)).transpose()?,
    })
}

pub async fn get(
    db: &Database,
    org: OrgId,
    defaults: RetentionDays,
) -> Result<Retention, RetentionError> {
    db.run(move |conn| {
        let row = retention_policies::get(conn, org)?;
        Ok(to_wire(row.as_ref(), defaults)?)
    })
    .await
}

/// Stores the organisation's days (`None` follows the default; absent
/// `export_days` keeps what was chosen), audited when they change.
pub async fn set(
    db: &Database,
    org: OrgId,
    by: UserId,
    input: SetRetention,
    defaults: RetentionDays,
    now: Micros,
) -> Result<Retention, RetentionError> {
    let call_record_days = checked_days(
        "call_record_days",
        input.call_record_days,
        MAX_RETENTION_DAYS,
    )?;
    let recording_days = checked_days("recording_days", input.recording_days, MAX_RETENTION_DAYS)?;
    let export_days = input
        .export_days
        .map(|days| checked_days("export_days", days, MAX_EXPORT_DAYS))
        .transpose()?;
    db.write(move |conn| {
        lock_org_as_admin(conn, org, by)?;
        let before = retention_policies::get(conn, org)?.map(|r| r.chosen());
        let days = RetentionDays {
            call_record_days,
            recording_days,
            export_days: export_days.unwrap_or(before.and_then(|b| b.export_days)),
        };
        if before != Some(days) {
            retention_policies::put(conn, org, days, by, now)?;
            Entry::about_org(org, AuditAction::RetentionChanged, by_user(by))
                .detail("call_record_days", days.call_record_days)
                .detail("recording_days", days.recording_days)
                .detail("export_days", days.export_days)
                .record(conn, now)?;
        }
        let row = retention_policies::get(conn, org)?;
        Ok(to_wire(row.as_ref(), defaults)?)
    })
    .await
}
