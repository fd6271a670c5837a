//! The office LAN in one process: an emulated desk phone per office phone
//! (deskbind_vendor_emulator, on loopback), one in-process `Relay` driving
//! them all, and each handset configured with the snippet the server
//! issues for relay mode, as an admin would paste it.

use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use chrono::TimeDelta;
use deskbind_core::vendor::TrackerConfig;
use deskbind_core::wire::VendorMode;
use deskbind_mobile::AppClient;
use deskbind_relay::{Relay, RelayConfig, RelayOptions};
use deskbind_vendor_emulator::EmulatedPhone;

use crate::vendor_office::OfficePhone;

/// The handsets' web admin login, as the relay's configuration names it.
pub const HANDSET_USER: &str = "admin";
pub const HANDSET_PASSWORD: &str = "phone-admin-pw";

/// The relay and the handsets it drives, `handsets[i]` for `phones[i]`.
#[derive(Debug)]
pub struct Rig {
    pub relay: Relay,
    pub handsets: Vec<EmulatedPhone>,
    /// The relay's state files; removed when the rig drops.
    _state_dir: tempfile::TempDir,
}

/// Starts a handset per phone, then the relay (which redeems every
/// provisioning code and opens every phone's link), then configures the
/// handsets from the server's relay-mode snippet.
///
/// `match_window`: how long the relay's call tracker waits for a dialled
/// call to start before reporting the dial failed.
pub async fn start(
    admin: &AppClient,
    server_url: &str,
    phones: &[OfficePhone],
    match_window: Duration,
) -> anyhow::Result<Rig> {
    let mut handsets = Vec::with_capacity(phones.len());
    for phone in phones {
        let mac = format!("0015650{:05x}", phone.index);
        let handset = EmulatedPhone::start(phone.vendor, &mac, HANDSET_USER, HANDSET_PASSWORD)
            .await
            .with_context(|| format!("cannot start emulated phone {}", phone.index))?;
        handsets.push(handset);
    }
    let state_dir = tempfile::tempdir().context("cannot create the relay's state directory")?;
    let text = config_text(server_url, state_dir.path(), phones, &handsets)?;
    let config = RelayConfig::parse(&text).context("the relay refused its configuration")?;
    let options = RelayOptions {
        tracker: TrackerConfig {
            match_window: TimeDelta::from_std(match_window)?,
            ..TrackerConfig::default()
        },
        ..RelayOptions::default()
    };
    let started = Instant::now();
    let relay = Relay::start(config, options)
        .await
        .context("the relay did not start")?;
    println!(
        "relay started on {} with {} phones ({:.1} s, provisioning included)",
        relay.addr(),
        phones.len(),
        started.elapsed().as_secs_f64()
    );
    let relay_url = format!("http://{}", relay.addr());
    for (phone, handset) in phones.iter().zip(&handsets) {
        let issued = admin
            .phone_vendor_config(phone.id, VendorMode::Relay, Some(&relay_url))
            .await
            .with_context(|| format!("cannot get phone {}'s relay configuration", phone.index))?;
        handset.configure(&issued.snippet);
    }
    Ok(Rig {
        relay,
        handsets,
        _state_dir: state_dir,
    })
}

/// Waits (at most `limit`) until the relay has every phone's link up.
/// Polling is fine here: this is setup, not the measurement.
pub async fn wait_connected(relay: &Relay, limit: Duration) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let status = relay.status();
        let connected = status.iter().filter(|s| s.link == "connected").count();
        if connected == status.len() {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            let stuck: Vec<String> = status
                .iter()
                .filter(|s| s.link != "connected")
                .take(5)
                .map(|s| format!("{} {} ({:?})", s.name, s.link, s.last_error))
                .collect();
            bail!(
                "only {connected} of {} phone links up after {limit:?}; e.g. {}",
                status.len(),
                stuck.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The relay's configuration text: loopback everywhere, one `[[phones]]`
/// entry per handset with its provisioning code and MAC.
fn config_text(
    server_url: &str,
    state_dir: &std::path::Path,
    phones: &[OfficePhone],
    handsets: &[EmulatedPhone],
) -> anyhow::Result<String> {
    let state_dir = state_dir
        .to_str()
        .context("the relay's state directory is not UTF-8")?;
    // The advertised address only feeds the snippets `Relay::snippets` would
    // make; the bench takes the server's, made for the bound port.
    let mut text = format!(
        "server_url = \"{server_url}\"\nlisten = \"127.0.0.1:0\"\nadvertise_url = \"http://127.0.0.1:9\"\nstate_dir = \"{state_dir}\"\n"
    );
    for (phone, handset) in phones.iter().zip(handsets) {
        text.push_str(&format!(
            "\n[[phones]]\nname = \"desk-{}\"\ndriver = \"{}\"\naddress = \"{}\"\nusername = \"{HANDSET_USER}\"\npassword = \"{HANDSET_PASSWORD}\"\nmac = \"{}\"\nprovisioning_code = \"{}\"\n",
            phone.index, handset.vendor, handset.addr, handset.mac, phone.provisioning_code
        ));
    }
    Ok(text)
}
