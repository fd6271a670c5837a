//! Deciding numbers against the blocklist (docs/blocklist.md): one number
//! for a user (a dial, `HEAD /v1/blocklist`), or every inbound call of an
//! ingest batch in a fixed number of queries. The rules are
//! `domain::blocklist::decide`; this loads what it needs by index.

use std::collections::{BTreeSet, HashMap};

use crate::db::DbConn;
use crate::domain::E164;
use crate::domain::blocklist::{Caller, Candidate, Verdict, decide, match_keys};
use crate::ids::{OrgId, UserId};
use crate::repo::blocklist::{self as entries, EntryRow};
use crate::repo::{RepoError, users};
use crate::time::Micros;
use crate::wire::BlocklistKind;

/// Keys per `IN (...)` list (a batch's numbers have up to 15 keys each).
const KEY_CHUNK: usize = 500;

/// What decides `number` for `user`'s call (none: no entry applies).
pub fn check_in(
    conn: &mut DbConn,
    org: OrgId,
    user: Option<UserId>,
    number: &E164,
    now: Micros,
) -> Result<Option<(BlocklistKind, EntryRow)>, RepoError> {
    let rows = entries::candidates(conn, org, &match_keys(number.as_str()))?;
    let user_id = user.map(|u| u.to_string());
    let teams = teams_of(conn, user_id.iter().cloned().collect())?;
    let caller = Caller {
        user_id: user_id.as_deref(),
        team_ids: user_id
            .as_ref()
            .and_then(|u| teams.get(u))
            .map_or(&[], Vec::as_slice),
    };
    let candidates: Vec<Candidate> = rows.iter().map(EntryRow::candidate).collect();
    let decided = match decide(&candidates, caller, number.as_str(), now) {
        Verdict::Open => None,
        Verdict::Allowed(c) => Some((BlocklistKind::Allow, c.id.clone())),
        Verdict::Blocked(c) => Some((BlocklistKind::Block, c.id.clone())),
    };
    Ok(decided.and_then(|(kind, id)| {
        rows.into_iter()
            .find(|r| r.id.to_string() == id)
            .map(|row| (kind, row))
    }))
}

/// One call to screen: its user (if any) and its remote number in E.164
/// (as stored: already checked).
#[derive(Debug, Clone, Copy)]
pub struct Screened<'a> {
    pub user_id: Option<&'a str>,
    pub number: &'a str,
}

/// For each call, whether an entry blocks it at `now`. Reads the
/// candidates of every number in a few `IN` lists and the users' teams in
/// one query, however many calls there are.
pub fn blocked_calls(
    conn: &mut DbConn,
    org: OrgId,
    calls: &[Screened<'_>],
    now: Micros,
) -> Result<Vec<bool>, RepoError> {
    if calls.is_empty() {
        return Ok(Vec::new());
    }
    let keys: BTreeSet<String> = calls.iter().flat_map(|c| match_keys(c.number)).collect();
    let keys: Vec<String> = keys.into_iter().collect();
    let mut candidates = Vec::new();
    for chunk in keys.chunks(KEY_CHUNK) {
        candidates.extend(
            entries::candidates(conn, org, chunk)?
                .iter()
                .map(EntryRow::candidate),
        );
    }
    if candidates.is_empty() {
        return Ok(vec![false; calls.len()]);
    }
    let users: BTreeSet<String> = calls
        .iter()
        .filter_map(|c| c.user_id.map(str::to_owned))
        .collect();
    let teams = teams_of(conn, users.into_iter().collect())?;
    Ok(calls
        .iter()
        .map(|call| {
            let caller = Caller {
                user_id: call.user_id,
                team_ids: call
                    .user_id
                    .and_then(|u| teams.get(u))
                    .map_or(&[], Vec::as_slice),
            };
            decide(&candidates, caller, call.number, now)
                .blocked()
                .is_some()
        })
        .collect())
}

/// Each user's team ids.
fn teams_of(
    conn: &mut DbConn,
    user_ids: Vec<String>,
) -> Result<HashMap<String, Vec<String>>, RepoError> {
    if user_ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(users::team_ids_of(conn, &user_ids)?
        .into_iter()
        .map(|(user, teams)| (user, teams.iter().map(|t| t.to_string()).collect()))
        .collect())
}
