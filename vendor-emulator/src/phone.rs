//! One emulated desk phone: an HTTP server taking its vendor's commands
//! with its login and quirks, and a handset that calls back the Action
//! URLs it was configured with.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use bytes::Bytes;
use deskbind_core::vendor::Vendor;
use http_body_util::Full;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::config;
use crate::firmware::{self, CallInfo, Command, PhoneEvent};

/// Failed logins in a row after which the phone locks its login out.
pub const LOCKOUT_AFTER: u32 = 5;

/// What the phone did with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Handled {
    /// Carried out.
    Done(Command),
    /// Understood as nothing (a quirk: Yealink's `key` not first).
    Ignored,
    /// The login was wrong.
    LoginRefused,
    /// Locked out after too many wrong logins.
    LockedOut,
    /// Not from an address the phone lets command it.
    NotAllowed,
    /// The first command pops "Allow remote control?" instead.
    Prompted,
}

/// One request the phone received, as it logged it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    pub path_and_query: String,
    pub handled: Handled,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Debug, Default)]
struct State {
    settings: HashMap<String, String>,
    received: Vec<Received>,
    failures: u32,
    prompted: bool,
    next_call_id: u32,
    dnd: bool,
}

/// An emulated phone of one vendor, listening on loopback.
#[derive(Debug, Clone)]
pub struct EmulatedPhone {
    pub vendor: Vendor,
    /// Its MAC address as the firmware writes it into `$mac`.
    pub mac: String,
    pub addr: SocketAddr,
    username: String,
    password: String,
    state: Arc<Mutex<State>>,
    /// How many requests arrived, for [`EmulatedPhone::wait_for_requests`].
    arrived: Arc<tokio::sync::watch::Sender<usize>>,
    http: reqwest::Client,
}

impl EmulatedPhone {
    /// Starts a phone whose admin login is `username` / `password`.
    pub async fn start(
        vendor: Vendor,
        mac: &str,
        username: &str,
        password: &str,
    ) -> std::io::Result<Self> {
        Self::start_at(
            "127.0.0.1:0".parse().map_err(std::io::Error::other)?,
            vendor,
            mac,
            username,
            password,
        )
        .await
    }

