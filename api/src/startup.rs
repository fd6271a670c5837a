//! Startup as a library: `Application::build` connects the database, applies
//! migrations, loads or creates the token keys, binds the listener (port 0
//! works, for tests) and starts the embedded worker when configured.
//! `main.rs` only parses arguments and calls this.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::{Compress, from_fn};
use actix_web::{App, HttpServer, web};
use anyhow::Context as _;
use deskbind_core::auth::jwt::KeyRing;
use deskbind_core::config::Settings;
use deskbind_core::db::{self, Database};
use deskbind_core::relay::Relay;
use deskbind_core::storage::Storage;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing_actix_web::TracingLogger;

use crate::rate_limit::RateLimits;
use crate::state::AppState;

pub struct Application {
    server: Server,
    state: web::Data<AppState>,
    port: u16,
    /// The separate `/metrics` listener (`metrics_listen`), when configured.
    metrics: Option<(Server, u16)>,
    background: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for Application {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Application")
            .field("port", &self.port)
            .finish()
    }
}

/// Opens the configured database and applies pending migrations.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let url = settings.database_url()?;
    let database = Database::connect(&url, settings.db_pool_size)
        .with_context(|| format!("cannot open the database {url:?}"))?;
    let applied = database
        .run(|conn| db::run_pending(conn).map_err(anyhow::Error::from))
        .await?;
    if !applied.is_empty() {
        tracing::info!(?applied, database = ?url, "migrations applied");
    }
    Ok(database)
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with_clock(settings, deskbind_core::time::Clock::system()).await
    }

    /// [`Application::build`] with the clock dial authorisation reads (tests
    /// pass a settable one; decision 0029).
    pub async fn build_with_clock(
        settings: Settings,
        clock: deskbind_core::time::Clock,
    ) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&settings.data_dir).with_context(|| {
            format!(
                "cannot create the data directory {}",
                settings.data_dir.display()
            )
        })?;
        if settings.s3_bucket.is_none() {
            // Recordings stay on local disk until an S3 bucket is configured.
            let recordings = settings.recordings_dir();
            std::fs::create_dir_all(&recordings).with_context(|| {
                format!(
                    "cannot create the recordings directory {}",
                    recordings.display()
                )
            })?;
        }
        let database = open_database(&settings).await?;
        let keys_dir = settings.token_keys_dir();
        let keys = KeyRing::load_or_create(&keys_dir)?;
        tracing::info!(kid = keys.active_kid(), dir = %keys_dir.display(), "token signing keys loaded");

        let addr = settings.listen_addr()?;
        let listener = TcpListener::bind(addr)
            .with_context(|| format!("cannot listen on {addr}; is another process using it?"))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match settings.metrics_addr()? {
            Some(addr) => Some(TcpListener::bind(addr).with_context(|| {
                format!("cannot listen on {addr} (metrics_listen); is another process using it?")
            })?),
            None => None,
        };
        crate::metrics::handle();

        let background = CancellationToken::new();
        let relay = Relay::from_settings(&settings, background.child_token())
            .await
            .context("cannot connect to Redis (REDIS_URL)")?;
        tracing::info!(
            node = relay.node(),
            redis = relay.is_distributed(),
            "relay ready"
        );
        let storage = Storage::from_settings(&settings)
            .await
            .context("cannot open recording storage (s3_bucket / data_dir)")?;
        tracing::info!(kind = storage.kind(), "recording storage ready");
        let mut tasks = Vec::new();
        if settings.embedded_worker {
            let sender = deskbind_core::push::PushSender::from_settings(&settings)
                .context("cannot load FCM credentials (GOOGLE_APPLICATION_CREDENTIALS)")?;
            tracing::info!(sender = sender.kind(), "push sender ready");
            tasks.push(tokio::spawn(deskbind_worker::run(
                database.clone(),
                relay.clone(),
                storage.clone(),
                sender,
                deskbind_worker::WorkerOptions::from_settings(&settings),
                background.child_token(),
            )));
        }

        let shutdown_timeout = settings.shutdown_timeout_secs;
        let state = web::Data::new(AppState {
            storage,
            limits: RateLimits::new(&settings),
            passwords: Default::default(),
            db: database,
            keys,
            drain: crate::drain::Drain::new(Duration::from_millis(settings.phone_drain_ms)),
            settings,
            relay,
            clock,
        });
        tasks.push(tokio::spawn(prune_rate_limits(
            state.clone(),
            background.child_token(),
        )));
        tasks.push(tokio::spawn(crate::phone_channel::redelivery::run(
            state.clone(),
            background.child_token(),
        )));
        tasks.push(tokio::spawn(crate::presence_gauges::run(
            state.clone(),
            background.child_token(),
        )));

        let console_policy = web::Data::new(crate::console::headers::ConsolePolicy::for_settings(
            &state.settings,
        ));
        let app_state = state.clone();
        let make_app = move || {
            App::new()
                .app_data(state.clone())
                .app_data(console_policy.clone())
                .wrap(Compress::default())
                .wrap(from_fn(crate::console::headers::add_security_headers))
                .wrap(from_fn(crate::metrics::observe))
                // Inside TracingLogger, which gives the request its id.
                .wrap(from_fn(crate::request_scope::carry_request_id))
                .wrap(TracingLogger::<crate::log_span::RootSpan>::new())
                .configure(crate::routes::configure)
                .default_service(web::to(crate::console::not_found))
        };
        // SIGTERM first drains the phones (`run_until_stopped`), so the
        // server leaves signals alone.
        let server = crate::http_server::serve(listener, shutdown_timeout, make_app)?;
        tracing::info!(%addr, port, "deskbind-api listening");
        let metrics = metrics_listener.map(metrics_server).transpose()?;
        Ok(Self {
            server,
            state: app_state,
            port,
            metrics,
            background,
            tasks,
        })
    }

    /// What this node's use cases run with (its database, relay and
    /// clock): tests drive the worker's steps through the node's own relay.
    pub fn services(&self) -> deskbind_core::usecases::Services {
        self.state.services()
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate `/metrics` listener, when configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(_, port)| *port)
    }

    /// Stops the server gracefully when called (tests use it); the metrics
    /// listener stops with it.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// A handle on the running node: its phones, and its drain (as SIGTERM
    /// starts it; tests without a process use it).
    pub fn control(&self) -> NodeControl {
        NodeControl(self.state.clone())
    }

    /// Serves until stopped: SIGTERM drains the phones first (at most
    /// `phone_drain_ms` plus a margin), SIGINT (or a second SIGTERM) stops
    /// at once; either way in-flight requests then finish within the
    /// shutdown timeout. Then the background loops stop.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|(server, _)| {
            let handle = server.handle();
            (handle, tokio::spawn(server))
        });
        let handle = self.server.handle();
        let signals = tokio::spawn(on_signals(self.state.clone(), handle.clone()));
        let mut server = self.server;
        let result = tokio::select! {
            result = &mut server => result,
            () = self.state.drain.started() => {
                let left = self.state.drain.wait_for_sockets().await;
                tracing::info!(phones_left = left, "drained; stopping");
                // The command is sent now; awaiting it here would wait on
                // the server future, which only `server.await` drives.
                drop(handle.stop(true));
                server.await
            }
        };
        signals.abort();
        if let Some((handle, task)) = metrics {
            handle.stop(true).await;
            let _ = task.await;
        }
        tracing::info!("HTTP server stopped; stopping background loops");
        self.background.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
        tracing::info!("deskbind-api stopped");
        result
    }
}

