//! What the live board shows, read fresh for each render: the phones in
//! the viewer's scope with their holder and whether they are online (on
//! any node), and the recent dials of the people in scope with their
//! states. Managers see the phones held by people of their teams (and
//! themselves) and those people's dials; admins the whole organisation.

use std::collections::{HashMap, HashSet};

use deskbind_core::ids::{OrgId, PhoneId, UserId};
use deskbind_core::repo::bindings::{self, BindingFilter};
use deskbind_core::repo::page::PageRequest;
use deskbind_core::repo::phones::{self, PhoneRow};
use deskbind_core::repo::users::{self, Visibility};
use deskbind_core::repo::{RepoError, dials};
use deskbind_core::time::{now_micros, seconds, to_datetime};
use deskbind_core::wire::{DialState, Role};

use crate::console::error::ConsoleResult;
use crate::console::time::{local_time, zone_named};
use crate::state::AppState;

/// Phones on one board (a larger organisation sees the first ones and a
/// note; the phone list pages through all of them).
pub const MAX_PHONES: u32 = 200;
/// Dials on one board, newest first.
pub const MAX_DIALS: i64 = 50;
/// Dials made longer ago than this are not on the board, even unfinished.
const DIAL_WINDOW_SECS: i64 = 12 * 3600;
/// A finished dial stays this long, so its outcome can be seen.
const FINISHED_STAYS_SECS: i64 = 10 * 60;

/// Who is looking: decides the scope and the zone times are shown in.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
    pub time_zone: String,
}

#[derive(Debug)]
pub struct BoardPhone {
    pub label: String,
    pub number: String,
    pub extension: String,
    pub holder: Option<String>,
    pub since: Option<String>,
    pub online: bool,
    pub disabled: bool,
}

#[derive(Debug)]
pub struct BoardDial {
    pub id: String,
    pub number: String,
    pub user: String,
    pub phone: String,
    pub state: &'static str,
    pub state_label: &'static str,
    pub state_class: &'static str,
    pub failure: Option<&'static str>,
    pub created: String,
    pub updated: String,
}

/// What the board fragment (live_board.html) shows: inside the page and,
/// alone, as each event of the stream.
#[derive(Debug)]
pub struct Board {
    pub scope: &'static str,
    pub phones: Vec<BoardPhone>,
    pub phones_truncated: bool,
    pub dials: Vec<BoardDial>,
    /// The people in scope with their presence.
    pub people: super::people::People,
    /// When it was read; shown by the page, not in the fragment, so an
    /// unchanged board renders the same and is not sent again.
    pub as_of: String,
}

fn state_label(state: DialState) -> (&'static str, &'static str) {
    match state {
        DialState::Queued => ("Queued", "warn"),
        DialState::Delivered => ("Delivered", "warn"),
        DialState::Dialing => ("Dialing", "warn"),
        DialState::Ringing => ("Ringing", "warn"),
        DialState::Answered => ("Answered", "ok"),
        DialState::Ended => ("Ended", ""),
        DialState::Failed => ("Failed", "bad"),
        DialState::Expired => ("Expired", "bad"),
        DialState::Cancelled => ("Cancelled", "bad"),
    }
}

/// The phones the viewer's board shows: the organisation's (admins) or
/// those held by people in scope (managers); whether there were more.
fn phones_in_scope(
    conn: &mut deskbind_core::db::DbConn,
    org: OrgId,
    scope: &Option<Vec<String>>,
) -> Result<(Vec<PhoneRow>, bool), RepoError> {
    let first = PageRequest::new(None, Some(MAX_PHONES));
    match scope {
        None => {
            let page = phones::list(conn, org, &first)?;
            Ok((page.items, page.next_cursor.is_some()))
        }
        Some(people) => {
            let held = bindings::list(
                conn,
                org,
                Some(people.clone()),
                &BindingFilter::default(),
                &first,
            )?;
            let ids: Vec<String> = held.items.iter().map(|b| b.phone_id.clone()).collect();
            Ok((phones::by_ids(conn, org, &ids)?, held.next_cursor.is_some()))
        }
    }
}

