//! Handing call-list tasks back (docs/call-lists.md, "Hand-back and
//! reassignment"; decision 0033): when a user logs out, leaves their last
//! phone, or stays offline longer than a list allows, their live lease and
//! the unfinished tasks assigned to them become `returned`, held for them
//! for the list's `hand_back_hold_secs`; their next `next` gets them back
//! first, and once the hold ends the list's pool works them.

use std::collections::HashSet;

use super::{Services, presence};
use crate::db::DbConn;
use crate::ids::{OrgId, UserId};
use crate::repo::call_list_returns::{self as returns, HandBack};
use crate::repo::call_lists as lists;
use crate::repo::{RepoError, stored_id, users};
use crate::time::{Micros, seconds};
use crate::wire::CallListState;

/// Why tasks go back; stored as the tasks' `state_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why {
    LoggedOut,
    /// The user's last binding ended (unbind, takeover, expiry, disable).
    Unbound,
    /// Offline since this instant (the sweep's first sight of it): only
    /// lists whose `offline_return_secs` have passed since hand back.
    Offline {
        since: Micros,
    },
}

impl Why {
    fn reason(self) -> &'static str {
        match self {
            Self::LoggedOut => "logged_out",
            Self::Unbound => "unbound",
            Self::Offline { .. } => "offline",
        }
    }
}

/// Hands `user`'s tasks back at `now`, inside the caller's write
/// transaction; how many tasks. Takes the user's row lock (so it never
/// overlaps their own `next`) and no list lock: every UPDATE names the
/// tasks' expected states, and only rows of this user are touched.
pub fn hand_back_in(
    conn: &mut DbConn,
    org: OrgId,
    user: UserId,
    why: Why,
    now: Micros,
) -> Result<usize, RepoError> {
    users::lock(conn, &user.to_string())?;
    let mut returned = 0;
    for list_id in returns::lists_to_hand_back(conn, user, now)? {
        let list = match lists::get(conn, org, stored_id(&list_id)?) {
            Ok(list) => list,
            // Another organisation's list cannot hold this user's tasks.
            Err(RepoError::NotFound) => continue,
            Err(e) => return Err(e),
        };
        let settings = list.settings()?;
        if let Why::Offline { since } = why
            && now - since < seconds(i64::from(settings.offline_return_secs))
        {
            continue;
        }
        returned += returns::hand_back(
            conn,
            &HandBack {
                list: &list.id,
                user,
                assigned_too: list.state()? == CallListState::Active,
                held_until: now + seconds(i64::from(settings.hand_back_hold_secs)),
                reason: why.reason(),
                now,
            },
        )?;
    }
    if returned > 0 {
        tracing::info!(%user, returned, reason = why.reason(), "call-list tasks handed back");
    }
    Ok(returned)
}

/// What one offline sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Users with work seen offline now.
    pub offline: usize,
    /// Tasks handed back.
    pub returned: usize,
}

/// The worker's offline sweep, once a minute: each user with work (a live
/// lease, or assigned tasks in an active list) seen neither on the app's
/// stream nor on a held phone is noted absent from now (if not already);
/// once absent longer than a list's `offline_return_secs`, their tasks of
/// that list are handed back. Users seen connected, or without work, are
/// forgotten. The absence counts from the first sweep that saw it, so
/// tasks go back between the limit and the limit plus one sweep interval
/// after the user left. Safe to run on several workers at once.
pub async fn sweep_offline(svc: &Services, now: Micros) -> Result<SweepReport, RepoError> {
    let with_work = svc
        .db
        .run(move |conn| returns::users_with_work(conn, now))
        .await?;
    let mut people: Vec<(OrgId, UserId)> = Vec::with_capacity(with_work.len());
    for (org, user) in &with_work {
        people.push((stored_id(org)?, stored_id(user)?));
    }
    let ids: Vec<UserId> = people.iter().map(|(_, u)| *u).collect();
    let connected = presence::connected_among(svc, &ids, now).await?;
    let working: HashSet<String> = with_work.into_iter().map(|(_, u)| u).collect();
    let connected_ids: Vec<String> = connected.iter().map(ToString::to_string).collect();
    svc.db
        .write(move |conn| {
            let stale: Vec<String> = returns::absences(conn)?
                .into_keys()
                .filter(|u| !working.contains(u))
                .chain(connected_ids)
                .collect();
            returns::forget_absences(conn, &stale)
        })
        .await?;
    let mut report = SweepReport::default();
    for (org, user) in people.into_iter().filter(|(_, u)| !connected.contains(u)) {
        report.offline += 1;
        report.returned += svc
            .db
            .write(move |conn| {
                users::lock(conn, &user.to_string())?;
                let since = returns::note_absent(conn, &user.to_string(), now)?;
                hand_back_in(conn, org, user, Why::Offline { since }, now)
            })
            .await?;
    }
    Ok(report)
}