/// See [`Application::control`].
#[derive(Debug, Clone)]
pub struct NodeControl(web::Data<AppState>);

impl NodeControl {
    pub fn start_drain(&self) {
        self.0.drain.start();
    }

    /// Phones (sockets and waiting polls) attached to this node.
    pub fn phones(&self) -> usize {
        self.0.relay.local_phones()
    }
}

/// SIGTERM starts the drain (a second one stops at once); SIGINT stops at
/// once, gracefully for in-flight requests.
async fn on_signals(state: web::Data<AppState>, server: ServerHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        tracing::error!("cannot listen for SIGTERM/SIGINT");
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => {
                if state.drain.is_draining() {
                    tracing::info!("SIGTERM again: stopping without waiting for phones");
                    break;
                }
                tracing::info!("SIGTERM: draining");
                state.drain.start();
            }
            _ = int.recv() => {
                tracing::info!("SIGINT: stopping");
                break;
            }
        }
    }
    // Phone sockets are not actix connections (they left its dispatcher at
    // the handshake): close them first, or stopping would cut them off.
    let left = state.drain.close_sockets().await;
    tracing::info!(phones_left = left, "phone sockets closed; stopping");
    server.stop(true).await;
}

/// `/metrics` alone, on its own listener (`metrics_listen`): Prometheus
/// scrapes a private address while the public one never shows it.
fn metrics_server(listener: TcpListener) -> anyhow::Result<(Server, u16)> {
    let addr = listener.local_addr()?;
    let server = HttpServer::new(|| {
        App::new()
            .route("/metrics", web::get().to(crate::routes::metrics_exposition))
            .default_service(web::to(crate::routes::not_found))
    })
    .workers(1)
    .listen(listener)?
    .disable_signals()
    .run();
    tracing::info!(%addr, "/metrics listening");
    Ok((server, addr.port()))
}

async fn prune_rate_limits(state: web::Data<AppState>, cancel: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = cancel.cancelled() => break,
            _ = tick.tick() => state.limits.prune(),
        }
    }
}
