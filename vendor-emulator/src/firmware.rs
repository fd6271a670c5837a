//! What each vendor's firmware does, as its documentation describes it
//! (docs/vendor-phones.md has the sources): which Action URL setting it
//! calls on which event, how it fills its variables, and how it takes
//! commands. Written from the phone's side, apart from deskbind's
//! `core/src/vendor`, so a test catches the two disagreeing.

use deskbind_core::vendor::Vendor;

/// Something that happens on the handset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneEvent {
    /// The phone starts an outgoing call.
    Outgoing,
    /// The call is answered, either way.
    Established,
    /// Either side hangs up an answered call.
    Terminated,
    /// The called party is busy.
    RemoteBusy,
    /// The phone's user gives up an outgoing call before an answer.
    Cancelled,
    /// A call rings in.
    Incoming,
    /// The caller gives up before the phone's user answers.
    RemoteCancelled,
    /// The phone's user rejects the call ringing in.
    Rejected,
}

/// The settings the firmware calls, in order, for `event`. Vendors without
/// a dedicated event report the call's end.
pub fn settings_for(vendor: Vendor, event: PhoneEvent) -> &'static [&'static str] {
    use PhoneEvent as E;
    match (vendor, event) {
        (Vendor::Yealink, E::Outgoing) => &["action_url.outgoing_call"],
        (Vendor::Yealink, E::Established) => &["action_url.call_established"],
        (Vendor::Yealink, E::Terminated) => &["action_url.call_terminated"],
        (Vendor::Yealink, E::RemoteBusy) => &["action_url.remote_busy"],
        (Vendor::Yealink, E::Cancelled) => &["action_url.cancel_callout"],
        (Vendor::Yealink, E::Incoming) => &["action_url.incoming_call"],
        (Vendor::Yealink, E::RemoteCancelled) => {
            &["action_url.call_remote_canceled", "action_url.missed_call"]
        }
        (Vendor::Yealink, E::Rejected) => &["action_url.reject_incoming_call"],
        (Vendor::Snom, E::Outgoing) => &["action_outgoing_url"],
        (Vendor::Snom, E::Established) => &["action_connected_url"],
        (Vendor::Snom, E::Incoming) => &["action_incoming_url"],
        (Vendor::Snom, E::RemoteCancelled) => &["action_missed_url", "action_disconnected_url"],
        (Vendor::Snom, _) => &["action_disconnected_url"],
        (Vendor::Grandstream, E::Outgoing) => &["Outgoing Call"],
        (Vendor::Grandstream, E::Established) => &["Established Call"],
        (Vendor::Grandstream, E::Incoming) => &["Incoming Call"],
        (Vendor::Grandstream, E::RemoteCancelled) => &["Missed Call", "Terminated Call"],
        (Vendor::Grandstream, _) => &["Terminated Call"],
        (Vendor::Fanvil, E::Outgoing) => &["Outgoing Call Url"],
        (Vendor::Fanvil, E::Established) => &["Call Active Url"],
        (Vendor::Fanvil, E::Incoming) => &["Incoming Call Url"],
        (Vendor::Fanvil, E::RemoteCancelled) => &[
            "New Missed call Url",
            "Call Stop Url",
            "PhoneState Idle Url",
        ],
        (Vendor::Fanvil, _) => &["Call Stop Url", "PhoneState Idle Url"],
    }
}

/// One call as the handset knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallInfo {
    /// The firmware's call id (Grandstream has none to give).
    pub call_id: u32,
    /// The other party's number.
    pub remote: String,
}

/// Fills the firmware's variables into a configured URL. Yealink puts the
/// other party as a SIP URI and does not escape it (a `+` stays a `+`);
/// the others give the bare number, escaped.
pub fn fill(vendor: Vendor, template: &str, call: &CallInfo, mac: &str) -> String {
    let escaped = |s: &str| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    let remote = match vendor {
        Vendor::Yealink => format!("sip:{}@pbx.example", call.remote),
        _ => escaped(&call.remote),
    };
    let id = call.call_id.to_string();
    let mut url = template.replace("$remote", &remote).replace("$mac", mac);
    url = match vendor {
        Vendor::Snom => url.replace("$call-id", &id),
        Vendor::Yealink | Vendor::Fanvil => url.replace("$call_id", &id),
        // No such variable: the firmware leaves it as it is.
        Vendor::Grandstream => url,
    };
    url
}

/// A command the firmware understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Dial(String),
    Hangup,
    Dnd(bool),
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    query
        .split('&')
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect()
}

/// How the firmware reads a request to `path` with `query`: `Ok(None)` for
/// a well-formed request it does nothing with (as the real one would).
pub fn parse_command(
    vendor: Vendor,
    path: &str,
    query: &str,
) -> Result<Option<Command>, &'static str> {
    let pairs = query_pairs(query);
    let first = pairs.first().map(|(k, v)| (k.as_str(), v.as_str()));
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match (vendor, path) {
        (Vendor::Yealink, "/servlet") => {
            // `key` must come first, and a trailing `&` spoils it.
            if query.ends_with('&') {
                return Ok(None);
            }
            let Some(("key", key)) = first else {
                return Ok(None);
            };
            Ok(match key {
                "CALLEND" => Some(Command::Hangup),
                "DNDOn" => Some(Command::Dnd(true)),
                "DNDOff" => Some(Command::Dnd(false)),
                k => k
                    .strip_prefix("number=")
                    .map(|n| Command::Dial(n.to_owned())),
            })
        }
        (Vendor::Snom, "/command.htm") => Ok(if query == "RELEASE_ALL_CALLS" {
            Some(Command::Hangup)
        } else {
            get("number").map(|n| Command::Dial(n.to_owned()))
        }),
        (Vendor::Snom, "/dummy.htm") => Ok(match (get("settings"), get("dnd_mode")) {
            (Some("save"), Some("on")) => Some(Command::Dnd(true)),
            (Some("save"), Some("off")) => Some(Command::Dnd(false)),
            _ => None,
        }),
        (Vendor::Grandstream, "/cgi-bin/api-make_call") => {
            Ok(get("phonenumber").map(|n| Command::Dial(n.to_owned())))
        }
        (Vendor::Grandstream, "/cgi-bin/api-phone_operation") => {
            Ok((get("cmd") == Some("endcall")).then_some(Command::Hangup))
        }
        (Vendor::Fanvil, "/cgi-bin/ConfigManApp.com") => {
            let Some(("key", key)) = first else {
                return Ok(None);
            };
            Ok(match key {
                "RELEASE" => Some(Command::Hangup),
                "DNDOn" => Some(Command::Dnd(true)),
                "DNDOff" => Some(Command::Dnd(false)),
                k => k
                    .strip_suffix(";ENTER")
                    .map(|n| Command::Dial(n.to_owned())),
            })
        }
        _ => Err("no such page"),
    }
}

/// The Grandstream passcode a request carries.
pub fn passcode(query: &str) -> Option<String> {
    query_pairs(query)
        .into_iter()
        .find(|(k, _)| k == "passcode")
        .map(|(_, v)| v)
}
