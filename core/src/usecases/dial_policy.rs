//! Replacing the organisation's dial policy. Commands already queued are
//! not re-checked.

use crate::db::Database;
use crate::domain::dial_policy::DialRules;
use crate::ids::{OrgId, UserId};
use crate::repo::{RepoError, dial_policy, orgs};
use crate::time::Micros;

/// Replaces both lists in one transaction under the organisation's lock
/// (two replacements at once would collide on the rule keys).
pub async fn replace(
    db: &Database,
    org: OrgId,
    rules: DialRules,
    by: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    db.write(move |conn| {
        orgs::lock(conn, &org.to_string())?;
        dial_policy::replace(conn, org, &rules, by, now)
    })
    .await
}
