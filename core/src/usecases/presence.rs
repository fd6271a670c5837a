//! Presence (docs/presence.md): a user's choice (stored) put together with
//! what is live (the app's event stream, the held phone's connection and
//! line, all in the relay), read one by one or a page at a time, and
//! announced to the organisation's event streams when it may have changed.

use std::collections::{HashMap, HashSet};

use super::Services;
use super::presence_reports::{self, Seen};
use crate::db::DbConn;
use crate::domain::presence::{self as rules, Choice, Live, Stored};
use crate::ids::{OrgId, PhoneId, TeamId, UserId};
use crate::relay::{Line, PresenceNote};
use crate::repo::presence::{self as table, PresenceRow};
use crate::repo::users::{self, Visibility};
use crate::repo::{RepoError, bindings, orgs, stored_id};
use crate::time::{Micros, to_datetime};
use crate::wire::{
    ChosenPresence, LineState, Page, Presence, PresenceSettings, PresenceState, Role,
};

/// Who reads presences.
#[derive(Debug, Clone, Copy)]
pub struct Reader {
    pub org: OrgId,
    pub user: UserId,
    pub role: Role,
}

impl Reader {
    /// Admins see the organisation; managers and salespeople their teams'
    /// members (and themselves).
    fn visibility(self) -> Visibility {
        match self.role {
            Role::Admin => Visibility::Org,
            Role::Manager | Role::Salesperson => Visibility::TeamsOf(self.user),
        }
    }

    /// Whether the status text of `of` is hidden from this reader.
    pub fn hides_status_of(self, of: UserId, settings_hide: bool) -> bool {
        settings_hide && self.role == Role::Salesperson && of != self.user
    }
}

/// `GET /v1/presences` filters.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filter {
    pub team: Option<TeamId>,
    pub state: Option<PresenceState>,
}

/// The stored half of some users' presence, read in one go.
struct StoredHalf {
    rows: HashMap<String, PresenceRow>,
    /// `(user, phone)` bindings in force.
    held: Vec<(String, String)>,
    settings: PresenceSettings,
}

fn read_stored(
    conn: &mut DbConn,
    org: OrgId,
    user_ids: &[String],
    now: Micros,
) -> Result<StoredHalf, RepoError> {
    let rows = table::of_users(conn, user_ids)?
        .into_iter()
        .map(|r| (r.user_id.clone(), r))
        .collect();
    Ok(StoredHalf {
        rows,
        held: table::held_phones(conn, user_ids, now)?,
        settings: table::settings(conn, org)?,
    })
}

/// Puts the stored half together with the relay's live facts.
async fn assemble(
    svc: &Services,
    users: Vec<(String, String)>,
    stored: &StoredHalf,
    now: Micros,
) -> Result<Vec<Presence>, RepoError> {
    let mut phones_of: HashMap<&str, Vec<PhoneId>> = HashMap::new();
    for (user, phone) in &stored.held {
        phones_of
            .entry(user.as_str())
            .or_default()
            .push(stored_id(phone)?);
    }
    let phones: Vec<PhoneId> = phones_of.values().flatten().copied().collect();
    let online = svc.relay.online_among(&phones).await;
    let online_phones: Vec<PhoneId> = phones
        .iter()
        .copied()
        .filter(|p| online.contains(p))
        .collect();
    let lines = svc.relay.lines_of(&online_phones).await;
    let ids: Vec<UserId> = users
        .iter()
        .map(|(id, _)| stored_id(id))
        .collect::<Result<_, _>>()?;
    let app_live = app_connected(svc, &ids).await;
    let mut out = Vec::with_capacity(users.len());
    for ((id, display_name), user_id) in users.into_iter().zip(ids) {
        let held = phones_of.get(id.as_str()).map_or(&[][..], Vec::as_slice);
        let line = line_of(held, &online, &lines);
        let live = Live {
            app_connected: app_live.contains(&user_id),
            phone_online: held.iter().any(|p| online.contains(p)),
            line: line.map(|l| l.state),
        };
        let row = stored.rows.get(&id);
        let kept: Option<Stored> = row.map(PresenceRow::stored).transpose()?;
        let state = rules::effective(
            kept.as_ref(),
            live,
            stored.settings.auto_away_after_secs,
            now,
        );
        out.push(Presence {
            user_id,
            display_name,
            state,
            chosen: kept.map_or(ChosenPresence::Available, |k| k.chosen_at(now)),
            status_text: row.and_then(|r| r.status_text.clone()),
            until: kept.and_then(|k| k.dnd_until(now)).map(to_datetime),
            app_connected: live.app_connected,
            phone_online: live.phone_online,
            line_state: live.line,
            line_since: line.and_then(|l| l.since).map(to_datetime),
        });
    }
    Ok(out)
}

