//! The `dial_commands` table: the stored source of truth for what a phone
//! was asked to dial (docs/dialing.md). Placing, cancelling and advancing a
//! command (with its locks and the user's event) is `usecases::dials`;
//! here are the rows, the compare-and-set state update and the reads.

use diesel::prelude::*;

use super::page::PageRequest;
use super::{DbConn, RepoError, stored_id};
use crate::db::schema::{bindings, dial_commands};
use crate::ids::{DialId, OrgId, PhoneId, UserId};
use crate::time::{Micros, to_datetime};
use crate::wire::{Dial, DialFailure, DialState, Page};

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = dial_commands)]
pub struct DialRow {
    pub id: String,
    pub org_id: String,
    pub user_id: String,
    pub phone_id: String,
    pub binding_id: String,
    pub number: String,
    pub state: String,
    pub failure: Option<String>,
    pub idempotency_key: Option<String>,
    pub request_hash: Option<String>,
    pub created_at: Micros,
    pub expires_at: Micros,
    pub delivered_at: Option<Micros>,
    pub updated_at: Micros,
    /// The contact the number belongs to (`usecases::contact_links`).
    pub contact_id: Option<String>,
}

impl DialRow {
    pub fn state(&self) -> Result<DialState, RepoError> {
        DialState::parse(&self.state)
            .ok_or_else(|| RepoError::Corrupt(format!("dial state {:?}", self.state)))
    }

    pub fn dial_id(&self) -> Result<DialId, RepoError> {
        stored_id(&self.id)
    }

    pub fn phone(&self) -> Result<PhoneId, RepoError> {
        stored_id(&self.phone_id)
    }

    pub fn user(&self) -> Result<UserId, RepoError> {
        stored_id(&self.user_id)
    }

    pub fn to_wire(&self) -> Result<Dial, RepoError> {
        let failure = match &self.failure {
            None => None,
            Some(raw) => Some(
                DialFailure::parse(raw)
                    .ok_or_else(|| RepoError::Corrupt(format!("dial failure {raw:?}")))?,
            ),
        };
        Ok(Dial {
            id: self.dial_id()?,
            user_id: self.user()?,
            phone_id: self.phone()?,
            binding_id: stored_id(&self.binding_id)?,
            number: self.number.clone(),
            state: self.state()?,
            failure,
            created_at: to_datetime(self.created_at),
            expires_at: to_datetime(self.expires_at),
            delivered_at: self.delivered_at.map(to_datetime),
            updated_at: to_datetime(self.updated_at),
            contact: None,
            redacted: false,
        })
    }
}

