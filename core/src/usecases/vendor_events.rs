//! Direct mode (docs/vendor-phones.md): a vendor phone's Action URL
//! events, posted straight to deskbind with the phone's event token. Each
//! accepted event runs through the phone's call tracker under the phone's
//! row lock; the call records it finishes are stored in that transaction
//! (the same ingest as `POST /v1/phone/call-records`, so they sync, push
//! and count like any other), its screen pops go out after the commit.
//! Nothing is written for a refused event or a repeat.

use subtle::ConstantTimeEq;

use super::dial_reports;
use super::record_ingest::{self, ItemOutcome, Uploader};
use crate::auth::secrets::hash_secret;
use crate::db::DbConn;
use crate::domain::call_facts::{CallFacts, Reporter};
use crate::domain::region_of;
use crate::ids::{OrgId, PhoneId};
use crate::repo::phones::PhoneRow;
use crate::repo::vendor_links::{self, VendorLinkRow};
use crate::repo::{RepoError, phones, stored_id};
use crate::time::{Clock, Micros, to_datetime};
use crate::usecases::Services;
use crate::vendor::{CallTracker, Effect, TrackerConfig, Vendor, VendorEvent};
use crate::wire::PhoneFrame;

/// The longest token accepted; anything longer is not one of ours.
const MAX_TOKEN_LEN: usize = 64;

/// What became of an event (for the log and the metrics only: the phone
/// is always answered 200, so a token cannot be probed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Applied: `records` call records stored.
    Accepted {
        records: usize,
    },
    /// The same event again: nothing changed.
    Repeat,
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// No phone has this token (or it was replaced).
    UnknownToken,
    /// The phone is disabled, or lost its driver.
    PhoneUnavailable,
    /// The event's MAC is not the handset's the token is bound to.
    WrongMac,
}

impl Outcome {
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Accepted { .. } => "accepted",
            Outcome::Repeat => "repeat",
            Outcome::Refused(Refusal::UnknownToken) => "unknown_token",
            Outcome::Refused(Refusal::PhoneUnavailable) => "phone_unavailable",
            Outcome::Refused(Refusal::WrongMac) => "wrong_mac",
        }
    }
}

/// A screen pop to send once the event's transaction committed.
struct Pop {
    org: OrgId,
    phone: PhoneId,
    call_id: String,
    from: String,
}

/// A token as an event presents it, hashed once (the route's flood guard
/// keys on the same hash).
#[derive(Debug, Clone)]
pub struct PresentedToken {
    pub hash: String,
    /// Whether it could be one of ours at all.
    well_formed: bool,
}

impl PresentedToken {
    pub fn new(token: &str) -> Self {
        Self {
            hash: hash_secret(token),
            well_formed: !token.is_empty() && token.len() <= MAX_TOKEN_LEN,
        }
    }
}

/// Applies one event posted with `token` at the services' clock.
pub async fn accept(
    services: &Services,
    config: TrackerConfig,
    token: &PresentedToken,
    event: VendorEvent,
) -> Result<Outcome, RepoError> {
    if !token.well_formed {
        return Ok(Outcome::Refused(Refusal::UnknownToken));
    }
    let token_hash = token.hash.clone();
    let now = services.clock.now();
    // Refusals and repeats are decided on the pool: they write nothing.
    let lookup = token_hash.clone();
    let Some(link) = services
        .db
        .run(move |conn| vendor_links::by_token_hash(conn, &lookup))
        .await?
    else {
        return Ok(Outcome::Refused(Refusal::UnknownToken));
    };
    if let Some(refusal) = refusal(&link, &token_hash, &event) {
        return Ok(Outcome::Refused(refusal));
    }
    if tracker_of(&link)?.is_repeat(&event, to_datetime(now)) {
        return Ok(Outcome::Repeat);
    }
    // The event's time is taken in the writer, under the phone's lock, so
    // one phone's events are stamped in the order they are applied.
    let clock = services.clock.clone();
    let (outcome, pops) = services
        .db
        .write(move |conn| apply(conn, &config, &token_hash, &link, &event, &clock))
        .await?;
    // Pops go out on their own: the phone is not kept waiting, and how long
    // the answer takes says nothing of what became of the event.
    for pop in pops {
        let services = services.clone();
        tokio::spawn(async move {
            if let Err(e) =
                dial_reports::incoming_call(&services, pop.org, pop.phone, pop.call_id, pop.from)
                    .await
            {
                tracing::warn!(phone = %pop.phone, error = %e, "vendor phone's screen pop failed");
            }
        });
    }
    Ok(outcome)
}

