//! The configuration a phone needs so that it reports its calls to deskbind
//! (its Action URLs) and, behind a relay, takes commands from it: what
//! `GET /v1/phones/{id}/vendor-config` and `deskbind-relay` print for an
//! admin to paste into the phone's web UI or provisioning file.

use super::catalog::Vendor;
use super::events::{EventKind, variables};

/// One setting and the event it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionUrlSetting {
    /// The vendor's name for the setting.
    pub setting: &'static str,
    pub event: EventKind,
}

const fn s(setting: &'static str, event: EventKind) -> ActionUrlSetting {
    ActionUrlSetting { setting, event }
}

use EventKind as E;

const YEALINK: &[ActionUrlSetting] = &[
    s("action_url.outgoing_call", E::Outgoing),
    s("action_url.call_established", E::Established),
    s("action_url.call_terminated", E::Terminated),
    s("action_url.remote_busy", E::RemoteBusy),
    s("action_url.cancel_callout", E::Cancelled),
    s("action_url.call_remote_canceled", E::RemoteCancelled),
    s("action_url.incoming_call", E::Incoming),
    s("action_url.missed_call", E::Missed),
    s("action_url.reject_incoming_call", E::Rejected),
    s("action_url.hold", E::Hold),
    s("action_url.unhold", E::Unhold),
    s("action_url.dnd_on", E::DndOn),
    s("action_url.dnd_off", E::DndOff),
    s("action_url.busy_to_idle", E::Idle),
];

const SNOM: &[ActionUrlSetting] = &[
    s("action_outgoing_url", E::Outgoing),
    s("action_connected_url", E::Established),
    s("action_disconnected_url", E::Terminated),
    s("action_incoming_url", E::Incoming),
    s("action_missed_url", E::Missed),
    s("action_dnd_on_url", E::DndOn),
    s("action_dnd_off_url", E::DndOff),
];

const GRANDSTREAM: &[ActionUrlSetting] = &[
    s("Outgoing Call", E::Outgoing),
    s("Established Call", E::Established),
    s("Terminated Call", E::Terminated),
    s("Incoming Call", E::Incoming),
    s("Missed Call", E::Missed),
    s("DND On", E::DndOn),
    s("DND Off", E::DndOff),
];

const FANVIL: &[ActionUrlSetting] = &[
    s("Outgoing Call Url", E::Outgoing),
    s("Call Active Url", E::Established),
    s("Call Stop Url", E::Terminated),
    s("Incoming Call Url", E::Incoming),
    s("New Missed call Url", E::Missed),
    s("Hold On Url", E::Hold),
    s("Hold Off Url", E::Unhold),
    s("DND On Url", E::DndOn),
    s("DND Off Url", E::DndOff),
    s("PhoneState Idle Url", E::Idle),
];

/// The Action URL settings deskbind fills in, per vendor. Vendors without
/// a busy or cancel event report those calls as ended unanswered.
pub fn settings(vendor: Vendor) -> &'static [ActionUrlSetting] {
    match vendor {
        Vendor::Yealink => YEALINK,
        Vendor::Snom => SNOM,
        Vendor::Grandstream => GRANDSTREAM,
        Vendor::Fanvil => FANVIL,
    }
}

/// The URL a setting holds: `events_url` with the event and the vendor's
/// variables.
pub fn action_url(vendor: Vendor, events_url: &str, event: EventKind) -> String {
    format!(
        "{events_url}?event={}&{}",
        event.as_str(),
        variables(vendor)
    )
}

/// Where the configuration goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Behind `deskbind-relay`: the phone also takes commands from the
    /// relay's address, without the "allow remote control?" prompt.
    Relay { relay_ip: std::net::IpAddr },
    /// Straight to deskbind: events only, no commands.
    Direct,
}

