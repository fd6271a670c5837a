//! An admin replacing the organisation's binding policy. Bindings already
//! made keep their expiry; the next bind reads the new policy under the
//! organisation's lock.

use super::Services;
use crate::domain::binding_policy::Policy;
use crate::ids::{OrgId, UserId};
use crate::repo::{RepoError, binding_policy};
use crate::time::Micros;

/// Stores the policy; returns when it took effect.
pub async fn replace(
    services: &Services,
    org: OrgId,
    policy: Policy,
    by: UserId,
) -> Result<Micros, RepoError> {
    services
        .db
        .run(move |conn| binding_policy::put(conn, org, &policy, by))
        .await
}
