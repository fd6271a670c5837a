//! Call records and dials linked to the contact their remote number
//! belongs to (docs/contacts.md, "Calls and dials of a contact"; decision
//! 0021). The link is stored (`contact_id` on both tables), so this module
//! keeps it true inside the transaction of every change that moves it:
//! the ingest and dial placement [`resolve`] numbers (a few queries per
//! batch), a contact's changed numbers relink ([`numbers_changed`]), a
//! deleted contact unlinks ([`contact_deleted`]), a merge moves
//! ([`move_links`]). Unknown inbound callers get a provisional contact
//! ([`provision`], [`provision_many`]); the primary key of
//! `contact_numbers` decides which of two racing writers creates it.

use std::collections::{BTreeSet, HashMap};

use crate::db::{Database, DbConn, write_tx};
use crate::domain::E164;
use crate::domain::contacts::{ContactAccess, access};
use crate::ids::{ContactId, OrgId, UserId};
use crate::repo::contacts::ContactRow;
use crate::repo::dials::DialRow;
use crate::repo::{
    RepoError, call_annotations, call_records, contact_numbers, contact_settings, contacts, dials,
    stored_id, users,
};
use crate::time::Micros;
use crate::wire::{ContactRef, ContactSource, ContactVisibility, Dial, Role};

/// Numbers per `IN (...)` list.
const KEY_CHUNK: usize = 500;

/// The contact each of `numbers` (E.164) belongs to, for those that
/// belong to one; duplicates are read once.
pub fn resolve(
    conn: &mut DbConn,
    org: OrgId,
    numbers: &[&str],
) -> Result<HashMap<String, ContactId>, RepoError> {
    let distinct: Vec<&str> = numbers
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut found = HashMap::new();
    for chunk in distinct.chunks(KEY_CHUNK) {
        found.extend(contact_numbers::owners(conn, org, chunk)?);
    }
    Ok(found)
}

/// After `contact`'s numbers became `numbers`: rows linked through a
/// number it lost are unlinked, the organisation's unlinked rows with one
/// of its numbers are linked to it.
pub fn numbers_changed(
    conn: &mut DbConn,
    org: OrgId,
    contact: ContactId,
    numbers: &[&str],
) -> Result<(), RepoError> {
    let (org, contact) = (org.to_string(), contact.to_string());
    call_records::unlink_except(conn, &org, &contact, numbers)?;
    dials::unlink_except(conn, &org, &contact, numbers)?;
    for chunk in numbers.chunks(KEY_CHUNK) {
        call_records::link_numbers(conn, &org, chunk, &contact)?;
        dials::link_numbers(conn, &org, chunk, &contact)?;
    }
    Ok(())
}

/// Before `contact` is deleted: its rows keep no link.
pub fn contact_deleted(conn: &mut DbConn, org: OrgId, contact: ContactId) -> Result<(), RepoError> {
    numbers_changed(conn, org, contact, &[])
}

/// How many rows a merge moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Moved {
    pub calls: usize,
    pub dials: usize,
}

/// Moves every row linked to `from` to `to` (a merge).
pub fn move_links(
    conn: &mut DbConn,
    org: OrgId,
    from: ContactId,
    to: ContactId,
) -> Result<Moved, RepoError> {
    let (org, from, to) = (org.to_string(), from.to_string(), to.to_string());
    Ok(Moved {
        calls: call_records::relink(conn, &org, &from, &to)?,
        dials: dials::relink(conn, &org, &from, &to)?,
    })
}

/// The contact `number` belongs to, created as a provisional contact
/// (`source: auto`, no name, the number its only number) when it belongs
/// to none. Safe against a concurrent writer with the same number: the
/// insert runs in a savepoint, and when the number's primary key refuses
/// it, the winner's contact is read and returned.
pub fn provision(
    conn: &mut DbConn,
    org: OrgId,
    number: &E164,
    owner: Option<UserId>,
    now: Micros,
) -> Result<ContactRow, RepoError> {
    provision_one(conn, org, number.as_str(), owner, now)
}