/// The user's command stored under Idempotency-Key `key`, if any.
pub fn find_by_idempotency_key(
    conn: &mut DbConn,
    user: UserId,
    key: &str,
) -> Result<Option<DialRow>, RepoError> {
    Ok(dial_commands::table
        .filter(dial_commands::user_id.eq(user.to_string()))
        .filter(dial_commands::idempotency_key.eq(key))
        .select(DialRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert(conn: &mut DbConn, row: &DialRow) -> Result<(), RepoError> {
    diesel::insert_into(dial_commands::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Which commands a caller may move.
#[derive(Debug, Clone, Copy)]
pub enum Scope {
    /// The phone the command was sent to.
    Phone(PhoneId),
    /// Anyone of the organisation the caller already checked may.
    Org(OrgId),
}

/// The command `id`, if `scope` may move it.
pub fn find(conn: &mut DbConn, scope: Scope, id: DialId) -> Result<Option<DialRow>, RepoError> {
    let query = dial_commands::table
        .filter(dial_commands::id.eq(id.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    let query = match scope {
        Scope::Phone(phone) => query.filter(dial_commands::phone_id.eq(phone.to_string())),
        Scope::Org(org) => query.filter(dial_commands::org_id.eq(org.to_string())),
    };
    Ok(query.first(conn).optional()?)
}

/// Compare-and-set of the command's state from the one in `row` to `to`;
/// `None` when the row's state changed since it was read (nothing written).
pub fn set_state(
    conn: &mut DbConn,
    row: &DialRow,
    to: DialState,
    failure: Option<DialFailure>,
    now: Micros,
) -> Result<Option<DialRow>, RepoError> {
    let failure = match to {
        DialState::Failed => Some(failure.unwrap_or(DialFailure::Error).as_str().to_owned()),
        _ => None,
    };
    let reached_phone = !matches!(
        to,
        DialState::Queued | DialState::Expired | DialState::Cancelled
    );
    let delivered_at = match row.delivered_at {
        None if reached_phone => Some(now),
        other => other,
    };
    let updated = diesel::update(
        dial_commands::table
            .filter(dial_commands::id.eq(&row.id))
            .filter(dial_commands::state.eq(&row.state)),
    )
    .set((
        dial_commands::state.eq(to.as_str()),
        dial_commands::failure.eq(&failure),
        dial_commands::delivered_at.eq(delivered_at),
        dial_commands::updated_at.eq(now),
    ))
    .execute(conn)?;
    if updated == 0 {
        return Ok(None);
    }
    Ok(Some(DialRow {
        state: to.as_str().to_owned(),
        failure,
        delivered_at,
        updated_at: now,
        ..row.clone()
    }))
}

/// Queued commands whose binding still holds (a command never reaches the
/// phone's next holder) and which may still be dialed, oldest first.
macro_rules! sendable {
    ($now:expr) => {
        dial_commands::table
            .inner_join(bindings::table)
            .filter(dial_commands::state.eq(DialState::Queued.as_str()))
            .filter(dial_commands::expires_at.gt($now))
            .filter(bindings::ended_at.is_null())
            .filter(
                bindings::expires_at
                    .is_null()
                    .or(bindings::expires_at.gt($now)),
            )
    };
}

/// Whether command `id` may still be sent to its phone: queued, unexpired,
/// and its binding still holds.
pub fn is_sendable(conn: &mut DbConn, id: DialId, now: Micros) -> Result<bool, RepoError> {
    Ok(diesel::select(diesel::dsl::exists(
        sendable!(now).filter(dial_commands::id.eq(id.to_string())),
    ))
    .get_result(conn)?)
}

/// What a (re)connecting phone is sent.
pub fn pending_for_phone(
    conn: &mut DbConn,
    phone: PhoneId,
    now: Micros,
) -> Result<Vec<DialRow>, RepoError> {
    Ok(sendable!(now)
        .filter(dial_commands::phone_id.eq(phone.to_string()))
        .order(dial_commands::id.asc())
        .select(DialRow::as_select())
        .load(conn)?)
}

/// Sendable commands of these phones created before `created_before`: sent
/// but not acknowledged, or sent while the relay could not reach the phone.
pub fn unacknowledged(
    conn: &mut DbConn,
    phones: &[String],
    created_before: Micros,
    now: Micros,
) -> Result<Vec<DialRow>, RepoError> {
    Ok(sendable!(now)
        .filter(dial_commands::phone_id.eq_any(phones))
        .filter(dial_commands::created_at.lt(created_before))
        .order(dial_commands::id.asc())
        .select(DialRow::as_select())
        .load(conn)?)
}

/// Queued commands past their expiry, oldest expiry first, at most `limit`.
pub fn due_to_expire(
    conn: &mut DbConn,
    now: Micros,
    limit: i64,
) -> Result<Vec<DialRow>, RepoError> {
    Ok(dial_commands::table
        .filter(dial_commands::state.eq(DialState::Queued.as_str()))
        .filter(dial_commands::expires_at.le(now))
        .order(dial_commands::expires_at.asc())
        .limit(limit)
        .select(DialRow::as_select())
        .load(conn)?)
}

/// Of the commands `ids`, those sent to `phone_id` of the organisation,
/// each with the user who asked for it: `(dial id, user id)`.
pub fn users_of(
    conn: &mut DbConn,
    org_id: &str,
    phone_id: &str,
    ids: &[String],
) -> Result<Vec<(String, String)>, RepoError> {
    Ok(dial_commands::table
        .filter(dial_commands::org_id.eq(org_id))
        .filter(dial_commands::phone_id.eq(phone_id))
        .filter(dial_commands::id.eq_any(ids))
        .select((dial_commands::id, dial_commands::user_id))
        .load(conn)?)
}

pub fn get(
    conn: &mut DbConn,
    org: OrgId,
    id: DialId,
    visible_users: Option<&[String]>,
) -> Result<DialRow, RepoError> {
    let mut query = dial_commands::table
        .filter(dial_commands::org_id.eq(org.to_string()))
        .filter(dial_commands::id.eq(id.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    if let Some(users) = visible_users {
        query = query.filter(dial_commands::user_id.eq_any(users.to_vec()));
    }
    Ok(query.first(conn)?)
}

#[derive(Debug, Clone, Default)]
pub struct DialFilter {
    pub user: Option<UserId>,
    pub phone: Option<PhoneId>,
    pub state: Option<DialState>,
}

/// Commands the caller may see, oldest first.
pub fn list(
    conn: &mut DbConn,
    org: OrgId,
    visible_users: Option<Vec<String>>,
    filter: &DialFilter,
    page: &PageRequest,
) -> Result<Page<DialRow>, RepoError> {
    let mut query = dial_commands::table
        .filter(dial_commands::org_id.eq(org.to_string()))
        .select(DialRow::as_select())
        .into_boxed();
    if let Some(users) = visible_users {
        query = query.filter(dial_commands::user_id.eq_any(users));
    }
    if let Some(user) = filter.user {
        query = query.filter(dial_commands::user_id.eq(user.to_string()));
    }
    if let Some(phone) = filter.phone {
        query = query.filter(dial_commands::phone_id.eq(phone.to_string()));
    }
    if let Some(state) = filter.state {
        query = query.filter(dial_commands::state.eq(state.as_str()));
    }
    if let Some(after) = &page.after {
        query = query.filter(dial_commands::id.gt(after.clone()));
    }
    let rows = query
        .order(dial_commands::id.asc())
        .limit(page.fetch())
        .load(conn)?;
    Ok(page.finish(rows, |r| r.id.clone(), |r| r))
}

/// The smallest command id that can have been made at `at` or later: ids
/// are UUIDv7, so they sort by creation time and a time range is an id
/// range (served by the `(org_id, user_id, id)` index).
fn first_id_at(at: Micros) -> String {
    let millis = u64::try_from(at.max(0) / 1000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &[0; 10])
        .into_uuid()
        .to_string()
}

/// The console's live board: commands of the organisation (of
/// `visible_users` when given) made since `created_since` that are still
/// in progress or changed since `changed_since`, newest first, at most
/// `limit`.
pub fn board(
    conn: &mut DbConn,
    org: OrgId,
    visible_users: Option<Vec<String>>,
    created_since: Micros,
    changed_since: Micros,
    limit: i64,
) -> Result<Vec<DialRow>, RepoError> {
    let in_progress = [
        DialState::Queued,
        DialState::Delivered,
        DialState::Dialing,
        DialState::Ringing,
        DialState::Answered,
    ]
    .map(DialState::as_str);
    let mut query = dial_commands::table
        .filter(dial_commands::org_id.eq(org.to_string()))
        .filter(dial_commands::id.ge(first_id_at(created_since)))
        .filter(
            dial_commands::state
                .eq_any(in_progress)
                .or(dial_commands::updated_at.ge(changed_since)),
        )
        .select(DialRow::as_select())
        .into_boxed();
    if let Some(users) = visible_users {
        query = query.filter(dial_commands::user_id.eq_any(users));
    }
    Ok(query
        .order(dial_commands::id.desc())
        .limit(limit)
        .load(conn)?)
}

/// Links the organisation's unlinked commands to one of `numbers` (E.164)
/// to `contact`; how many.
pub fn link_numbers(
    conn: &mut DbConn,
    org: &str,
    numbers: &[&str],
    contact: &str,
) -> Result<usize, RepoError> {
    if numbers.is_empty() {
        return Ok(0);
    }
    Ok(diesel::update(
        dial_commands::table
            .filter(dial_commands::org_id.eq(org))
            .filter(dial_commands::number.eq_any(numbers))
            .filter(dial_commands::contact_id.is_null()),
    )
    .set(dial_commands::contact_id.eq(contact))
    .execute(conn)?)
}

/// Unlinks the commands linked to `contact` whose number is not one of
/// `keep`; how many.
pub fn unlink_except(
    conn: &mut DbConn,
    org: &str,
    contact: &str,
    keep: &[&str],
) -> Result<usize, RepoError> {
    let linked = dial_commands::table
        .filter(dial_commands::org_id.eq(org))
        .filter(dial_commands::contact_id.eq(contact));
    let unlink = dial_commands::contact_id.eq(None::<String>);
    Ok(if keep.is_empty() {
        diesel::update(linked).set(unlink).execute(conn)?
    } else {
        diesel::update(linked.filter(dial_commands::number.ne_all(keep)))
            .set(unlink)
            .execute(conn)?
    })
}

/// Moves every command linked to `from` to `to`; how many.
pub fn relink(conn: &mut DbConn, org: &str, from: &str, to: &str) -> Result<usize, RepoError> {
    Ok(diesel::update(
        dial_commands::table
            .filter(dial_commands::org_id.eq(org))
            .filter(dial_commands::contact_id.eq(from)),
    )
    .set(dial_commands::contact_id.eq(to))
    .execute(conn)?)
}

#[cfg(test)]
mod board_tests {
    use super::first_id_at;

    #[test]
    fn first_id_at_sorts_before_ids_made_then_and_after_older_ones() {
        let at = 1_780_000_000_123_456;
        let floor = first_id_at(at);
        let made_then = uuid::Builder::from_unix_timestamp_millis(1_780_000_000_123, &[7; 10])
            .into_uuid()
            .to_string();
        let older = uuid::Builder::from_unix_timestamp_millis(1_780_000_000_122, &[255; 10])
            .into_uuid()
            .to_string();
        assert!(floor <= made_then);
        assert!(older < floor);
    }
}
