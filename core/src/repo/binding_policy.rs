//! The organisation's binding policy row; no row means the defaults.

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::binding_policies;
use crate::domain::binding_policy::{Lifetime, Policy, parse_workday_end};
use crate::ids::{OrgId, UserId};
use crate::time::{Micros, now_micros};
use crate::wire::{BindingDuration, TakeoverRule};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = binding_policies)]
// The row replaces the old one whole: a `None` must clear `duration_hours`.
#[diesel(treat_none_as_null = true)]
struct PolicyRow {
    org_id: String,
    takeover: String,
    duration: String,
    duration_hours: Option<i64>,
    workday_end: String,
    max_phones_per_user: i64,
    updated_at: i64,
    updated_by: Option<String>,
}

impl PolicyRow {
    fn to_policy(&self) -> Result<Policy, RepoError> {
        let corrupt = |what: &str| RepoError::Corrupt(format!("binding policy {what}"));
        let workday_end =
            parse_workday_end(&self.workday_end).ok_or_else(|| corrupt("workday_end"))?;
        let lifetime = match (
            BindingDuration::parse(&self.duration).ok_or_else(|| corrupt("duration"))?,
            self.duration_hours,
        ) {
            (BindingDuration::UntilUnbound, _) => Lifetime::UntilUnbound,
            (BindingDuration::EndOfWorkday, _) => Lifetime::EndOfWorkday,
            (BindingDuration::Hours, Some(h)) => {
                Lifetime::Hours(u32::try_from(h).map_err(|_| corrupt("duration_hours"))?)
            }
            (BindingDuration::Hours, None) => return Err(corrupt("duration_hours")),
        };
        Ok(Policy {
            takeover: TakeoverRule::parse(&self.takeover).ok_or_else(|| corrupt("takeover"))?,
            lifetime,
            workday_end,
            max_phones_per_user: u32::try_from(self.max_phones_per_user)
                .map_err(|_| corrupt("max_phones_per_user"))?,
        })
    }
}

/// The policy in force and when it was last changed (`None`: the defaults).
pub fn get(conn: &mut DbConn, org: OrgId) -> Result<(Policy, Option<Micros>), RepoError> {
    let row: Option<PolicyRow> = binding_policies::table
        .filter(binding_policies::org_id.eq(org.to_string()))
        .select(PolicyRow::as_select())
        .first(conn)
        .optional()?;
    match row {
        None => Ok((Policy::default(), None)),
        Some(row) => Ok((row.to_policy()?, Some(row.updated_at))),
    }
}

/// Replaces the policy. Existing bindings keep the expiry they were made with.
pub fn put(
    conn: &mut DbConn,
    org: OrgId,
    policy: &Policy,
    by: UserId,
) -> Result<Micros, RepoError> {
    let (duration, hours) = policy.duration();
    let row = PolicyRow {
        org_id: org.to_string(),
        takeover: policy.takeover.as_str().to_owned(),
        duration: duration.as_str().to_owned(),
        duration_hours: hours.map(i64::from),
        workday_end: policy.workday_end_text(),
        max_phones_per_user: i64::from(policy.max_phones_per_user),
        updated_at: now_micros(),
        updated_by: Some(by.to_string()),
    };
    // Update-then-insert: MultiConnection has no portable upsert. Two admins
    // racing on the first insert: the loser updates instead.
    for _ in 0..2 {
        let updated = diesel::update(
            binding_policies::table.filter(binding_policies::org_id.eq(&row.org_id)),
        )
        .set(&row)
        .execute(conn)?;
        if updated == 1 {
            return Ok(row.updated_at);
        }
        match diesel::insert_into(binding_policies::table)
            .values(&row)
            .execute(conn)
            .map_err(RepoError::from)
        {
            Err(RepoError::Conflict) => continue,
            other => {
                other?;
                return Ok(row.updated_at);
            }
        }
    }
    Err(RepoError::Conflict)
}
