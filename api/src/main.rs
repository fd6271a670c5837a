//! `deskbind-api [--config FILE] [serve | migrate | init-admin --org NAME --email EMAIL]`

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use deskbind_api::cli::{InitAdminOutcome, init_admin};
use deskbind_api::{Application, startup};
use deskbind_core::config::Settings;
use deskbind_core::telemetry;

#[derive(Parser, Debug)]
#[command(name = "deskbind-api", version, about = "deskbind API server")]
struct Cli {
    /// TOML configuration file (keys as in deskbind.example.toml).
    #[arg(long, env = "DESKBIND_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create an organisation's first admin. The password comes from
    /// DESKBIND_ADMIN_PASSWORD, or is generated and printed once.
    InitAdmin {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    telemetry::init(&settings.log, &settings.log_format);
    tracing::debug!(?settings, "configuration");
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            Application::build(settings)
                .await?
                .run_until_stopped()
                .await?
        }
        Command::Migrate => {
            let _ = startup::open_database(&one_connection(settings)).await?;
            eprintln!("migrations are up to date");
        }
        Command::InitAdmin { org, email } => {
            let db = startup::open_database(&one_connection(settings)).await?;
            let password = std::env::var("DESKBIND_ADMIN_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty());
            let outcome =
                tokio::task::spawn_blocking(move || init_admin(&db, &org, &email, password))
                    .await??;
            report(outcome);
        }
    }
    Ok(())
}

/// One-shot commands use one database connection. A pool of several
/// keeps opening the rest on background threads; when the command was done
/// first, the process exited under a thread still inside libpq's connect
/// and crashed (SIGSEGV, about one `init-admin` in twenty on PostgreSQL
/// with a pool of 16), after its work had been committed.
fn one_connection(settings: Settings) -> Settings {
    Settings {
        db_pool_size: 1,
        ..settings
    }
}

#[allow(clippy::print_stdout)]
fn report(outcome: InitAdminOutcome) {
    match outcome {
        InitAdminOutcome::Created {
            user_id,
            generated_password: Some(password),
        } => {
            println!("admin created: {user_id}");
            println!("generated password (shown once, store it now): {password}");
        }
        InitAdminOutcome::Created {
            user_id,
            generated_password: None,
        } => println!("admin created: {user_id}"),
        InitAdminOutcome::AlreadyExists => {
            println!("a user with this email already exists; nothing was changed")
        }
    }
}
