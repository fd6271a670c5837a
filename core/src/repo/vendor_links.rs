//! The `vendor_links` table: a vendor phone's direct-mode event token
//! (hashed), the MAC it is bound to, and its calls in progress
//! (docs/vendor-phones.md, "Direct mode").

use diesel::prelude::*;

use super::{DbConn, RepoError};
use crate::db::schema::vendor_links;
use crate::ids::{OrgId, PhoneId};
use crate::time::Micros;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = vendor_links)]
pub struct VendorLinkRow {
    pub phone_id: String,
    pub org_id: String,
    pub token_hash: String,
    pub mac: Option<String>,
    /// The phone's `vendor::CallTracker` as JSON.
    pub tracker: String,
    pub open_calls: i64,
    pub events_accepted: i64,
    pub last_event_at: Option<i64>,
    /// When the current token was issued.
    pub created_at: i64,
    pub updated_at: i64,
}

/// The link whose token hashes to `token_hash`, whatever its organisation
/// (the token is the only credential an event carries).
pub fn by_token_hash(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<VendorLinkRow>, RepoError> {
    Ok(vendor_links::table
        .filter(vendor_links::token_hash.eq(token_hash))
        .select(VendorLinkRow::as_select())
        .first(conn)
        .optional()?)
}

/// The phone's link, if it has one.
pub fn of_phone(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
) -> Result<Option<VendorLinkRow>, RepoError> {
    Ok(vendor_links::table
        .filter(vendor_links::org_id.eq(org.to_string()))
        .filter(vendor_links::phone_id.eq(phone.to_string()))
        .select(VendorLinkRow::as_select())
        .first(conn)
        .optional()?)
}

/// Inserts the link, or gives an existing one a new token and MAC, issued
/// now, with its counts started again (its calls in progress stay).
pub fn put_token(conn: &mut DbConn, row: &VendorLinkRow) -> Result<(), RepoError> {
    let updated = diesel::update(vendor_links::table.find(&row.phone_id))
        .set((
            vendor_links::token_hash.eq(&row.token_hash),
            vendor_links::mac.eq(&row.mac),
            vendor_links::events_accepted.eq(0),
            vendor_links::last_event_at.eq(None::<i64>),
            vendor_links::created_at.eq(row.created_at),
            vendor_links::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(vendor_links::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(())
}

/// What a tracker change writes.
#[derive(Debug, Clone, Copy)]
pub struct Saved<'a> {
    /// The MAC the link is bound to (an event may have bound it now).
    pub mac: Option<&'a str>,
    /// The tracker as JSON.
    pub tracker: &'a str,
    pub open_calls: i64,
    /// When an event moved the tracker (counted); `None` when the clock did.
    pub event_at: Option<Micros>,
    pub now: Micros,
}

/// Stores the tracker after an event or the clock changed it.
pub fn save(conn: &mut DbConn, phone_id: &str, saved: &Saved<'_>) -> Result<(), RepoError> {
    let target = vendor_links::table.find(phone_id);
    let common = (
        vendor_links::mac.eq(saved.mac),
        vendor_links::tracker.eq(saved.tracker),
        vendor_links::open_calls.eq(saved.open_calls),
        vendor_links::updated_at.eq(saved.now),
    );
    match saved.event_at {
        Some(at) => diesel::update(target)
            .set((
                common,
                vendor_links::events_accepted.eq(vendor_links::events_accepted + 1),
                vendor_links::last_event_at.eq(at),
            ))
            .execute(conn)?,
        None => diesel::update(target).set(common).execute(conn)?,
    };
    Ok(())
}

/// Ends direct mode for the phone; `false` when it had none.
pub fn delete(conn: &mut DbConn, org: OrgId, phone: PhoneId) -> Result<bool, RepoError> {
    let deleted = diesel::delete(
        vendor_links::table
            .filter(vendor_links::org_id.eq(org.to_string()))
            .filter(vendor_links::phone_id.eq(phone.to_string())),
    )
    .execute(conn)?;
    Ok(deleted > 0)
}

/// Links with calls in progress the clock may have to close, after
/// `after` (a phone id), a page at a time.
pub fn with_open_calls(
    conn: &mut DbConn,
    after: &str,
    limit: i64,
) -> Result<Vec<VendorLinkRow>, RepoError> {
    Ok(vendor_links::table
        .filter(vendor_links::phone_id.gt(after))
        .filter(vendor_links::open_calls.gt(0))
        .order(vendor_links::phone_id)
        .limit(limit)
        .select(VendorLinkRow::as_select())
        .load(conn)?)
}
