//! What a desk phone reports through its Action URLs, normalised. deskbind
//! writes the Action URLs itself (`action_urls`), so every vendor's event
//! arrives in one shape: `?event=<kind>&call_id=..&remote=..&mac=..`; only
//! the vendor's variable names inside the template differ.

use super::catalog::Vendor;
use crate::wire::str_enum::str_enum;

str_enum! {
    /// One phone event, under deskbind's name for it.
    pub enum EventKind {
        /// The phone started an outgoing call (Yealink `outgoing_call`).
        Outgoing => "outgoing",
        /// A call was answered, either way.
        Established => "established",
        /// A call ended (hung up by either side).
        Terminated => "terminated",
        /// The called party was busy.
        RemoteBusy => "remote_busy",
        /// The phone's user gave up an outgoing call before it was answered.
        Cancelled => "cancelled",
        /// The caller hung up an incoming call before it was answered.
        RemoteCancelled => "remote_cancelled",
        /// A call is ringing in.
        Incoming => "incoming",
        /// The phone gave up an incoming call nobody answered.
        Missed => "missed",
        /// The phone's user rejected an incoming call.
        Rejected => "rejected",
        Hold => "hold",
        Unhold => "unhold",
        DndOn => "dnd_on",
        DndOff => "dnd_off",
        /// The phone went back to idle: no call is left.
        Idle => "idle",
    }
}

/// The most characters kept of a value the phone sends: its call id and
/// the other party (the phone protocol's own limit for a caller), so a
/// record's call id stays within the ingest's limit.
const MAX_VALUE: usize = 64;
/// The most characters of an unknown event name kept for the log.
const MAX_KIND: usize = 32;

/// One event as the phone reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorEvent {
    pub kind: EventKind,
    /// The phone's own id for the call, when its firmware has one.
    pub call_id: Option<String>,
    /// The other party as the phone shows it (a number, or a SIP URI).
    pub remote: Option<String>,
    /// The phone's MAC address, lower-case hex without separators.
    pub mac: Option<String>,
}

/// Why a reported event was not understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventError {
    /// No `event` parameter.
    MissingKind,
    /// An `event` deskbind has no name for.
    UnknownKind(String),
}

impl VendorEvent {
    /// Reads an event from the Action URL's query parameters (already
    /// percent-decoded). A value still holding a `$variable` means the
    /// phone's firmware does not know that variable: it counts as absent.
    pub fn from_query<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<Self, EventError> {
        let mut kind = None;
        let mut event = Self {
            kind: EventKind::Idle,
            call_id: None,
            remote: None,
            mac: None,
        };
        for (name, value) in pairs {
            let value = value.trim();
            match name {
                "event" => {
                    kind = Some(
                        value
                            .chars()
                            .filter(|c| !c.is_control())
                            .take(MAX_KIND)
                            .collect::<String>(),
                    )
                }
                "call_id" => event.call_id = known(value),
                "remote" => event.remote = known(value).map(|r| remote_party(&r)),
                "mac" => event.mac = known(value).and_then(|m| normalise_mac(&m)),
                _ => {}
            }
        }
        let kind = kind.ok_or(EventError::MissingKind)?;
        event.kind = EventKind::parse(&kind).ok_or(EventError::UnknownKind(kind))?;
        Ok(event)
    }
}

impl VendorEvent {
    /// Reads an event from an Action URL's raw query string. Values are
    /// percent-decoded but a `+` stays a `+`: phones fill their variables
    /// in without escaping, so `remote=+4930…` is a number, not a space.
    pub fn from_raw_query(query: &str) -> Result<Self, EventError> {
        let pairs: Vec<(String, String)> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|pair| {
                let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
                (decode(name), decode(value))
            })
            .collect();
        Self::from_query(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    }
}

fn decode(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// A value the phone filled in: control characters dropped (they would
/// reach logs and screen pops), cut to `MAX_VALUE`.
fn known(value: &str) -> Option<String> {
    if value.contains('$') {
        return None;
    }
    let clean: String = value
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_VALUE)
        .collect();
    let clean = clean.trim();
    (!clean.is_empty()).then(|| clean.to_owned())
}

