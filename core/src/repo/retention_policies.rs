//! The `retention_policies` table: the days an organisation chose. No row,
//! or a NULL column, follows the operator's default.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::retention_policies;
use crate::ids::{OrgId, UserId};
use crate::time::Micros;
use crate::wire::RetentionDays;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = retention_policies)]
pub struct RetentionPolicyRow {
    pub org_id: String,
    pub call_record_days: Option<i64>,
    pub recording_days: Option<i64>,
    pub updated_at: i64,
    pub updated_by: String,
    pub export_days: Option<i64>,
}

impl RetentionPolicyRow {
    pub fn chosen(&self) -> RetentionDays {
        RetentionDays {
            call_record_days: self.call_record_days,
            recording_days: self.recording_days,
            export_days: self.export_days,
        }
    }
}

pub fn get(conn: &mut DbConn, org: OrgId) -> Result<Option<RetentionPolicyRow>, RepoError> {
    Ok(retention_policies::table
        .find(org.to_string())
        .select(RetentionPolicyRow::as_select())
        .first(conn)
        .optional()?)
}

/// Every organisation's own choice (organisations without one are absent).
pub fn all(conn: &mut DbConn) -> Result<Vec<RetentionPolicyRow>, RepoError> {
    Ok(retention_policies::table
        .select(RetentionPolicyRow::as_select())
        .load(conn)?)
}

/// Stores the organisation's choice (insert or replace); call under the
/// organisation's lock so two writers do not both insert.
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    days: RetentionDays,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    let values = (
        retention_policies::call_record_days.eq(days.call_record_days),
        retention_policies::recording_days.eq(days.recording_days),
        retention_policies::export_days.eq(days.export_days),
        retention_policies::updated_at.eq(now),
        retention_policies::updated_by.eq(by.to_string()),
    );
    let updated = diesel::update(retention_policies::table.find(org.to_string()))
        .set(values.clone())
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(retention_policies::table)
            .values((retention_policies::org_id.eq(org.to_string()), values))
            .execute(conn)?;
    }
    Ok(())
}
