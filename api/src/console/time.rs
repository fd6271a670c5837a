//! Times on console pages, in the viewer's zone: one place for the zone
//! lookup and the format every page shows.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use deskbind_core::domain::TimeZoneName;

use super::session::ConsoleUser;

/// The zone a stored name stands for; UTC if it no longer parses.
pub fn zone_named(name: &str) -> Tz {
    TimeZoneName::parse("time_zone", name)
        .map(|z| z.tz())
        .unwrap_or(Tz::UTC)
}

/// The viewer's zone.
pub fn viewer_zone(user: &ConsoleUser) -> Tz {
    zone_named(&user.time_zone)
}

/// `2026-12-02 09:15:03`, in `tz`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M:%S").to_string()
}

/// A local date and time as typed in a form: `YYYY-MM-DD HH:MM` (or with
/// a `T`, as browsers' date-time pickers send it; seconds allowed).
pub fn parse_local_minute(raw: &str) -> Option<chrono::NaiveDateTime> {
    let raw = raw.trim().replacen('T', " ", 1);
    ["%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]
        .iter()
        .find_map(|f| chrono::NaiveDateTime::parse_from_str(&raw, f).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_in_the_viewers_zone_or_utc_when_it_is_unreadable() {
        let at = Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        assert_eq!(
            local_time(at, zone_named("Europe/Berlin")),
            "2026-12-02 10:00:00"
        );
        assert_eq!(
            local_time(at, zone_named("not/a zone")),
            "2026-12-02 09:00:00"
        );
    }
}
