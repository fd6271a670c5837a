//! Timestamps are stored as microseconds since the Unix epoch (see
//! docs/decisions/0001-storage-types.md); these convert at the edges.

use chrono::{DateTime, TimeZone, Utc};

pub type Micros = i64;

pub fn now_micros() -> Micros {
    Utc::now().timestamp_micros()
}

pub fn to_datetime(micros: Micros) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

pub fn seconds(n: i64) -> Micros {
    n * 1_000_000
}