/// Why `link` must not take `event`, if it must not.
fn refusal(link: &VendorLinkRow, token_hash: &str, event: &VendorEvent) -> Option<Refusal> {
    // The row was found by this hash; compare again in constant time so the
    // decision never depends on how much of it matched.
    if !bool::from(link.token_hash.as_bytes().ct_eq(token_hash.as_bytes())) {
        return Some(Refusal::UnknownToken);
    }
    match (&link.mac, &event.mac) {
        (Some(bound), Some(sent)) if bound != sent => Some(Refusal::WrongMac),
        // Bound to a handset: an event must say it comes from it.
        (Some(_), None) => Some(Refusal::WrongMac),
        _ => None,
    }
}

fn tracker_of(link: &VendorLinkRow) -> Result<CallTracker, RepoError> {
    serde_json::from_str(&link.tracker)
        .map_err(|e| RepoError::Corrupt(format!("vendor tracker: {e}")))
}

/// A phone's link and tracker, read under the phone's row lock.
struct Locked {
    org: OrgId,
    phone: PhoneRow,
    link: VendorLinkRow,
    tracker: CallTracker,
}

/// Locks the phone `seen` belongs to and reads its link again (another
/// event may have moved the tracker, or the token may have been replaced);
/// `None` once the link is gone.
fn lock(conn: &mut DbConn, seen: &VendorLinkRow) -> Result<Option<Locked>, RepoError> {
    let org: OrgId = stored_id(&seen.org_id)?;
    let phone_id: PhoneId = stored_id(&seen.phone_id)?;
    // Locked before it is read: a disable or a driver change that commits
    // first is seen.
    phones::lock(conn, &seen.phone_id)?;
    let phone = phones::get(conn, org, phone_id)?;
    let Some(link) = vendor_links::of_phone(conn, org, phone_id)? else {
        return Ok(None);
    };
    let tracker = tracker_of(&link)?;
    Ok(Some(Locked {
        org,
        phone,
        link,
        tracker,
    }))
}

impl Locked {
    /// Stores the records among `effects` (the ordinary idempotent ingest)
    /// and returns how many, with the screen pops to send after the commit.
    fn store(
        &self,
        conn: &mut DbConn,
        effects: Vec<Effect>,
        now: Micros,
    ) -> Result<(usize, Vec<Pop>), RepoError> {
        let phone: PhoneId = stored_id(&self.phone.id)?;
        let region = region_of(&self.phone.number_e164);
        let uploader = Uploader {
            org: self.org,
            phone,
            reporter: Reporter::Phone,
            app_user: None,
        };
        let mut records = 0;
        let mut pops = Vec::new();
        for effect in effects {
            match effect {
                Effect::Record(upload) => match CallFacts::parse(&upload, region, now) {
                    Ok(facts) => match record_ingest::ingest(conn, &uploader, &[facts], now)?.pop()
                    {
                        Some(ItemOutcome::Rejected(e)) => {
                            tracing::warn!(%phone, call_id = ?upload.call_id, error = ?e.message, "vendor call record refused")
                        }
                        Some(_) => records += 1,
                        None => {}
                    },
                    Err(e) => {
                        tracing::warn!(%phone, call_id = ?upload.call_id, error = ?e.message, "vendor call record refused")
                    }
                },
                Effect::Frame(PhoneFrame::Incoming { call_id, from }) => pops.push(Pop {
                    org: self.org,
                    phone,
                    call_id,
                    from,
                }),
                // Direct mode sends the phone no dials, and its line does
                // not count for presence without a live connection (a
                // relay's).
                other => {
                    tracing::debug!(%phone, effect = ?other, "vendor event effect not used in direct mode")
                }
            }
        }
        Ok((records, pops))
    }

