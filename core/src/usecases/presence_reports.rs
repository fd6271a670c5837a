//! `presence.changed` webhooks (docs/integrations.md). Presence is partly
//! live (the relay), so a change has no transaction an outbox row could
//! join. Instead each user's last reported state is a row
//! (`presence_reported`): reporting a change is a compare-and-set of that
//! row under the user's lock, and the outbox row is written in that
//! transaction. So two nodes that see one change report it once, and a
//! reported change is never lost. Changes are reported when a node
//! announces them to the streams and by the worker's minute sweep, which
//! also catches those nobody was there to announce (a dead node's phone).
//! Nothing is reported while the relay's live reads fail (a Redis outage
//! would otherwise look like everyone going offline).

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::{Services, webhook_outbox};
use crate::db::DbConn;
use crate::ids::OrgId;
use crate::repo::presence_reported::{self, Reported};
use crate::repo::{RepoError, users, webhook_endpoints};
use crate::time::{Micros, to_datetime};
use crate::wire::{Presence, PresenceState, WebhookEventType};

/// How a state was observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// A node saw something change (a choice, a stream, a phone, a line).
    Announced,
    /// The worker's sweep read it: a user never reported before is only
    /// noted (a sweep sees no change, only a state).
    Swept,
}

/// What to do with one observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Already reported, or older than what was.
    Nothing,
    /// Store it without an event.
    Note,
    /// Store it and send `presence.changed` (from `previous`, if any).
    Report { previous: Option<PresenceState> },
}

/// Compares an observation of `state` at `at` with what was reported.
pub fn decide(last: Option<&Reported>, state: PresenceState, at: Micros, seen: Seen) -> Decision {
    match last {
        None if seen == Seen::Swept => Decision::Note,
        None => Decision::Report { previous: None },
        Some(last) if at < last.changed_at || last.state == state.as_str() => Decision::Nothing,
        Some(last) => Decision::Report {
            previous: PresenceState::parse(&last.state),
        },
    }
}

/// How recently a failed live read makes observations untrustworthy: the
/// sweep then reports the true states once reads work again.
const UNTRUSTED_AFTER_READ_FAILURE: std::time::Duration = std::time::Duration::from_secs(90);

/// What was last reported for `user_ids`, or `None` when no enabled
/// endpoint of the organisation wants `presence.changed` (then nothing is
/// to be reported). One read, made with the observation's own.
pub fn last_reports_in(
    conn: &mut DbConn,
    org_id: &str,
    user_ids: &[String],
) -> Result<Option<HashMap<String, Reported>>, RepoError> {
    if !wanted_in(conn, org_id)? {
        return Ok(None);
    }
    Ok(Some(presence_reported::of_users(conn, user_ids)?))
}

/// Whether an enabled endpoint of the organisation wants `presence.changed`.
pub fn wanted_in(conn: &mut DbConn, org_id: &str) -> Result<bool, RepoError> {
    Ok(webhook_endpoints::enabled(conn, org_id)?
        .iter()
        .any(|e| e.subscribes_to(WebhookEventType::PresenceChanged)))
}

/// Call in the transaction that changed an organisation's endpoints, with
/// what [`wanted_in`] said before the change: when `presence.changed` is
/// wanted again after a time it was not, what was reported before is
/// forgotten, so the sweep notes today's states instead of reporting every
/// change since then as if it had just happened.
pub fn endpoints_changed_in(
    conn: &mut DbConn,
    org_id: &str,
    wanted_before: bool,
) -> Result<(), RepoError> {
    if !wanted_before && wanted_in(conn, org_id)? {
        presence_reported::forget_org(conn, org_id)?;
    }
    Ok(())
}

/// Reports the presences of one organisation's users observed at `now`;
/// how many events were written. Reads only when no enabled endpoint of
/// the organisation wants `presence.changed`.
pub async fn report(
    svc: &Services,
    org: OrgId,
    observed: Vec<Presence>,
    seen: Seen,
    now: Micros,
) -> Result<usize, RepoError> {
    let org_id = org.to_string();
    let ids: Vec<String> = observed.iter().map(|p| p.user_id.to_string()).collect();
    let last = svc
        .db
        .run(move |conn| last_reports_in(conn, &org_id, &ids))
        .await?;
    report_against(svc, org, observed, last, seen, now).await
}

