//! `deskbind-worker [--config FILE]`: runs the background loops against the
//! configured database until SIGINT or SIGTERM.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::Parser;
use deskbind_core::config::Settings;
use deskbind_core::db::{self, Database};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(
    name = "deskbind-worker",
    version,
    about = "deskbind background worker"
)]
struct Cli {
    /// TOML configuration file (keys as in deskbind.example.toml).
    #[arg(long, env = "DESKBIND_CONFIG")]
    config: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    deskbind_core::telemetry::init(&settings.log, &settings.log_format);
    let url = settings.database_url()?;
    let database = Database::connect(&url, settings.db_pool_size.min(4))
        .with_context(|| format!("connecting to {url:?}"))?;
    let pending = database
        .run(|conn| db::pending_migrations(conn).map_err(anyhow::Error::from))
        .await?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database lacks migrations {pending:?}; run `deskbind-api migrate` first"
        );
    }
    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    tokio::spawn(async move {
        shutdown_signal().await;
        stop.cancel();
    });
    // With REDIS_URL the worker's wakes reach every API node's streams.
    let relay = deskbind_core::relay::Relay::from_settings(&settings, cancel.clone())
        .await
        .context("connecting to Redis")?;
    let storage = deskbind_core::storage::Storage::from_settings(&settings)
        .await
        .context("opening recording storage")?;
    let sender = deskbind_core::push::PushSender::from_settings(&settings)
        .context("loading FCM credentials (GOOGLE_APPLICATION_CREDENTIALS)")?;
    tracing::info!(sender = sender.kind(), "push sender ready");
    deskbind_worker::run(
        database,
        relay,
        storage,
        sender,
        deskbind_worker::WorkerOptions::from_settings(&settings),
        cancel,
    )
    .await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