/// The text to paste, in the vendor's own configuration format.
pub fn snippet(vendor: Vendor, events_url: &str, mode: Mode) -> String {
    let urls = settings(vendor)
        .iter()
        .map(|s| (s.setting, action_url(vendor, events_url, s.event)));
    let mut out = String::new();
    match vendor {
        Vendor::Yealink => {
            out.push_str(
                "#!version:1.0.0.1\n# deskbind: paste into the phone's provisioning file (.cfg)\n",
            );
            for (setting, url) in urls {
                out.push_str(&format!("{setting} = {url}\n"));
            }
            if let Mode::Relay { relay_ip } = mode {
                out.push_str(&format!(
                    "features.action_uri.enable = 1\nfeatures.action_uri_limit_ip = {relay_ip}\nfeatures.show_action_uri_option = 0\n"
                ));
            }
        }
        Vendor::Snom => {
            out.push_str(
                "<!-- deskbind: paste inside <phone-settings> of the phone's settings XML -->\n",
            );
            for (setting, url) in urls {
                out.push_str(&format!(
                    "<{setting} perm=\"R\">{}</{setting}>\n",
                    xml_escape(&url)
                ));
            }
        }
        Vendor::Grandstream => {
            out.push_str("# deskbind: web UI, Settings > Action URL\n");
            for (setting, url) in urls {
                out.push_str(&format!("{setting}: {url}\n"));
            }
            if let Mode::Relay { relay_ip } = mode {
                out.push_str(&format!(
                    "# web UI, Settings > Call Features\nAction URI Support: Enabled\nAction URI Allowed IP List: {relay_ip}\nRemote Control Pop up Window Support: Disabled\n"
                ));
            }
        }
        Vendor::Fanvil => {
            out.push_str("# deskbind: paste into the phone's configuration file\n<CTI CONFIG MODULE>\nEnabled Action Url :1\n");
            if let Mode::Relay { relay_ip } = mode {
                out.push_str(&format!(
                    "Enabled Active Uri :1\nActive Uri IP      :{relay_ip}\n"
                ));
            }
            for (setting, url) in urls {
                out.push_str(&format!("{setting} :{url}\n"));
            }
        }
    }
    out
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vendor::events::VendorEvent;

    const URL: &str = "https://deskbind.example/v1/vendor-events/tok";

    #[test]
    fn every_vendor_reports_the_events_outcomes_need() {
        for vendor in Vendor::ALL {
            let events: Vec<EventKind> = settings(*vendor).iter().map(|s| s.event).collect();
            for needed in [
                EventKind::Outgoing,
                EventKind::Established,
                EventKind::Terminated,
                EventKind::Incoming,
            ] {
                assert!(events.contains(&needed), "{vendor} lacks {needed}");
            }
        }
    }

    #[test]
    fn an_action_url_reads_back_as_its_event() {
        for vendor in Vendor::ALL {
            for setting in settings(*vendor) {
                let url = action_url(*vendor, URL, setting.event);
                let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
                let pairs = query.split('&').filter_map(|p| p.split_once('='));
                let event = VendorEvent::from_query(pairs).map(|e| e.kind);
                assert_eq!(event, Ok(setting.event), "{url}");
            }
        }
    }

    #[test]
    fn relay_mode_opens_remote_control_to_the_relay_only() {
        let relay = Mode::Relay {
            relay_ip: std::net::IpAddr::from([10, 0, 0, 5]),
        };
        let yealink = snippet(Vendor::Yealink, URL, relay);
        assert!(yealink.contains("features.action_uri_limit_ip = 10.0.0.5\n"));
        assert!(yealink.contains("features.show_action_uri_option = 0\n"));
        assert!(yealink.contains(&format!(
            "action_url.remote_busy = {URL}?event=remote_busy&call_id=$call_id"
        )));
        let direct = snippet(Vendor::Yealink, URL, Mode::Direct);
        assert!(!direct.contains("action_uri_limit_ip"));
        let snom = snippet(Vendor::Snom, URL, Mode::Direct);
        assert!(snom.contains("&amp;call_id=$call-id"));
    }
}