    /// Writes the tracker back; `event` when an event (from `mac`) moved it.
    fn save(
        &self,
        conn: &mut DbConn,
        mac: Option<&str>,
        event: bool,
        now: Micros,
    ) -> Result<(), RepoError> {
        let tracker =
            serde_json::to_string(&self.tracker).map_err(|e| RepoError::Corrupt(e.to_string()))?;
        let saved = vendor_links::Saved {
            mac,
            tracker: &tracker,
            open_calls: i64::try_from(self.tracker.open_calls()).unwrap_or(i64::MAX),
            event_at: event.then_some(now),
            now,
        };
        vendor_links::save(conn, &self.link.phone_id, &saved)
    }
}

fn apply(
    conn: &mut DbConn,
    config: &TrackerConfig,
    token_hash: &str,
    seen: &VendorLinkRow,
    event: &VendorEvent,
    clock: &Clock,
) -> Result<(Outcome, Vec<Pop>), RepoError> {
    let Some(mut locked) = lock(conn, seen)? else {
        return Ok((Outcome::Refused(Refusal::UnknownToken), Vec::new()));
    };
    if let Some(refusal) = refusal(&locked.link, token_hash, event) {
        return Ok((Outcome::Refused(refusal), Vec::new()));
    }
    let driven = locked
        .phone
        .driver
        .as_deref()
        .and_then(Vendor::parse)
        .is_some();
    if locked.phone.disabled_at.is_some() || !driven {
        return Ok((Outcome::Refused(Refusal::PhoneUnavailable), Vec::new()));
    }
    let now = clock.now();
    if locked.tracker.is_repeat(event, to_datetime(now)) {
        return Ok((Outcome::Repeat, Vec::new()));
    }
    let effects = locked.tracker.observe(config, event, to_datetime(now));
    let (records, pops) = locked.store(conn, effects, now)?;
    let mac = locked.link.mac.clone().or_else(|| event.mac.clone());
    locked.save(conn, mac.as_deref(), true, now)?;
    Ok((Outcome::Accepted { records }, pops))
}

/// The worker's sweep: closes calls whose end a direct-mode phone never
/// reported, a page of phones at a time; returns the records stored.
pub async fn close_abandoned(
    services: &Services,
    config: TrackerConfig,
) -> Result<usize, RepoError> {
    let mut after = String::new();
    let mut stored = 0;
    loop {
        let from = after.clone();
        let page = services
            .db
            .run(move |conn| vendor_links::with_open_calls(conn, &from, 100))
            .await?;
        let Some(last) = page.last() else {
            return Ok(stored);
        };
        after = last.phone_id.clone();
        for link in page {
            let now = services.clock.now();
            let phone = link.phone_id.clone();
            // One phone's trouble (a corrupt tracker) stops no other's.
            match services
                .db
                .write(move |conn| close_in(conn, &config, &link, now))
                .await
            {
                Ok(records) => stored += records,
                Err(e) => {
                    tracing::error!(phone, error = %e, "vendor calls of a phone could not be closed")
                }
            }
        }
    }
}

fn close_in(
    conn: &mut DbConn,
    config: &TrackerConfig,
    seen: &VendorLinkRow,
    now: Micros,
) -> Result<usize, RepoError> {
    let Some(mut locked) = lock(conn, seen)? else {
        return Ok(0);
    };
    let effects = locked.tracker.tick(config, to_datetime(now));
    if effects.is_empty() {
        return Ok(0);
    }
    // A pop of a call already over is not sent.
    let (records, _) = locked.store(conn, effects, now)?;
    let mac = locked.link.mac.clone();
    locked.save(conn, mac.as_deref(), false, now)?;
    Ok(records)
}

/// Ends a phone's direct mode inside the caller's transaction (the phone's
/// row lock held): its open calls are closed as of `now` and stored, then
/// its link is deleted. `false` when it had none. Called when its token is
/// revoked, the phone is disabled, or its driver changes.
pub fn end_direct_mode_in(
    conn: &mut DbConn,
    org: OrgId,
    phone: PhoneId,
    now: Micros,
) -> Result<bool, RepoError> {
    let Some(link) = vendor_links::of_phone(conn, org, phone)? else {
        return Ok(false);
    };
    if link.open_calls > 0
        && let Some(mut locked) = lock(conn, &link)?
    {
        let effects = locked
            .tracker
            .close_all(&TrackerConfig::default(), to_datetime(now));
        locked.store(conn, effects, now)?;
    }
    vendor_links::delete(conn, org, phone)
}
