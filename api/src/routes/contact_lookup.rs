//! `GET /v1/contacts/lookup?number=`: who a number belongs to, their score,
//! the caller's latest calls with it (the calls the caller may see in
//! `GET /v1/calls`: their own, their teams', or all for admins), and
//! whether the blocklist blocks it for the caller.

use actix_web::web;
use deskbind_core::domain::E164;
use deskbind_core::time::now_micros;
use deskbind_core::usecases::contact_lookup::{Reader, lookup_in};
use deskbind_core::wire::ContactLookup;
use serde::Deserialize;

use crate::error::ApiResult;
use crate::extract::{ContactsRead, Query, Scoped};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct LookupQuery {
    number: Option<String>,
    /// ISO 3166-1 alpha-2 region for a national number.
    region: Option<String>,
}

pub async fn lookup(
    state: web::Data<AppState>,
    Scoped(auth, ..): Scoped<ContactsRead>,
    Query(query): Query<LookupQuery>,
) -> ApiResult<web::Json<ContactLookup>> {
    let e164 = E164::parse(
        "number",
        query.number.as_deref().unwrap_or_default(),
        query.region.as_deref(),
    )?;
    let reader = Reader {
        org: auth.org_id,
        user: auth.user_id,
        role: auth.role,
    };
    let found = state
        .db
        .run(move |conn| lookup_in(conn, reader, e164, now_micros()))
        .await?;
    Ok(web::Json(found))
}
