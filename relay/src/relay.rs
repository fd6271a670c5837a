//! Starts the relay: each configured phone gets its deskbind credential
//! (redeeming its provisioning code once), its own link and agent, and the
//! LAN listener takes the phones' events.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use deskbind_core::ids::PhoneId;
use deskbind_core::vendor::TrackerConfig;
use deskbind_core::vendor::action_urls::{Mode, snippet};
use deskbind_mobile::{LinkOptions, PhoneClient};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::agent::Agent;
use crate::clock::RelayClock;
use crate::config::{PhoneConfig, RelayConfig};
use crate::lan::{Lan, PhoneRoute};
use crate::phone_http::PhoneHttp;
use crate::status::{PhoneStatus, SharedStatus};
use crate::store::{PhoneState, Secret, StateFile};
use sha2::{Digest as _, Sha256};

/// Events waiting for one phone's agent, at most (a phone sends a few per
/// call; more means a flood, answered 503).
const EVENT_QUEUE: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("phone {name}: {detail}")]
    Phone { name: String, detail: String },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

/// Options tests change.
#[derive(Debug, Clone, Default)]
pub struct RelayOptions {
    pub clock: RelayClock,
    pub link: LinkOptions,
    pub tracker: TrackerConfig,
}

/// A running relay.
#[derive(Debug)]
pub struct Relay {
    addr: SocketAddr,
    config: RelayConfig,
    phones: Vec<(Arc<PhoneConfig>, PhoneId)>,
    statuses: Vec<SharedStatus>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Relay {
    pub async fn start(config: RelayConfig, options: RelayOptions) -> Result<Self, StartError> {
        let http = PhoneHttp::new(config.command_timeout)
            .map_err(|e| StartError::Other(format!("cannot build the HTTP client: {e}")))?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let mut routes = HashMap::new();
        let mut agents = Vec::new();
        let mut phones = Vec::new();
        let mut statuses = Vec::new();
        for phone in &config.phones {
            let phone = Arc::new(phone.clone());
            let fail = |detail: String| StartError::Phone {
                name: phone.name.clone(),
                detail,
            };
            let file =
                StateFile::open(&config.state_dir, &phone.name).map_err(|e| fail(e.to_string()))?;
            let mut state = file.load(phone.vendor).map_err(|e| fail(e.to_string()))?;
            state.login_is(fingerprint(&[&phone.login.username, &phone.login.password]));
            let dropped = state.drop_stale_frames(options.clock.now());
            if dropped > 0 {
                tracing::info!(phone = %phone.name, dropped, "stale screen pops and line states not sent");
            }
            let (client, phone_id) = credential(&config, &phone, &file, &mut state)
                .await
                .map_err(fail)?;
            let link = client
                .connect(options.link.clone())
                .map_err(|e| fail(e.to_string()))?;
            let (events_tx, events) = mpsc::channel(EVENT_QUEUE);
            let status = SharedStatus::new(
                PhoneStatus {
                    name: phone.name.clone(),
                    driver: phone.vendor.to_string(),
                    phone_id: phone_id.to_string(),
                    link: "connecting",
                    last_event_at: None,
                    commands_sent: 0,
                    last_error: None,
                    login_paused_until: state.login_paused_until,
                    unsent_frames: state.frames.len(),
                    unsent_records: state.records.len(),
                },
                link.state_watch(),
            );
            routes.insert(
                phone_id,
                PhoneRoute {
                    config: phone.clone(),
                    events: events_tx,
                },
            );
            agents.push(Agent {
                phone: phone.clone(),
                client,
                link,
                file,
                state,
                http: http.clone(),
                clock: options.clock.clone(),
                tracker_config: options.tracker,
                login_backoff: config.login_backoff,
                events,
                status: status.clone(),
                shutdown: shutdown_rx.clone(),
            });
            phones.push((phone, phone_id));
            statuses.push(status);
        }
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: config.listen,
                    source,
                })?;
        let addr = listener
            .local_addr()
            .map_err(|e| StartError::Other(e.to_string()))?;
        let lan = Lan {
            phones: Arc::new(routes),
            statuses: Arc::new(statuses.clone()),
            connections: Arc::new(tokio::sync::Semaphore::new(crate::lan::MAX_CONNECTIONS)),
        };
        let mut tasks: Vec<JoinHandle<()>> =
            agents.into_iter().map(|a| tokio::spawn(a.run())).collect();
        tasks.push(tokio::spawn(lan.serve(listener, shutdown_rx)));
        tracing::info!(%addr, phones = phones.len(), server = %config.server_url, "relay started");
        Ok(Self {
            addr,
            config,
            phones,
            statuses,
            shutdown,
            tasks,
        })
    }

    /// Where the LAN listener is bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Each phone's status.
    pub fn status(&self) -> Vec<PhoneStatus> {
        self.statuses.iter().map(SharedStatus::snapshot).collect()
    }

    /// The Action URL configuration to paste into each phone.
    pub fn snippets(&self) -> Vec<(String, String)> {
        self.phones
            .iter()
            .map(|(phone, id)| (phone.name.clone(), phone_snippet(&self.config, phone, *id)))
            .collect()
    }

    /// Stops every agent (their state is already on disk) and the listener.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// What to paste into `phone`'s web UI or provisioning file.
