//! `deskbind-phone-sim`: a desk phone without hardware. It provisions with
//! a code (or reuses a saved credential), holds the phone's live link, and
//! "dials" each command it receives: acks it, reports dialing, ringing and
//! the configured outcome after the configured delays, and hangs up when
//! the app cancels. See README ("See a dial end to end").

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, ValueEnum};
use deskbind_mobile::ids::DialId;
use deskbind_mobile::wire::{CallState, DialFailure};
use deskbind_mobile::{
    LinkOptions, LinkState, PhoneClient, PhoneCommand, PhoneLink, PhoneReporter,
};
use tokio::task::JoinHandle;

#[derive(Parser, Debug)]
#[command(
    name = "deskbind-phone-sim",
    version,
    about = "Simulated deskbind desk phone"
)]
struct Cli {
    /// The deskbind server.
    #[arg(long, env = "DESKBIND_SERVER", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// A provisioning code from `POST /v1/phones/{id}/provisioning-code`.
    #[arg(long, conflicts_with = "credential_file")]
    code: Option<String>,
    /// A file holding the phone's credential (written by --save-credential).
    #[arg(long)]
    credential_file: Option<PathBuf>,
    /// Where to store the credential after provisioning.
    #[arg(long)]
    save_credential: Option<PathBuf>,
    /// How every call ends.
    #[arg(long, value_enum, default_value = "answered")]
    outcome: Outcome,
    /// Time from dialing to ringing.
    #[arg(long, default_value_t = 300)]
    dial_ms: u64,
    /// Time spent ringing before the outcome.
    #[arg(long, default_value_t = 1500)]
    ring_ms: u64,
    /// Length of an answered call.
    #[arg(long, default_value_t = 5000)]
    talk_ms: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Outcome {
    Answered,
    Busy,
    NoAnswer,
    Rejected,
    InvalidNumber,
    Error,
}

impl Outcome {
    fn failure(self) -> Option<DialFailure> {
        match self {
            Self::Answered => None,
            Self::Busy => Some(DialFailure::Busy),
            Self::NoAnswer => Some(DialFailure::NoAnswer),
            Self::Rejected => Some(DialFailure::Rejected),
            Self::InvalidNumber => Some(DialFailure::InvalidNumber),
            Self::Error => Some(DialFailure::Error),
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("DESKBIND_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let cli = Cli::parse();
    let client = phone_client(&cli).await?;
    let me = client
        .me()
        .await
        .context("the server refused the credential")?;
    tracing::info!(phone = %me.id, number = %me.number, "phone ready");
    let mut link = client.connect(LinkOptions::default())?;
    run(&cli, &mut link).await
}

async fn phone_client(cli: &Cli) -> anyhow::Result<PhoneClient> {
    if let Some(code) = &cli.code {
        let (client, provisioned) = PhoneClient::provision(&cli.server, code)
            .await
            .context("provisioning failed")?;
        tracing::info!(phone = %provisioned.phone_id, "provisioned");
        if let Some(path) = &cli.save_credential {
            std::fs::write(path, client.credential())
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        return Ok(client);
    }
    let path = cli
        .credential_file
        .as_ref()
        .context("give --code (to provision) or --credential-file")?;
    let credential =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Ok(PhoneClient::new(&cli.server, credential.trim())?)
}

async fn run(cli: &Cli, link: &mut PhoneLink) -> anyhow::Result<()> {
    let mut calls: HashMap<DialId, JoinHandle<()>> = HashMap::new();
    let script = Script {
        outcome: cli.outcome,
        dial: Duration::from_millis(cli.dial_ms),
        ring: Duration::from_millis(cli.ring_ms),
        talk: Duration::from_millis(cli.talk_ms),
    };
    loop {
        let command = tokio::select! {
            command = link.next() => command,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(command) = command else { break };
        calls.retain(|_, call| !call.is_finished());
        match command {
            PhoneCommand::Dial {
                command_id,
                number,
                expires_at,
                received_at,
                ..
            } => {
                if received_at >= expires_at {
                    tracing::warn!(%command_id, "dial arrived after its expiry; not dialing");
                    continue;
                }
                link.ack(command_id);
                tracing::info!(%command_id, %number, "dialing");
                let call = simulate(script, link.reporter(), command_id);
                calls.insert(command_id, tokio::spawn(call));
            }
            PhoneCommand::Hangup { command_id, reason } => {
                if let Some(call) = calls.remove(&command_id) {
                    call.abort();
                }
                tracing::info!(%command_id, ?reason, "hung up");
            }
            PhoneCommand::Binding { user } => match user {
                Some(user) => tracing::info!(holder = %user.display_name, "bound"),
                None => tracing::info!("no one holds this phone"),
            },
            PhoneCommand::Refused { code, detail, .. } => {
                tracing::warn!(%code, %detail, "the server refused a frame");
            }
        }
        if link.state() == LinkState::Unauthorized {
            anyhow::bail!("the credential was revoked");
        }
    }
    Ok(())
}

/// How each simulated call goes.
#[derive(Debug, Clone, Copy)]
struct Script {
    outcome: Outcome,
    dial: Duration,
    ring: Duration,
    talk: Duration,
}

async fn simulate(script: Script, link: PhoneReporter, command_id: DialId) {
    let call_id = format!("sim-{command_id}");
    let Script {
        outcome,
        dial,
        ring,
        talk,
    } = script;
    link.report(&call_id, Some(command_id), CallState::Dialing, None);
    tokio::time::sleep(dial).await;
    link.report(&call_id, Some(command_id), CallState::Ringing, None);
    tokio::time::sleep(ring).await;
    match outcome.failure() {
        Some(failure) => {
            link.report(&call_id, Some(command_id), CallState::Failed, Some(failure));
            tracing::info!(%command_id, ?failure, "call failed");
        }
        None => {
            link.report(&call_id, Some(command_id), CallState::Answered, None);
            tokio::time::sleep(talk).await;
            link.report(&call_id, Some(command_id), CallState::Ended, None);
            tracing::info!(%command_id, "call ended");
        }
    }
}
