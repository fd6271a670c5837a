//! Who a number belongs to, for one reader: the contact (if the reader may
//! see it), its score, and the reader's latest calls with the number that
//! they may see in `GET /v1/calls` (their own, their teams', or all for
//! admins), and whether the blocklist blocks it for them. One read behind `GET /v1/contacts/lookup` and the screen pop of
//! an incoming call (docs/screen-pop.md), so both always agree.

use crate::db::DbConn;
use crate::domain::E164;
use crate::domain::contacts::{ContactAccess, access};
use crate::ids::{OrgId, UserId};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, call_records, contact_numbers, contact_settings, contacts};
use crate::time::Micros;
use crate::usecases::{blocklist_check, contact_reads, record_reads};
use crate::wire::{BlocklistKind, ContactLookup, Role};

/// How many calls a lookup answers with.
pub const LOOKUP_CALLS: i64 = 10;

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
}

/// What `reader` may know of `number`.
pub fn lookup_in(
    conn: &mut DbConn,
    reader: Reader,
    number: E164,
    now: Micros,
) -> Result<ContactLookup, RepoError> {
    let e164 = number.as_str().to_owned();
    let owner = contact_numbers::owners(conn, reader.org, &[e164.as_str()])?
        .into_iter()
        .next()
        .map(|(_, contact)| contact);
    let contact = match owner {
        Some(id) => {
            let row = contacts::get(conn, reader.org, id)?;
            let (visibility, _) = contact_settings::get(conn, reader.org)?;
            match access(reader.role, reader.user, row.owner_id, visibility) {
                ContactAccess::Hidden => None,
                _ => Some(contact_reads::one(conn, row)?),
            }
        }
        None => None,
    };
    let scope = users::visible_ids(conn, Visibility::of(reader.role, reader.user))?;
    let rows = call_records::latest_with_number(conn, reader.org, &scope, &e164, LOOKUP_CALLS)?;
    // Another user's private call is not the reader's to connect with this
    // number: it is left out, not shown redacted.
    let recent_calls: Vec<_> = record_reads::for_reader(conn, reader.user, &rows)?
        .into_iter()
        .filter(|call| !call.redacted)
        .collect();
    let blocked_by =
        match blocklist_check::check_in(conn, reader.org, Some(reader.user), &number, now)? {
            Some((BlocklistKind::Block, entry)) => Some(entry.blocked_by()),
            _ => None,
        };
    Ok(ContactLookup {
        score: contact.as_ref().map(|c| c.score),
        number: e164,
        contact,
        recent_calls,
        blocked: blocked_by.is_some(),
        blocked_by,
    })
}