/// `sip:+4930123@pbx.example;user=phone` → `+4930123`; a plain number
/// stays as it is.
pub fn remote_party(value: &str) -> String {
    let without_scheme = value
        .strip_prefix("sip:")
        .or_else(|| value.strip_prefix("sips:"))
        .or_else(|| value.strip_prefix("tel:"))
        .unwrap_or(value);
    let user = without_scheme
        .split(['@', ';'])
        .next()
        .unwrap_or(without_scheme);
    user.trim().to_owned()
}

/// A MAC address as 12 lower-case hex digits, whatever separators the
/// vendor writes (`00:15:65:AB:CD:EF`, `0015-65ab-cdef`, `001565abcdef`).
pub fn normalise_mac(value: &str) -> Option<String> {
    let hex: String = value
        .chars()
        .filter(|c| !matches!(c, ':' | '-' | '.'))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    (hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit())).then_some(hex)
}

/// The query template each vendor's Action URL carries after deskbind's
/// `event=<kind>`: the vendor's own names for the call id, the other party
/// and the MAC address (docs/vendor-phones.md).
pub fn variables(vendor: Vendor) -> &'static str {
    match vendor {
        Vendor::Yealink => "call_id=$call_id&remote=$remote&mac=$mac",
        Vendor::Snom => "call_id=$call-id&remote=$remote&mac=$mac",
        Vendor::Grandstream => "remote=$remote&mac=$mac",
        Vendor::Fanvil => "call_id=$call_id&remote=$remote&mac=$mac",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_event_reads_its_parameters() {
        let event = VendorEvent::from_query([
            ("event", "outgoing"),
            ("call_id", "17"),
            ("remote", "sip:+4930123456@pbx.example"),
            ("mac", "00:15:65:AB:CD:EF"),
        ]);
        assert_eq!(
            event,
            Ok(VendorEvent {
                kind: EventKind::Outgoing,
                call_id: Some("17".into()),
                remote: Some("+4930123456".into()),
                mac: Some("001565abcdef".into()),
            })
        );
    }

    #[test]
    fn variables_the_firmware_does_not_know_count_as_absent() {
        let event = VendorEvent::from_query([
            ("event", "incoming"),
            ("call_id", "$call_id"),
            ("remote", ""),
        ]);
        assert_eq!(event.as_ref().map(|e| e.call_id.clone()), Ok(None));
        assert_eq!(event.map(|e| e.remote), Ok(None));
    }

    #[test]
    fn unknown_and_missing_events_are_refused() {
        assert_eq!(
            VendorEvent::from_query([("call_id", "1")]),
            Err(EventError::MissingKind)
        );
        assert_eq!(
            VendorEvent::from_query([("event", "reboot")]),
            Err(EventError::UnknownKind("reboot".into()))
        );
    }

    #[test]
    fn a_raw_query_keeps_its_plus_signs() {
        let event = VendorEvent::from_raw_query(
            "event=incoming&remote=sip:+4930123%40x@pbx&call_id=4&&mac=$mac",
        );
        assert_eq!(
            event,
            Ok(VendorEvent {
                kind: EventKind::Incoming,
                call_id: Some("4".into()),
                remote: Some("+4930123".into()),
                mac: None,
            })
        );
    }

    #[test]
    fn macs_are_normalised_or_dropped() {
        assert_eq!(
            normalise_mac("0015-65ab-cdef").as_deref(),
            Some("001565abcdef")
        );
        assert_eq!(normalise_mac("00:15:65:AB:CD"), None);
        assert_eq!(normalise_mac("zz15-65ab-cdef"), None);
    }

    #[test]
    fn control_characters_never_get_through() {
        let event = VendorEvent::from_raw_query(
            "event=incoming&remote=%2B1555%0A%1B[31mEVIL&call_id=%0D%0A",
        );
        assert_eq!(
            event.as_ref().map(|e| e.remote.clone()),
            Ok(Some("+1555[31mEVIL".into()))
        );
        assert_eq!(event.map(|e| e.call_id), Ok(None));
        let unknown = VendorEvent::from_raw_query(&format!("event=x%0A{}", "y".repeat(500)));
        assert!(
            matches!(unknown, Err(EventError::UnknownKind(k)) if k.len() == 32 && !k.contains('\n'))
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = "9".repeat(500);
        let event = VendorEvent::from_query([("event", "incoming"), ("remote", long.as_str())]);
        assert_eq!(
            event.map(|e| e.remote.map(|r| r.len())),
            Ok(Some(MAX_VALUE))
        );
    }
}