pub fn phone_snippet(config: &RelayConfig, phone: &PhoneConfig, id: PhoneId) -> String {
    let base = config.advertise_url.as_str().trim_end_matches('/');
    snippet(
        phone.vendor,
        &format!("{base}/phones/{id}/events"),
        Mode::Relay {
            relay_ip: config.advertise_ip,
        },
    )
}

/// A hash that tells whether a secret changed, without keeping it.
fn fingerprint(parts: &[&str]) -> String {
    let mut hash = Sha256::new();
    for part in parts {
        hash.update(part.as_bytes());
        hash.update([0]);
    }
    hex::encode(hash.finalize())
}

/// The phone's deskbind client: from its stored credential, or by
/// redeeming its provisioning code (the credential is kept on disk). A code
/// is redeemed once; a different code in the file (the phone was
/// provisioned again after its credential was revoked) is redeemed at the
/// next start, keeping what is still unsent when it is the same phone.
async fn credential(
    config: &RelayConfig,
    phone: &PhoneConfig,
    file: &StateFile,
    state: &mut PhoneState,
) -> Result<(PhoneClient, PhoneId), String> {
    let server = config.server_url.as_str();
    let code = phone
        .provisioning_code
        .as_deref()
        .map(|code| (code, fingerprint(&[code])));
    let new_code = code
        .as_ref()
        .filter(|(_, hash)| state.redeemed_code.as_ref() != Some(hash));
    let client = match (&state.credential, new_code) {
        (_, Some((code, hash))) => {
            let (client, provisioned) = PhoneClient::provision(server, code)
                .await
                .map_err(|e| format!("cannot redeem the provisioning code: {e}"))?;
            if state.phone_id.is_some_and(|id| id != provisioned.phone_id) {
                tracing::warn!(phone = %phone.name, unsent_records = state.records.len(), "the code is for another deskbind phone: what was unsent for the old one is dropped");
                *state = PhoneState::new(phone.vendor);
            }
            state.credential = Some(Secret(provisioned.credential));
            state.phone_id = Some(provisioned.phone_id);
            state.redeemed_code = Some(hash.clone());
            file.save(state).await.map_err(|e| e.to_string())?;
            tracing::info!(phone = %phone.name, phone_id = %provisioned.phone_id, "provisioned");
            client
        }
        (Some(credential), None) => {
            PhoneClient::new(server, &credential.0).map_err(|e| e.to_string())?
        }
        (None, None) => {
            return Err(
                "no credential yet: set provisioning_code to a code an admin made for this phone"
                    .into(),
            );
        }
    };
    let id = match state.phone_id {
        Some(id) => id,
        None => {
            let me = client
                .me()
                .await
                .map_err(|e| format!("cannot ask the server which phone this is: {e}"))?;
            state.phone_id = Some(me.id);
            file.save(state).await.map_err(|e| e.to_string())?;
            me.id
        }
    };
    Ok((client, id))
}
