//! The "Desk phone configuration" section of a driven phone's page
//! (docs/vendor-phones.md): the snippet to paste for direct mode (with
//! `<token>` in its place) and, for a relay URL typed into the section's
//! GET form, for relay mode; direct mode's state; and a token just issued,
//! shown on that one response. The configuration is the one
//! `GET /v1/phones/{id}/vendor-config` answers, built by the same function.

use actix_web::HttpRequest;
use chrono_tz::Tz;
use deskbind_core::ids::PhoneId;
use deskbind_core::wire::{DirectModeState, ErrorCode, VendorMode, VendorToken};

use crate::console::error::ConsoleResult;
use crate::console::field_errors::FormErrors;
use crate::console::session::ConsoleUser;
use crate::console::time::local_time;
use crate::error::ApiError;
use crate::routes::vendor_phones::vendor_config;
use crate::state::AppState;

/// The relay form's one field.
const RELAY_FIELDS: &[&str] = &["relay_url"];

/// Direct mode's state as the page shows it.
#[derive(Debug)]
pub struct DirectState {
    /// `None` until the token is bound (to the first event's MAC).
    pub mac: Option<String>,
    pub events_accepted: i64,
    pub last_event: Option<String>,
    pub open_calls: i64,
    pub issued: String,
}

#[derive(Debug)]
pub struct VendorSection {
    /// The vendor's own name.
    pub vendor: &'static str,
    /// Direct mode's snippet, `<token>` in place of the token.
    pub direct_snippet: String,
    /// The relay URL as typed, shown again in its field.
    pub relay_url: String,
    pub relay_snippet: Option<String>,
    /// Why the typed relay URL cannot be used (the API's words, 400).
    pub relay_errors: Option<FormErrors>,
    /// `None` while the phone has no direct-mode token.
    pub direct: Option<DirectState>,
    /// A token issued by this very request: its only showing.
    pub issued: Option<VendorToken>,
    /// The MAC typed into the token form, and why it was refused.
    pub mac: String,
    pub token_errors: Option<FormErrors>,
}

/// What a view of the page brings to the section.
#[derive(Debug, Default)]
pub struct VendorExtras {
    pub relay_url: Option<String>,
    pub issued: Option<VendorToken>,
    pub mac: String,
    pub token_errors: Option<FormErrors>,
}

/// The section of phone `id`, or `None` when it has no driver (it speaks
/// deskbind's own protocol: nothing to configure).
pub async fn section(
    req: &HttpRequest,
    state: &AppState,
    user: &ConsoleUser,
    id: PhoneId,
    zone: Tz,
    extras: VendorExtras,
) -> ConsoleResult<Option<VendorSection>> {
    let org = user.auth.org_id;
    let direct = match vendor_config(req, state, org, id, VendorMode::Direct, None).await {
        Ok(config) => config,
        Err(ApiError::Conflict {
            code: ErrorCode::NoVendorDriver,
            ..
        }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let relay_url = extras.relay_url.unwrap_or_default().trim().to_owned();
    let (relay_snippet, relay_errors) = if relay_url.is_empty() {
        (None, None)
    } else {
        let relay = vendor_config(req, state, org, id, VendorMode::Relay, Some(&relay_url));
        match relay.await {
            Ok(config) => (Some(config.snippet), None),
            Err(e) => (None, Some(FormErrors::from_api(e, RELAY_FIELDS)?)),
        }
    };
    Ok(Some(VendorSection {
        vendor: direct.vendor.display_name(),
        direct_snippet: direct.snippet,
        relay_url,
        relay_snippet,
        relay_errors,
        direct: direct.direct.map(|d| direct_state(d, zone)),
        issued: extras.issued,
        mac: extras.mac,
        token_errors: extras.token_errors,
    }))
}

fn direct_state(d: DirectModeState, zone: Tz) -> DirectState {
    DirectState {
        mac: d.mac.as_deref().map(with_colons),
        events_accepted: d.events_accepted,
        last_event: d.last_event_at.map(|t| local_time(t, zone)),
        open_calls: d.open_calls,
        issued: local_time(d.issued_at, zone),
    }
}

/// `001565abcdef` as people write it: `00:15:65:ab:cd:ef`.
fn with_colons(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).into_owned())
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_mac_reads_with_colons() {
        assert_eq!(with_colons("001565abcdef"), "00:15:65:ab:cd:ef");
    }
}
