//! `deskbind-relay run|check|snippets --config relay.toml`.

use std::path::PathBuf;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use deskbind_relay::{Relay, RelayConfig, RelayOptions, phone_snippet};

#[derive(Debug, Parser)]
#[command(
    name = "deskbind-relay",
    about = "Drives the office's desk phones for deskbind"
)]
struct Cli {
    /// The relay's configuration file (readable by its owner only).
    #[arg(
        long,
        short,
        env = "DESKBIND_RELAY_CONFIG",
        default_value = "relay.toml"
    )]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Action>,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// Runs the relay (the default).
    Run,
    /// Checks the configuration and exits.
    Check,
    /// Prints what to paste into each phone (after the first run, which
    /// learns each phone's id).
    Snippets,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let config = RelayConfig::load(&cli.config)?;
    match cli.command.unwrap_or(Action::Run) {
        Action::Check => {
            eprintln!(
                "{}: {} phones, configuration OK",
                cli.config.display(),
                config.phones.len()
            );
            Ok(())
        }
        Action::Snippets => print_snippets(&config),
        Action::Run => {
            let relay = Relay::start(config, RelayOptions::default()).await?;
            for (name, text) in relay.snippets() {
                tracing::info!(phone = %name, "configuration for the phone:\n{text}");
            }
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            tracing::info!("stopping");
            relay.stop().await;
            Ok(())
        }
    }
}

fn print_snippets(config: &RelayConfig) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for phone in &config.phones {
        let file = deskbind_relay::store::StateFile::open(&config.state_dir, &phone.name)?;
        let state = file.load(phone.vendor)?;
        writeln!(out, "# {} ({})", phone.name, phone.vendor)?;
        match state.phone_id {
            Some(id) => writeln!(out, "{}", phone_snippet(config, phone, id))?,
            None => writeln!(out, "# not provisioned yet: run the relay once")?,
        }
    }
    Ok(())
}