/// [`report`] with the last reports already read ([`last_reports_in`]).
pub async fn report_against(
    svc: &Services,
    org: OrgId,
    observed: Vec<Presence>,
    last: Option<HashMap<String, Reported>>,
    seen: Seen,
    now: Micros,
) -> Result<usize, RepoError> {
    let Some(last) = last else {
        return Ok(0);
    };
    if svc
        .relay
        .live_reads_failed_within(UNTRUSTED_AFTER_READ_FAILURE)
    {
        tracing::debug!(%org, "presence not reported: live reads failed lately");
        return Ok(0);
    }
    let org_id = org.to_string();
    // Only users whose observation may change something take a lock, one
    // user per transaction: a transaction never holds two users' locks, so
    // it cannot deadlock with one that locks two in another order.
    let candidates: Vec<Presence> = observed
        .into_iter()
        .filter(|p| {
            let key = p.user_id.to_string();
            decide(last.get(&key), p.state, now, seen) != Decision::Nothing
        })
        .collect();
    let mut written = 0;
    for presence in candidates {
        let org_id = org_id.clone();
        written += svc
            .db
            .write(move |conn| write_report(conn, &org_id, &presence, seen, now))
            .await?;
    }
    Ok(written)
}

/// Reports what the sweep read (a page of users of any organisations):
/// changes reported nowhere else, such as a dead node's phone going
/// offline, or a report that failed. Failures are logged (the next minute
/// tries again); how many events were written.
pub async fn report_swept(svc: &Services, page: &[(OrgId, Presence)], now: Micros) -> usize {
    let mut by_org: BTreeMap<OrgId, Vec<Presence>> = BTreeMap::new();
    for (org, presence) in page {
        by_org.entry(*org).or_default().push(presence.clone());
    }
    let mut written = 0;
    for (org, observed) in by_org {
        match report(svc, org, observed, Seen::Swept, now).await {
            Ok(n) => written += n,
            Err(e) => tracing::warn!(%org, error = %e, "cannot report presence changes"),
        }
    }
    written
}

/// The compare-and-set of one user's report; 1 when an event was written.
fn write_report(
    conn: &mut DbConn,
    org_id: &str,
    presence: &Presence,
    seen: Seen,
    now: Micros,
) -> Result<usize, RepoError> {
    let user_id = presence.user_id.to_string();
    users::lock(conn, &user_id)?;
    // Read again under the lock: another reporter may have been first.
    let last = presence_reported::of_users(conn, std::slice::from_ref(&user_id))?;
    let event = match decide(last.get(&user_id), presence.state, now, seen) {
        Decision::Nothing => return Ok(0),
        Decision::Note => None,
        Decision::Report { previous } => Some(webhook_outbox::Event {
            kind: WebhookEventType::PresenceChanged,
            ordering_key: user_id.clone(),
            data: event_data(presence, previous, now)?,
        }),
    };
    presence_reported::put(conn, org_id, &user_id, presence.state.as_str(), now)?;
    match event {
        Some(event) => {
            webhook_outbox::enqueue_in(conn, org_id, std::slice::from_ref(&event), now)?;
            Ok(1)
        }
        None => Ok(0),
    }
}

/// The presence as an admin reads it, with `previous_state` (null for a
/// user's first report) and `changed_at` (when it was observed).
fn event_data(
    presence: &Presence,
    previous: Option<PresenceState>,
    at: Micros,
) -> Result<Value, RepoError> {
    let mut data = serde_json::to_value(presence)
        .map_err(|e| RepoError::Corrupt(format!("unserialisable presence: {e}")))?;
    if let Value::Object(map) = &mut data {
        map.insert(
            "previous_state".into(),
            previous.map_or(Value::Null, |s| Value::String(s.as_str().into())),
        );
        map.insert(
            "changed_at".into(),
            Value::String(to_datetime(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
        );
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported(state: &str, at: Micros) -> Reported {
        Reported {
            user_id: "u".into(),
            state: state.into(),
            changed_at: at,
        }
    }

    #[test]
    fn a_first_observation_is_reported_when_announced_and_noted_when_swept() {
        let s = PresenceState::Busy;
        assert_eq!(
            decide(None, s, 5, Seen::Announced),
            Decision::Report { previous: None }
        );
        assert_eq!(decide(None, s, 5, Seen::Swept), Decision::Note);
    }

    #[test]
    fn only_a_new_state_observed_no_earlier_than_the_last_is_reported() {
        let last = reported("available", 100);
        for seen in [Seen::Announced, Seen::Swept] {
            assert_eq!(
                decide(Some(&last), PresenceState::Available, 200, seen),
                Decision::Nothing
            );
            assert_eq!(
                decide(Some(&last), PresenceState::Busy, 99, seen),
                Decision::Nothing
            );
            assert_eq!(
                decide(Some(&last), PresenceState::Busy, 100, seen),
                Decision::Report {
                    previous: Some(PresenceState::Available)
                }
            );
        }
    }
}
