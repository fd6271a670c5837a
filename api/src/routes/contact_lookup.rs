//! `GET /v1/contacts/lookup?number=`: who a number belongs to, their score,
//! the caller's latest calls with it (the calls the caller may see in
//! `GET /v1/calls`: their own, their teams', or all for admins), and
//! whether the blocklist blocks it for the caller.

use actix_web::web;
use deskbind_core::domain::E164;
use deskbind_core::repo::call_records;
use deskbind_core::repo::{contact_numbers, contacts, users};
use deskbind_core::time::now_micros;
use deskbind_core::usecases::{blocklist_check, record_reads};
use deskbind_core::wire::{BlocklistKind, ContactLookup};
use serde::Deserialize;

use super::contacts::readable;
use super::users::visibility;
use crate::error::ApiResult;
use crate::extract::{AuthUser, Query};
use crate::state::AppState;

/// How many calls a lookup answers with.
pub const LOOKUP_CALLS: i64 = 10;

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    number: Option<String>,
    /// ISO 3166-1 alpha-2 region for a national number.
    region: Option<String>,
}

pub async fn lookup(
    state: web::Data<AppState>,
    auth: AuthUser,
    Query(query): Query<LookupQuery>,
) -> ApiResult<web::Json<ContactLookup>> {
    let e164 = E164::parse(
        "number",
        query.number.as_deref().unwrap_or_default(),
        query.region.as_deref(),
    )?;
    let number = e164.as_str().to_owned();
    let found = state
        .db
        .run(move |conn| {
            let owner = contact_numbers::owners(conn, auth.org_id, &[number.as_str()])?
                .into_iter()
                .next()
                .map(|(_, contact)| contact);
            let contact = match owner {
                Some(id) => {
                    let row = contacts::get(conn, auth.org_id, id)?;
                    readable(conn, &auth, row)?
                }
                None => None,
            };
            let scope = users::visible_ids(conn, visibility(&auth))?;
            let rows =
                call_records::latest_with_number(conn, auth.org_id, &scope, &number, LOOKUP_CALLS)?;
            // Another user's private call is not the caller's to connect
            // with this number: it is left out, not shown redacted.
            let recent_calls: Vec<_> = record_reads::for_reader(conn, auth.user_id, &rows)?
                .into_iter()
                .filter(|call| !call.redacted)
                .collect();
            let verdict = blocklist_check::check_in(
                conn,
                auth.org_id,
                Some(auth.user_id),
                &e164,
                now_micros(),
            )?;
            let blocked_by = match verdict {
                Some((BlocklistKind::Block, entry)) => Some(entry.blocked_by()),
                _ => None,
            };
            Ok::<_, crate::error::ApiError>(ContactLookup {
                score: contact.as_ref().map(|c| c.score),
                number,
                contact,
                recent_calls,
                blocked: blocked_by.is_some(),
                blocked_by,
            })
        })
        .await?;
    Ok(web::Json(found))
}
