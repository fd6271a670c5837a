//! Times on console pages, in the viewer's zone.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

/// `2026-12-02 09:41:07` in `zone` (UTC when the stored zone is unreadable).
pub fn local_time(at: DateTime<Utc>, zone: &str) -> String {
    let zone: Tz = zone.parse().unwrap_or(Tz::UTC);
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::local_time;
    use chrono::TimeZone;

    #[test]
    fn times_are_in_the_viewers_zone() {
        let at = chrono::Utc.with_ymd_and_hms(2026, 12, 2, 9, 0, 0).unwrap();
        assert_eq!(local_time(at, "Europe/Berlin"), "2026-12-02 10:00:00");
        assert_eq!(local_time(at, "not/a zone"), "2026-12-02 09:00:00");
    }
}