/// [`provision`] in a write transaction of its own (a screen pop of an
/// unknown caller, outside any other write).
pub async fn provision_number(
    db: &Database,
    org: OrgId,
    number: E164,
    owner: Option<UserId>,
    now: Micros,
) -> Result<ContactRow, RepoError> {
    db.write(move |conn| provision(conn, org, &number, owner, now))
        .await
}

fn provision_one(
    conn: &mut DbConn,
    org: OrgId,
    e164: &str,
    owner: Option<UserId>,
    now: Micros,
) -> Result<ContactRow, RepoError> {
    if let Some(found) = owner_of(conn, org, e164)? {
        return contacts::get(conn, org, found);
    }
    let row = provisional(org, owner, now);
    let inserted = write_tx(conn, |conn| {
        contacts::insert(conn, &row)?;
        contact_numbers::insert_only_numbers(conn, org, &[(row.id, e164)])
    });
    match inserted {
        Ok(()) => Ok(row),
        Err(RepoError::Conflict) => {
            let winner = owner_of(conn, org, e164)?.ok_or(RepoError::Conflict)?;
            contacts::get(conn, org, winner)
        }
        Err(e) => Err(e),
    }
}

/// [`provision`] for many numbers at once (an ingest batch's unknown
/// callers, E.164 as stored): two multi-row inserts; when a concurrent
/// writer took one of the numbers meanwhile, they roll back to their
/// savepoint and each number is provisioned on its own.
pub fn provision_many(
    conn: &mut DbConn,
    org: OrgId,
    callers: &[(&str, Option<UserId>)],
    now: Micros,
) -> Result<HashMap<String, ContactId>, RepoError> {
    let numbers: Vec<&str> = callers.iter().map(|(n, _)| *n).collect();
    let mut found = resolve(conn, org, &numbers)?;
    // A number's first caller with a user in the batch owns its contact.
    let mut owners: HashMap<&str, Option<UserId>> = HashMap::new();
    for (number, owner) in callers {
        let slot = owners.entry(number).or_default();
        if slot.is_none() {
            *slot = *owner;
        }
    }
    let missing: Vec<&str> = numbers
        .iter()
        .copied()
        .filter(|n| !found.contains_key(*n))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let owner_of_number = |n: &str| owners.get(n).copied().flatten();
    for chunk in missing.chunks(KEY_CHUNK) {
        let rows: Vec<ContactRow> = chunk
            .iter()
            .map(|n| provisional(org, owner_of_number(n), now))
            .collect();
        let pairs: Vec<(ContactId, &str)> = rows
            .iter()
            .map(|r| r.id)
            .zip(chunk.iter().copied())
            .collect();
        let batch = write_tx(conn, |conn| {
            contacts::insert_many(conn, &rows)?;
            contact_numbers::insert_only_numbers(conn, org, &pairs)
        });
        match batch {
            Ok(()) => found.extend(pairs.iter().map(|(id, n)| ((*n).to_owned(), *id))),
            Err(RepoError::Conflict) => {
                for number in chunk {
                    let row = provision_one(conn, org, number, owner_of_number(number), now)?;
                    found.insert((*number).to_owned(), row.id);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(found)
}

fn owner_of(conn: &mut DbConn, org: OrgId, e164: &str) -> Result<Option<ContactId>, RepoError> {
    Ok(contact_numbers::owners(conn, org, &[e164])?
        .into_iter()
        .next()
        .map(|(_, id)| id))
}

/// A provisional contact: no name, nothing but its number, owned by the
/// user whose call brought it in (so they may complete it even where
/// salespeople see only their own contacts), or by nobody.
fn provisional(org: OrgId, owner: Option<UserId>, now: Micros) -> ContactRow {
    ContactRow {
        id: ContactId::new(),
        org_id: org,
        name: String::new(),
        company: None,
        notes: None,
        email: None,
        tags: "[]".into(),
        external_id: None,
        owner_id: owner,
        custom_fields: "{}".into(),
        source: ContactSource::Auto,
        score: 0,
        search_text: crate::domain::contacts::search_text("", None),
        created_at: now,
        updated_at: now,
    }
}

/// The contacts among `ids` as a call or dial shows them to `reader`:
/// one that `reader` may not see (a salesperson under the `own`
/// visibility, another's contact) is left out.
pub fn refs_for(
    conn: &mut DbConn,
    org: OrgId,
    reader: UserId,
    ids: &[ContactId],
) -> Result<HashMap<ContactId, ContactRef>, RepoError> {
    let mut refs = refs_for_readers(conn, org, &[(reader, ids)])?;
    Ok(refs.pop().unwrap_or_default())
}

/// [`refs_for`] for several readers at once, one map per reader in order:
/// the organisation's visibility and every contact read once (an ingest
/// batch shows its records to up to 500 users).
pub fn refs_for_readers(
    conn: &mut DbConn,
    org: OrgId,
    readers: &[(UserId, &[ContactId])],
) -> Result<Vec<HashMap<ContactId, ContactRef>>, RepoError> {
    let distinct: Vec<ContactId> = readers
        .iter()
        .flat_map(|(_, ids)| ids.iter().copied())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if distinct.is_empty() {
        return Ok(vec![HashMap::new(); readers.len()]);
    }
    let (visibility, _) = contact_settings::get(conn, org)?;
    let mut rows: HashMap<ContactId, ContactRow> = HashMap::with_capacity(distinct.len());
    for chunk in distinct.chunks(KEY_CHUNK) {
        rows.extend(
            contacts::by_ids(conn, org, chunk)?
                .into_iter()
                .map(|r| (r.id, r)),
        );
    }
    // Under "own" the readers' roles decide; one read for all of them. An
    // API key (no person) sees what an admin sees.
    let roles = match visibility {
        ContactVisibility::Organisation => HashMap::new(),
        ContactVisibility::Own => {
            let people: Vec<UserId> = readers
                .iter()
                .filter(|(reader, ids)| !reader.is_nobody() && !ids.is_empty())
                .map(|(reader, _)| *reader)
                .collect();
            users::roles_of(conn, org, &people)?
        }
    };
    let mut all = Vec::with_capacity(readers.len());
    for &(reader, ids) in readers {
        let role = match visibility {
            ContactVisibility::Organisation => None,
            ContactVisibility::Own if reader.is_nobody() || ids.is_empty() => None,
            ContactVisibility::Own => {
                let role = roles.get(&reader).ok_or(RepoError::NotFound)?;
                Some(
                    Role::parse(role)
                        .ok_or_else(|| RepoError::Corrupt(format!("user role {role:?}")))?,
                )
            }
        };
        let mut refs = HashMap::new();
        for row in ids.iter().filter_map(|id| rows.get(id)) {
            if let Some(role) = role
                && access(role, reader, row.owner_id, visibility) == ContactAccess::Hidden
            {
                continue;
            }
            refs.insert(
                row.id,
                ContactRef {
                    id: row.id,
                    name: Some(row.name.clone()).filter(|n| !n.is_empty()),
                    company: row.company.clone(),
                },
            );
        }
        all.push(refs);
    }
    Ok(all)
}

/// Dial commands as sent to `reader`, each with the contact it is linked
/// to when `reader` may see it (one read for the page).
pub fn dials_for(
    conn: &mut DbConn,
    org: OrgId,
    reader: UserId,
    rows: &[DialRow],
) -> Result<Vec<Dial>, RepoError> {
    let linked = rows
        .iter()
        .filter_map(|r| r.contact_id.as_deref())
        .map(stored_id)
        .collect::<Result<Vec<ContactId>, _>>()?;
    let refs = refs_for(conn, org, reader, &linked)?;
    let reader_key = reader.to_string();
    let others: Vec<String> = rows
        .iter()
        .filter(|r| r.user_id != reader_key)
        .map(|r| r.id.clone())
        .collect();
    let private = call_annotations::private_dial_ids(conn, org, &others)?;
    rows.iter()
        .map(|row| {
            let mut dial = row.to_wire()?;
            if private.contains(&row.id) {
                // Its call was marked private: as in the call log, the
                // number and the contact are its user's alone.
                dial.number = String::new();
                dial.redacted = true;
                return Ok(dial);
            }
            dial.contact = row
                .contact_id
                .as_deref()
                .map(stored_id::<ContactId>)
                .transpose()?
                .and_then(|id| refs.get(&id).cloned());
            Ok(dial)
        })
        .collect()
}