/// The line of the user's online phones: one in a call if any is, else
/// idle if one reported, else unknown.
fn line_of(
    held: &[PhoneId],
    online: &HashSet<PhoneId>,
    lines: &HashMap<PhoneId, Line>,
) -> Option<Line> {
    let known: Vec<Line> = held
        .iter()
        .filter(|p| online.contains(p))
        .filter_map(|p| lines.get(p).copied())
        .collect();
    known
        .iter()
        .copied()
        .find(|l| l.state.in_call())
        .or_else(|| known.first().copied())
}

async fn app_connected(svc: &Services, users: &[UserId]) -> HashSet<UserId> {
    let streams = svc.relay.app_streams();
    let checks = users
        .iter()
        .map(|u| async move { (*u, streams.is_live(*u).await) });
    futures_util::future::join_all(checks)
        .await
        .into_iter()
        .filter_map(|(u, live)| live.then_some(u))
        .collect()
}

/// Those of `users` connected at `now`: their app's stream is open or a
/// phone they hold is online (what keeps the effective state from being
/// offline). For the call lists' offline sweep.
pub async fn connected_among(
    svc: &Services,
    users: &[UserId],
    now: Micros,
) -> Result<HashSet<UserId>, RepoError> {
    let ids: Vec<String> = users.iter().map(ToString::to_string).collect();
    let held = svc
        .db
        .run(move |conn| table::held_phones(conn, &ids, now))
        .await?;
    let mut phones_of: Vec<(UserId, PhoneId)> = Vec::with_capacity(held.len());
    for (user, phone) in &held {
        phones_of.push((stored_id(user)?, stored_id(phone)?));
    }
    let phones: Vec<PhoneId> = phones_of.iter().map(|(_, p)| *p).collect();
    let online = svc.relay.online_among(&phones).await;
    let mut connected = app_connected(svc, users).await;
    connected.extend(
        phones_of
            .into_iter()
            .filter(|(_, p)| online.contains(p))
            .map(|(u, _)| u),
    );
    Ok(connected)
}

/// One user's presence as `reader` sees it; `NotFound` when hidden.
pub async fn get(
    svc: &Services,
    reader: Reader,
    user: UserId,
    now: Micros,
) -> Result<Presence, RepoError> {
    let org = reader.org;
    let (user_row, stored) = svc
        .db
        .run(move |conn| -> Result<_, RepoError> {
            let row = users::get(conn, org, user, reader.visibility())?;
            let stored = read_stored(conn, org, std::slice::from_ref(&row.id), now)?;
            Ok((row, stored))
        })
        .await?;
    let hide = reader.hides_status_of(user, stored.settings.hide_status_text);
    let mut presence = assemble(
        svc,
        vec![(user_row.id, user_row.display_name)],
        &stored,
        now,
    )
    .await?
    .pop()
    .ok_or(RepoError::NotFound)?;
    if hide {
        presence.status_text = None;
    }
    Ok(presence)
}

/// Stores the user's choice and announces the change.
pub async fn choose(
    svc: &Services,
    org: OrgId,
    user: UserId,
    choice: Choice,
    now: Micros,
) -> Result<Presence, RepoError> {
    svc.db
        .write(move |conn| {
            users::lock(conn, &user.to_string())?;
            table::put(conn, org, user, &choice, now)
        })
        .await?;
    announce(svc, org, user, now).await;
    let me = Reader {
        org,
        user,
        role: Role::Admin,
    };
    get(svc, me, user, now).await
}

/// Notes that the user is active at `now` (their app opened its stream):
/// auto-away counts from the last activity.
pub async fn record_activity(svc: &Services, org: OrgId, user: UserId, now: Micros) {
    let noted = svc
        .db
        .write(move |conn| {
            users::lock(conn, &user.to_string())?;
            table::touch(conn, org, user, now)
        })
        .await;
    if let Err(e) = noted {
        tracing::warn!(%user, error = %e, "cannot note the user's activity");
    }
}

