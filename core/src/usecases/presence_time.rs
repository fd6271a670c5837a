//! Time per presence state per user and day (docs/presence.md, "Time per
//! state"; docs/decisions/0030-presence-time.md). Presence is mostly live
//! (relay), so its history is sampled: once a minute one sampler (the
//! first worker to claim the minute) reads every enabled user's effective
//! state and adds a minute to that user's row for their own local day and
//! that state. The same read announces the changes nobody else announced
//! (a timed DND ending, auto-away; `presence::announce_drift`).

use chrono_tz::Tz;

use super::{Services, presence, presence_reports};
use crate::repo::RepoError;
use crate::repo::presence_minutes;
use crate::time::{Micros, to_datetime};

/// Users read and written per step.
const BATCH: i64 = 500;
const MINUTE: Micros = 60_000_000;

/// The minute `now` falls in (Unix minutes).
pub fn minute_of(now: Micros) -> i64 {
    now.div_euclid(MINUTE)
}

/// The local date of `at` in the zone named `zone` (UTC when the name is
/// not one), as stored: `YYYY-MM-DD`.
pub fn local_day(at: Micros, zone: &str) -> String {
    let tz: Tz = zone.parse().unwrap_or(Tz::UTC);
    to_datetime(at)
        .with_timezone(&tz)
        .date_naive()
        .format("%Y-%m-%d")
        .to_string()
}

/// Samples the minute `now` falls in, unless another sampler (or an
/// earlier call) already did: how many users were counted, or `None`.
pub async fn sample(svc: &Services, now: Micros) -> Result<Option<usize>, RepoError> {
    let minute = minute_of(now);
    let claimed = svc
        .db
        .write(move |conn| presence_minutes::claim_minute(conn, minute))
        .await?;
    if !claimed {
        return Ok(None);
    }
    let mut counted = 0;
    let mut after: Option<String> = None;
    loop {
        let (page, next) = presence::all_page(svc, after, BATCH, now).await?;
        counted += page.len();
        // The same read tells the streams what changed by the clock alone.
        let drifted = presence::announce_drift(svc, &page, now).await;
        if drifted > 0 {
            tracing::debug!(users = drifted, "announced presence changes the clock made");
        }
        let reported = presence_reports::report_swept(svc, &page, now).await;
        if reported > 0 {
            tracing::debug!(users = reported, "reported presence changes to webhooks");
        }
        if !page.is_empty() {
            svc.db
                .write(move |conn| {
                    let ids: Vec<String> =
                        page.iter().map(|(_, p)| p.user_id.to_string()).collect();
                    let zones = presence_minutes::zones_of(conn, &ids)?;
                    for (org, p) in &page {
                        let user = p.user_id.to_string();
                        let zone = zones.get(&user).map_or("UTC", String::as_str);
                        let day = local_day(now, zone);
                        presence_minutes::add_minute(
                            conn,
                            &org.to_string(),
                            &user,
                            &day,
                            p.state.as_str(),
                        )?;
                    }
                    Ok::<_, RepoError>(())
                })
                .await?;
        }
        match next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    Ok(Some(counted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};

    fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> Micros {
        Utc.with_ymd_and_hms(y, m, d, h, min, 0)
            .unwrap()
            .timestamp_micros()
    }

    #[test]
    fn a_minute_counts_on_the_users_own_local_day() {
        let late = at(2026, 12, 3, 23, 30);
        assert_eq!(local_day(late, "UTC"), "2026-12-03");
        assert_eq!(local_day(late, "Europe/Berlin"), "2026-12-04");
        assert_eq!(local_day(late, "America/New_York"), "2026-12-03");
        assert_eq!(local_day(late, "Not/AZone"), "2026-12-03");
    }

    #[test]
    fn minutes_are_whole_unix_minutes() {
        let t = at(2026, 12, 3, 10, 0);
        assert_eq!(minute_of(t), minute_of(t + 59_999_999));
        assert_eq!(minute_of(t) + 1, minute_of(t + 60_000_000));
    }
}
