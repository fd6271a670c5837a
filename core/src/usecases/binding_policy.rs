//! An admin replacing the organisation's binding policy. Bindings already
//! made keep their expiry; the next bind reads the new policy under the
//! organisation's lock.

use super::{Services, audit};
use crate::domain::binding_policy::Policy;
use crate::ids::{OrgId, UserId};
use crate::repo::{RepoError, binding_policy, orgs};
use crate::time::Micros;
use crate::wire::AuditAction;

/// Stores the policy and its audit entry under the organisation's lock;
/// returns when it took effect.
pub async fn replace(
    services: &Services,
    org: OrgId,
    policy: Policy,
    by: UserId,
) -> Result<Micros, RepoError> {
    services
        .db
        .write(move |conn| {
            orgs::lock(conn, &org.to_string())?;
            let at = binding_policy::put(conn, org, &policy, by)?;
            let (duration, hours) = policy.duration();
            audit::Entry::about_org(org, AuditAction::BindingPolicyReplaced, audit::by_user(by))
                .detail("takeover", policy.takeover.as_str())
                .detail("duration", duration.as_str())
                .detail("duration_hours", hours)
                .detail("max_phones_per_user", policy.max_phones_per_user)
                .record(conn, at)?;
            Ok(at)
        })
        .await
}