/// A page of the presences `reader` may see, in user-id order; with a
/// `state` filter a page may hold fewer than `limit` items only when it is
/// the last.
pub async fn list(
    svc: &Services,
    reader: Reader,
    filter: Filter,
    after: Option<String>,
    limit: u32,
    now: Micros,
) -> Result<Page<Presence>, RepoError> {
    let want = limit as usize;
    let batch = i64::from(limit) + 1;
    let mut cursor = after;
    let mut items: Vec<Presence> = Vec::new();
    loop {
        let org = reader.org;
        let after = cursor.clone();
        let (users, stored) = svc
            .db
            .run(move |conn| -> Result<_, RepoError> {
                let visible = users::visible_ids(conn, reader.visibility())?;
                let users =
                    table::visible_users(conn, org, visible, filter.team, after.as_deref(), batch)?;
                let ids: Vec<String> = users.iter().map(|(id, _)| id.clone()).collect();
                let stored = read_stored(conn, org, &ids, now)?;
                Ok((users, stored))
            })
            .await?;
        let exhausted = (users.len() as i64) < batch;
        cursor = users.last().map(|(id, _)| id.clone());
        let hide = stored.settings.hide_status_text;
        for mut p in assemble(svc, users, &stored, now).await? {
            if filter.state.is_some_and(|s| s != p.state) {
                continue;
            }
            if reader.hides_status_of(p.user_id, hide) {
                p.status_text = None;
            }
            items.push(p);
        }
        if items.len() > want || exhausted {
            break;
        }
    }
    let more = items.len() > want;
    items.truncate(want);
    let next_cursor = if more {
        items.last().map(|p| p.user_id.to_string())
    } else {
        None
    };
    Ok(Page { items, next_cursor })
}

/// Tells the organisation's streams that `user`'s presence may have
/// changed. Best effort: a failure is logged (readers re-read on
/// reconnect).
pub async fn announce(svc: &Services, org: OrgId, user: UserId, now: Micros) {
    if let Err(e) = try_announce(svc, org, user, now).await {
        tracing::warn!(%user, error = %e, "cannot announce a presence change");
    }
}

async fn try_announce(
    svc: &Services,
    org: OrgId,
    user: UserId,
    now: Micros,
) -> Result<(), RepoError> {
    let (name, teams, stored, last_reports) = svc
        .db
        .run(move |conn| -> Result<_, RepoError> {
            let row = users::get(conn, org, user, Visibility::Org)?;
            let me = std::slice::from_ref(&row.id);
            let teams = users::team_ids_of(conn, me)?
                .remove(&row.id)
                .unwrap_or_default();
            let stored = read_stored(conn, org, me, now)?;
            let last_reports = presence_reports::last_reports_in(conn, &row.org_id, me)?;
            Ok((row.display_name, teams, stored, last_reports))
        })
        .await?;
    let Some(presence) = assemble(svc, vec![(user.to_string(), name)], &stored, now)
        .await?
        .pop()
    else {
        return Ok(());
    };
    svc.relay
        .publish_presence(PresenceNote {
            org,
            teams,
            hide_status_text: stored.settings.hide_status_text,
            presence: presence.clone(),
        })
        .await;
    // Webhooks: nothing more to read or write unless an endpoint wants
    // presence.changed and the state moved (docs/integrations.md).
    if let Err(e) = presence_reports::report_against(
        svc,
        org,
        vec![presence],
        last_reports,
        Seen::Announced,
        now,
    )
    .await
    {
        tracing::warn!(%user, error = %e, "cannot report a presence change to webhooks");
    }
    Ok(())
}

/// Announces, among `page` (states read at `now`), each user whose state
/// differs from the one announced last: changes the clock made (a timed DND
/// ended, auto-away began) or that nobody was there to announce (a dead
/// node's phone keys expired). A user never announced is only noted. How
/// many were announced.
pub async fn announce_drift(svc: &Services, page: &[(OrgId, Presence)], now: Micros) -> usize {
    let announced = svc.relay.announced();
    let users: Vec<UserId> = page.iter().map(|(_, p)| p.user_id).collect();
    let last = announced.of(&users).await;
    let mut count = 0;
    for ((org, presence), last) in page.iter().zip(last) {
        match last {
            Some(last) if last == presence.state => {}
            Some(_) => {
                announce(svc, *org, presence.user_id, now).await;
                count += 1;
            }
            None => announced.record(presence.user_id, presence.state).await,
        }
    }
    count
}

