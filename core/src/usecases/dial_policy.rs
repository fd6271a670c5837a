//! Replacing the organisation's dial policy. Commands already queued are
//! not re-checked.

use super::audit;
use crate::db::Database;
use crate::domain::dial_policy::DialRules;
use crate::ids::{OrgId, UserId};
use crate::repo::{RepoError, dial_policy, orgs};
use crate::time::Micros;
use crate::wire::AuditAction;

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
        dial_policy::replace(conn, org, &rules, by, now)?;
        audit::Entry::about_org(org, AuditAction::DialPolicyReplaced, audit::by_user(by))
            .detail("blocked_prefixes", rules.blocked_prefixes.len())
            .detail("do_not_call", rules.do_not_call.len())
            .record(conn, now)
    })
    .await
}
