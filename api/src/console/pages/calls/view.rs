//! How a call reads on a page: times in the viewer's zone, durations as
//! minutes and seconds, directions and results in words.

use chrono::{DateTime, Utc};
use deskbind_core::wire::{CallDirection, CallRecord, CallResult};

pub use crate::console::time::{local_time, viewer_zone};

/// The machine-readable instant for `<time datetime>`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// `0:42`, `12:05`, `1:02:03`; empty when unknown.
/// The other party's number as the log shows it; another user's private
/// call shows no number.
pub fn number_label(call: &CallRecord) -> String {
    if call.redacted {
        return "Private call".into();
    }
    call.remote_number_e164
        .clone()
        .unwrap_or_else(|| call.remote_number.clone())
}

pub fn duration(secs: Option<i64>) -> String {
    let Some(secs) = secs.filter(|s| *s >= 0) else {
        return String::new();
    };
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

pub fn direction_label(d: CallDirection) -> &'static str {
    match d {
        CallDirection::Outbound => "Outbound",
        CallDirection::Inbound => "Inbound",
        CallDirection::Missed => "Missed",
    }
}

pub fn result_label(r: Option<CallResult>) -> &'static str {
    match r {
        None => "",
        Some(CallResult::Answered) => "Answered",
        Some(CallResult::Busy) => "Busy",
        Some(CallResult::NoAnswer) => "No answer",
        Some(CallResult::Rejected) => "Rejected",
        Some(CallResult::Failed) => "Failed",
        Some(CallResult::Cancelled) => "Cancelled",
    }
}

/// `1.2 MB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1e6),
        b if b >= 1_000 => format!("{:.1} kB", b as f64 / 1e3),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_clock_times() {
        assert_eq!(duration(None), "");
        assert_eq!(duration(Some(0)), "0:00");
        assert_eq!(duration(Some(42)), "0:42");
        assert_eq!(duration(Some(725)), "12:05");
        assert_eq!(duration(Some(3723)), "1:02:03");
    }

    #[test]
    fn times_are_the_viewers() {
        let t = DateTime::parse_from_rfc3339("2026-12-02T23:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let berlin: chrono_tz::Tz = "Europe/Berlin".parse().unwrap();
        assert_eq!(local_time(t, berlin), "2026-12-03 00:30:00");
    }
}