/// Announces the presence of whoever holds `phone` (its connection or its
/// line changed).
pub async fn announce_holder_of(svc: &Services, org: OrgId, phone: PhoneId, now: Micros) {
    let holder = svc
        .db
        .run(move |conn| bindings::holder_at(conn, &phone.to_string(), now))
        .await;
    match holder {
        Ok(Some(user)) => match stored_id::<UserId>(&user) {
            Ok(user) => announce(svc, org, user, now).await,
            Err(e) => tracing::warn!(error = %e, "cannot announce a presence change"),
        },
        Ok(None) => {}
        Err(e) => tracing::warn!(%phone, error = %e, "cannot find the phone's holder"),
    }
}

/// Records a phone's line state and, when it changed, announces its
/// holder's presence.
pub async fn line_changed(
    svc: &Services,
    org: OrgId,
    phone: PhoneId,
    line: LineState,
    now: Micros,
) {
    if svc.relay.set_line(phone, line, now).await {
        announce_holder_of(svc, org, phone, now).await;
    }
}

/// The DND of `user` in force at `now`: `None` when there is none,
/// `Some(None)` when it has no end, `Some(Some(until))` for a timed one.
pub fn dnd_until_in(
    conn: &mut DbConn,
    user: &str,
    now: Micros,
) -> Result<Option<Option<Micros>>, RepoError> {
    let row = table::of_users(conn, &[user.to_owned()])?.pop();
    let Some(stored) = row.as_ref().map(PresenceRow::stored).transpose()? else {
        return Ok(None);
    };
    Ok(rules::holds_pushes(Some(&stored), now).then(|| stored.dnd_until(now)))
}

/// Whether pushes to `user` wait at `now` (a DND in force).
pub fn holds_pushes_in(conn: &mut DbConn, user: &str, now: Micros) -> Result<bool, RepoError> {
    let row = table::of_users(conn, &[user.to_owned()])?.pop();
    let stored = row.as_ref().map(PresenceRow::stored).transpose()?;
    Ok(rules::holds_pushes(stored.as_ref(), now))
}

/// The organisation's settings.
pub async fn settings(svc: &Services, org: OrgId) -> Result<PresenceSettings, RepoError> {
    svc.db.run(move |conn| table::settings(conn, org)).await
}

/// Replaces the organisation's settings.
pub async fn put_settings(
    svc: &Services,
    org: OrgId,
    settings: PresenceSettings,
    by: UserId,
    now: Micros,
) -> Result<PresenceSettings, RepoError> {
    svc.db
        .write(move |conn| {
            orgs::lock(conn, &org.to_string())?;
            table::put_settings(conn, org, &settings, by, now)?;
            Ok(settings)
        })
        .await
}

/// A page of every enabled user's presence in the deployment, in user-id
/// order, each with its organisation; the cursor for the next page (`None`
/// after the last). For the gauges and the presence-time sampler.
pub async fn all_page(
    svc: &Services,
    after: Option<String>,
    limit: i64,
    now: Micros,
) -> Result<(Vec<(OrgId, Presence)>, Option<String>), RepoError> {
    let batch = svc
        .db
        .run(move |conn| table::all_enabled_users(conn, after.as_deref(), limit))
        .await?;
    let next = match batch.last() {
        Some((last, _, _)) if (batch.len() as i64) >= limit => Some(last.clone()),
        _ => None,
    };
    let mut by_org: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for (id, name, org) in batch {
        by_org.entry(org).or_default().push((id, name));
    }
    let mut out = Vec::new();
    for (org, users) in by_org {
        let org: OrgId = stored_id(&org)?;
        let ids: Vec<String> = users.iter().map(|(id, _)| id.clone()).collect();
        let stored = svc
            .db
            .run(move |conn| read_stored(conn, org, &ids, now))
            .await?;
        for p in assemble(svc, users, &stored, now).await? {
            out.push((org, p));
        }
    }
    Ok((out, next))
}

/// How many enabled users of all organisations are in each state at
/// `now` (the Prometheus gauges).
pub async fn counts(svc: &Services, now: Micros) -> Result<HashMap<PresenceState, u64>, RepoError> {
    const BATCH: i64 = 500;
    let mut counts: HashMap<PresenceState, u64> =
        PresenceState::ALL.iter().map(|s| (*s, 0)).collect();
    let mut after: Option<String> = None;
    loop {
        let (page, next) = all_page(svc, after, BATCH, now).await?;
        for (_, p) in page {
            *counts.entry(p.state).or_default() += 1;
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(counts)
}
