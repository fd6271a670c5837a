//! An organisation's call settings (today: whether users may mark calls
//! private). Admins change them; turning private calls off leaves calls
//! already private as they are.

use super::Services;
use crate::ids::OrgId;
use crate::repo::{RepoError, call_settings, orgs};
use crate::time::Micros;

pub async fn set_allow_private(
    services: &Services,
    org: OrgId,
    allow: bool,
    now: Micros,
) -> Result<(), RepoError> {
    services
        .db
        .write(move |conn| {
            orgs::lock(conn, &org.to_string())?;
            call_settings::put(conn, org, allow, now)
        })
        .await
}