/// Reads and lays out the viewer's board.
pub async fn load(state: &AppState, viewer: &Viewer) -> ConsoleResult<Board> {
    let org = viewer.org;
    let visibility = Visibility::of(viewer.role, viewer.user);
    let now = now_micros();
    let (phone_rows, truncated, mut holders, dial_rows, names, dial_phones) = state
        .db
        .run(move |conn| {
            let scope = users::visible_ids(conn, visibility)?;
            let (phone_rows, truncated) = phones_in_scope(conn, org, &scope)?;
            let ids: Vec<String> = phone_rows.iter().map(|p| p.id.clone()).collect();
            let holders = bindings::holders(conn, &ids)?;
            let dial_rows = dials::board(
                conn,
                org,
                scope,
                now - seconds(DIAL_WINDOW_SECS),
                now - seconds(FINISHED_STAYS_SECS),
                MAX_DIALS,
            )?;
            let people: Vec<String> = dial_rows.iter().map(|d| d.user_id.clone()).collect();
            let names = users::display_names(conn, org, &people)?;
            let known: HashSet<&String> = ids.iter().collect();
            let other_phones: Vec<String> = dial_rows
                .iter()
                .map(|d| d.phone_id.clone())
                .filter(|p| !known.contains(p))
                .collect();
            let dial_phones = phones::by_ids(conn, org, &other_phones)?;
            Ok::<_, RepoError>((
                phone_rows,
                truncated,
                holders,
                dial_rows,
                names,
                dial_phones,
            ))
        })
        .await?;
    let ids: Vec<PhoneId> = phone_rows
        .iter()
        .map(PhoneRow::phone_id)
        .collect::<Result<_, _>>()?;
    let online = state.relay.online_among(&ids).await;
    let zone = zone_named(&viewer.time_zone);
    let labels: HashMap<&str, &str> = phone_rows
        .iter()
        .chain(dial_phones.iter())
        .map(|p| (p.id.as_str(), p.label.as_str()))
        .collect();
    let mut dials_out = Vec::with_capacity(dial_rows.len());
    for row in &dial_rows {
        let state = row.state()?;
        let (state_label, state_class) = state_label(state);
        let failure = row.to_wire()?.failure.map(|f| f.as_str());
        dials_out.push(BoardDial {
            id: row.id.clone(),
            number: row.number.clone(),
            user: names.get(&row.user_id).cloned().unwrap_or_default(),
            phone: labels
                .get(row.phone_id.as_str())
                .map(|l| l.to_string())
                .unwrap_or_default(),
            state: state.as_str(),
            state_label,
            state_class,
            failure,
            created: local_time(to_datetime(row.created_at), zone),
            updated: local_time(to_datetime(row.updated_at), zone),
        });
    }
    let mut phones_out: Vec<BoardPhone> = phone_rows
        .into_iter()
        .map(|p| {
            let holder = holders.remove(&p.id);
            BoardPhone {
                online: p.phone_id().is_ok_and(|id| online.contains(&id)),
                holder: holder.as_ref().map(|h| h.display_name.clone()),
                since: holder.map(|h| local_time(h.since, zone)),
                disabled: p.disabled_at.is_some(),
                label: p.label,
                number: p.number_e164,
                extension: p.extension,
            }
        })
        .collect();
    phones_out.sort_by(|a, b| a.label.cmp(&b.label).then(a.number.cmp(&b.number)));
    let people = super::people::load(state, viewer, zone, now).await?;
    Ok(Board {
        people,
        scope: match viewer.role {
            Role::Admin => "the whole organisation",
            _ => "your teams",
        },
        phones: phones_out,
        phones_truncated: truncated,
        dials: dials_out,
        as_of: local_time(to_datetime(now), zone),
    })
}