    /// The same, listening on `addr`.
    pub async fn start_at(
        addr: SocketAddr,
        vendor: Vendor,
        mac: &str,
        username: &str,
        password: &str,
    ) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let phone = Self {
            vendor,
            mac: mac.to_owned(),
            addr: listener.local_addr()?,
            username: username.to_owned(),
            password: password.to_owned(),
            state: Arc::default(),
            arrived: Arc::new(tokio::sync::watch::channel(0).0),
            http: reqwest::Client::new(),
        };
        let serving = phone.clone();
        tokio::spawn(async move {
            while let Ok((stream, peer)) = listener.accept().await {
                let phone = serving.clone();
                let service = service_fn(move |req| {
                    let phone = phone.clone();
                    async move { Ok::<_, Infallible>(phone.handle(&req, peer)) }
                });
                tokio::spawn(async move {
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(phone)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a configuration as the admin pastes it into the phone.
    pub fn configure(&self, snippet: &str) {
        self.state()
            .settings
            .extend(config::parse(self.vendor, snippet));
    }

    /// A setting as the phone stores it.
    pub fn setting(&self, name: &str) -> Option<String> {
        self.state().settings.get(name).cloned()
    }

    /// Every request the phone received, in order.
    pub fn received(&self) -> Vec<Received> {
        self.state().received.clone()
    }

    /// Waits until the phone has received `count` requests (however long
    /// that takes: callers bound it), then returns them all.
    pub async fn wait_for_requests(&self, count: usize) -> Vec<Received> {
        let mut arrived = self.arrived.subscribe();
        let _ = arrived.wait_for(|n| *n >= count).await;
        self.received()
    }

    /// Whether do-not-disturb is on.
    pub fn dnd(&self) -> bool {
        self.state().dnd
    }

    /// A new call as the handset numbers them.
    pub fn new_call(&self, remote: &str) -> CallInfo {
        let mut state = self.state();
        state.next_call_id += 1;
        CallInfo {
            call_id: state.next_call_id,
            remote: remote.to_owned(),
        }
    }

    /// The handset reports `event` of `call` through its configured Action
    /// URLs, in the firmware's order; returns the URLs called.
    pub async fn report(&self, event: PhoneEvent, call: &CallInfo) -> Vec<String> {
        let templates: Vec<String> = {
            let state = self.state();
            firmware::settings_for(self.vendor, event)
                .iter()
                .filter_map(|s| state.settings.get(*s).cloned())
                .filter(|url| !url.is_empty())
                .collect()
        };
        let mut called = Vec::new();
        for template in templates {
            let url = firmware::fill(self.vendor, &template, call, &self.mac);
            // Phones ignore the answer and never retry.
            let _ = self.http.get(&url).send().await;
            called.push(url);
        }
        called
    }

    fn handle(
        &self,
        req: &Request<hyper::body::Incoming>,
        peer: SocketAddr,
    ) -> Response<Full<Bytes>> {
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or("").to_owned();
        let handled = self.decide(req, &path, &query, peer);
        let status = match &handled {
            Handled::Done(_) | Handled::Ignored | Handled::Prompted => StatusCode::OK,
            Handled::LoginRefused => StatusCode::UNAUTHORIZED,
            Handled::LockedOut | Handled::NotAllowed => StatusCode::FORBIDDEN,
        };
        let body = match (self.vendor, &handled) {
            (Vendor::Grandstream, Handled::LoginRefused) => {
                r#"{"response":"error","body":"unauthorized"}"#
            }
            (Vendor::Grandstream, _) => r#"{"response":"success","body":true}"#,
            _ => "",
        };
        // Grandstream answers a wrong passcode with 200 and an error body.
        let status = if self.vendor == Vendor::Grandstream && handled == Handled::LoginRefused {
            StatusCode::OK
        } else {
            status
        };
        let arrived = {
            let mut state = self.state();
            state.received.push(Received {
                path_and_query: if query.is_empty() {
                    path
                } else {
                    format!("{path}?{query}")
                },
                handled,
                at: std::time::Instant::now(),
            });
            state.received.len()
        };
        self.arrived.send_replace(arrived);
        let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
        *response.status_mut() = status;
        response
    }

    fn decide(
        &self,
        req: &Request<hyper::body::Incoming>,
        path: &str,
        query: &str,
        peer: SocketAddr,
    ) -> Handled {
        let mut state = self.state();
        if state.failures >= LOCKOUT_AFTER {
            return Handled::LockedOut;
        }
        let allowed = match self.vendor {
            Vendor::Yealink => state.settings.get("features.action_uri_limit_ip").cloned(),
            Vendor::Grandstream => state.settings.get("Action URI Allowed IP List").cloned(),
            Vendor::Fanvil => state.settings.get("Active Uri IP").cloned(),
            Vendor::Snom => Some("any".to_owned()),
        };
        let peer_ip = peer.ip().to_string();
        // Yealink refuses everyone while the list is blank.
        match allowed.as_deref() {
            Some("any") => {}
            Some(list) if list.split(',').any(|ip| ip.trim() == peer_ip) => {}
            _ => return Handled::NotAllowed,
        }
        let login_ok = match self.vendor {
            Vendor::Grandstream => {
                firmware::passcode(query).as_deref() == Some(self.password.as_str())
            }
            _ => basic_login(req) == Some((self.username.clone(), self.password.clone())),
        };
        if !login_ok {
            state.failures += 1;
            return Handled::LoginRefused;
        }
        state.failures = 0;
        let command = match firmware::parse_command(self.vendor, path, query) {
            Ok(Some(command)) => command,
            Ok(None) | Err(_) => return Handled::Ignored,
        };
        let prompts = match self.vendor {
            Vendor::Yealink => {
                state
                    .settings
                    .get("features.show_action_uri_option")
                    .map(String::as_str)
                    != Some("0")
            }
            Vendor::Grandstream => {
                state
                    .settings
                    .get("Remote Control Pop up Window Support")
                    .map(String::as_str)
                    != Some("Disabled")
            }
            Vendor::Snom | Vendor::Fanvil => false,
        };
        if prompts && !state.prompted {
            state.prompted = true;
            return Handled::Prompted;
        }
        if let Command::Dnd(on) = command {
            state.dnd = on;
        }
        Handled::Done(command)
    }
}

fn basic_login(req: &Request<hyper::body::Incoming>) -> Option<(String, String)> {
    let value = req
        .headers()
        .get(hyper::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
