//! Configuration: defaults, then an optional TOML file, then the environment.
//! A file key is the environment name lower-cased without `DESKBIND_`
//! (`DESKBIND_LISTEN` → `listen`, `DATABASE_URL` → `database_url`).
//! Secrets are `SecretString`, whose `Debug` prints `[REDACTED]`, so the
//! whole `Settings` can be logged. `validate` checks everything at once and
//! says what to fix. docs/configuration.md lists every key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format as _, Serialized, Toml};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};

use crate::db::DatabaseUrl;

/// Environment names that keep their conventional spelling instead of
/// `DESKBIND_<KEY>`.
const STANDARD_ENV_NAMES: &[&str] = &[
    "database_url",
    "redis_url",
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_region",
    "google_application_credentials",
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port the API listens on.
    pub listen: String,
    /// When set, `/metrics` is served only on this address:port, not on `listen`.
    pub metrics_listen: Option<String>,
    /// The URL phones and browsers reach this API at (`https://host`), for
    /// URLs deskbind hands out (vendor phones' Action URLs); unset: taken
    /// from each request.
    pub public_url: Option<String>,
    /// Directory for the SQLite file, recordings and generated keys.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://...`; default: the SQLite file in `data_dir`.
    #[serde(serialize_with = "ser_secret_opt")]
    pub database_url: Option<SecretString>,
    pub db_pool_size: u32,
    #[serde(serialize_with = "ser_secret_opt")]
    pub redis_url: Option<SecretString>,
    pub s3_bucket: Option<String>,
    pub s3_endpoint: Option<String>,
    pub aws_access_key_id: Option<String>,
    #[serde(serialize_with = "ser_secret_opt")]
    pub aws_secret_access_key: Option<SecretString>,
    pub aws_region: Option<String>,
    pub google_application_credentials: Option<PathBuf>,
    pub fcm_endpoint: String,
    /// tracing filter, e.g. `info` or `deskbind_api=debug,info`.
    pub log: String,
    /// `text` or `json`.
    pub log_format: String,
    /// Directory of access-token signing keys; default `data_dir/keys`.
    pub token_keys_dir: Option<PathBuf>,
    pub access_token_ttl_secs: u64,
    pub refresh_token_ttl_secs: u64,
    pub provisioning_code_ttl_secs: u64,
    /// A console (browser) session ends after this long without a request.
    pub console_idle_timeout_secs: u64,
    /// ... and this long after sign-in, however busy.
    pub console_session_max_secs: u64,
    pub login_rate_per_minute: u32,
    pub refresh_rate_per_minute: u32,
    pub provision_rate_per_minute: u32,
    /// Lifetime of an NFC binding token and its code (at most 120 s).
    pub binding_token_ttl_secs: u64,
    /// Token and code redemptions per user; per phone 3x; code attempts per organisation 6x.
    pub binding_redeem_rate_per_minute: u32,
    /// Binding requests and token requests per phone.
    pub phone_binding_rate_per_minute: u32,
    /// How long a dial command may wait for its phone before it expires.
    pub dial_ttl_secs: u64,
    /// Dial requests per user.
    pub dial_rate_per_minute: u32,
    /// How often the server pings a connected phone.
    pub phone_heartbeat_secs: u64,
    /// A phone silent this long is disconnected (more than the heartbeat).
    pub phone_idle_timeout_secs: u64,
    /// The largest frame a phone may send; a larger one closes the socket.
    pub phone_max_frame_bytes: usize,
    /// Frames (socket) or events (long poll) one phone may send per minute.
    pub phone_event_rate_per_minute: u32,
    /// How long a phone connection is announced in Redis without a heartbeat.
    pub presence_ttl_secs: u64,
    pub max_json_bytes: usize,
    /// The largest recording accepted, streamed or presigned.
    pub recording_max_bytes: u64,
    /// How long a presigned recording upload URL stays valid.
    pub recording_upload_url_ttl_secs: u64,
    /// How long a presigned recording download URL stays valid.
    pub recording_download_url_ttl_secs: u64,
    /// How long a worker holds a claimed push job; another worker takes it
    /// over after this if the holder died. Longer than a send can take (30 s).
    pub push_lease_secs: u64,
    /// Push sends one worker keeps in flight.
    pub push_concurrency: usize,
    /// On-request pushes (`POST /v1/push/request`) per user per minute.
    pub push_request_rate_per_minute: u32,
    /// Requests per API key per minute (docs/integrations.md).
    pub api_key_rate_per_minute: u32,
    /// Networks webhooks may reach besides public addresses (CIDR, comma
    /// separated; docs/integrations.md, "Webhooks"). Empty: none.
    pub webhook_allowed_networks: String,
    /// How long a webhook delivery may take before it counts as failed.
    pub webhook_timeout_secs: u64,
    /// Days call records are kept where an organisation chose none
    /// (docs/retention.md); 0 keeps them forever.
    pub retention_call_record_days: u64,
    /// Days recordings are kept where an organisation chose none; 0 keeps
    /// them forever (a recording never outlives its call record).
    pub retention_recording_days: u64,
    /// Write call records to the archive (gzip NDJSON per organisation and
    /// month, in the recordings store) before the purge deletes them.
    pub retention_archive: bool,
    /// Days an export's file stays downloadable (docs/exports.md), 1-90.
    pub export_days: u64,
    /// Run the worker's loops inside the API process (the embedded default).
    pub embedded_worker: bool,
    pub shutdown_timeout_secs: u64,
    /// On SIGTERM, phones are told to reconnect at jittered times spread
    /// over this window (docs/operations.md, "Draining a node").
    pub phone_drain_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".into(),
            metrics_listen: None,
            public_url: None,
            data_dir: PathBuf::from("./deskbind-data"),
            database_url: None,
            db_pool_size: 8,
            redis_url: None,
            s3_bucket: None,
            s3_endpoint: None,
            aws_access_key_id: None,
            aws_secret_access_key: None,
            aws_region: None,
            google_application_credentials: None,
            fcm_endpoint: "https://fcm.googleapis.com".into(),
            log: "info".into(),
            log_format: "text".into(),
            token_keys_dir: None,
            access_token_ttl_secs: 900,
            refresh_token_ttl_secs: 30 * 24 * 3600,
            provisioning_code_ttl_secs: 900,
            console_idle_timeout_secs: 30 * 60,
            console_session_max_secs: 12 * 3600,
            login_rate_per_minute: 10,
            refresh_rate_per_minute: 60,
            provision_rate_per_minute: 20,
            binding_token_ttl_secs: 60,
            binding_redeem_rate_per_minute: 10,
            phone_binding_rate_per_minute: 30,
            dial_ttl_secs: 60,
            dial_rate_per_minute: 60,
            phone_heartbeat_secs: 15,
            phone_idle_timeout_secs: 45,
            phone_max_frame_bytes: 16 * 1024,
            phone_event_rate_per_minute: 120,
            presence_ttl_secs: 60,
            max_json_bytes: 64 * 1024,
            recording_max_bytes: 512 * 1024 * 1024,
            recording_upload_url_ttl_secs: 900,
            recording_download_url_ttl_secs: 300,
            push_lease_secs: 90,
            push_concurrency: 64,
            push_request_rate_per_minute: 2,
            api_key_rate_per_minute: 600,
            webhook_allowed_networks: String::new(),
            webhook_timeout_secs: 15,
            retention_call_record_days: 0,
            retention_recording_days: 0,
            retention_archive: true,
            export_days: 7,
            embedded_worker: true,
            shutdown_timeout_secs: 30,
            phone_drain_ms: 20_000,
        }
    }
}

fn ser_secret_opt<S: serde::Serializer>(
    value: &Option<SecretString>,
    s: S,
) -> Result<S::Ok, S::Error> {
    // Serialising (for the defaults layer) must never reveal a secret either.
    match value {
        Some(_) => s.serialize_some("[REDACTED]"),
        None => s.serialize_none(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "configuration file {0} does not exist; fix the path given by --config or DESKBIND_CONFIG"
    )]
    MissingFile(PathBuf),
    #[error("configuration could not be read: {0}")]
    Load(Box<figment::Error>),
    #[error("configuration is invalid:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Invalid(Vec<String>),
}

/// The environment name of a settings key.
pub fn env_name(key: &str) -> String {
    if STANDARD_ENV_NAMES.contains(&key) {
        key.to_uppercase()
    } else {
        format!("DESKBIND_{}", key.to_uppercase())
    }
}

impl Settings {
    /// Defaults → `file` (when given) → environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        // The serialised defaults hold no secrets (all None), so nothing redacted leaks in.
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        figment = figment.merge(Self::env_provider());
        let settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError::Load(Box::new(e)))?;
        settings.validate()?;
        Ok(settings)
    }

    fn env_provider() -> Env {
        let keys: Vec<String> = Self::keys();
        Env::raw().filter_map(move |name| {
            let lower = name.as_str().to_lowercase();
            let key = lower
                .strip_prefix("deskbind_")
                .map(str::to_owned)
                .unwrap_or(lower);
            (keys.contains(&key) && env_name(&key).eq_ignore_ascii_case(name.as_str()))
                .then(|| key.into())
        })
    }

    /// Every settings key, in declaration order.
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// The operator's retention defaults (`None`: forever).
    pub fn retention_defaults(&self) -> crate::wire::RetentionDays {
        let days = |d: u64| (d > 0).then(|| i64::try_from(d).unwrap_or(i64::MAX));
        crate::wire::RetentionDays {
            call_record_days: days(self.retention_call_record_days),
            recording_days: days(self.retention_recording_days),
            export_days: days(self.export_days),
        }
    }

    /// What the purge applies to every organisation.
    pub fn purge_options(&self) -> crate::usecases::retention_purge::PurgeOptions {
        crate::usecases::retention_purge::PurgeOptions {
            defaults: self.retention_defaults(),
            archive: self.retention_archive,
        }
    }

    /// Checks every rule and reports every violation at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if let Err(why) =
            crate::domain::webhook_targets::TargetPolicy::parse(&self.webhook_allowed_networks)
        {
            problems.push(format!("DESKBIND_WEBHOOK_ALLOWED_NETWORKS: {why}"));
        }
        check_range(
            &mut problems,
            "webhook_timeout_secs",
            self.webhook_timeout_secs,
            1,
            120,
        );
        for (name, days) in [
            (
                "retention_call_record_days",
                self.retention_call_record_days,
            ),
            ("retention_recording_days", self.retention_recording_days),
        ] {
            check_range(&mut problems, name, days, 0, 36_500);
        }
        let max_export_days = crate::wire::MAX_EXPORT_DAYS.unsigned_abs();
        check_range(
            &mut problems,
            "export_days",
            self.export_days,
            1,
            max_export_days,
        );
        if self.listen.parse::<SocketAddr>().is_err() {
            problems.push(format!(
                "DESKBIND_LISTEN={:?} is not an address:port such as 127.0.0.1:8080 or 0.0.0.0:8080",
                self.listen
            ));
        }
        if let Some(metrics) = &self.metrics_listen {
            match metrics.parse::<SocketAddr>() {
                Err(_) => problems.push(format!(
                    "DESKBIND_METRICS_LISTEN={metrics:?} is not an address:port such as 127.0.0.1:9090"
                )),
                Ok(addr) if addr.port() != 0 && Some(addr) == self.listen.parse().ok() => {
                    problems.push(
                        "DESKBIND_METRICS_LISTEN must differ from DESKBIND_LISTEN; unset it to serve /metrics on the main listener".into(),
                    );
                }
                Ok(_) => {}
            }
        }
        if let Some(public) = &self.public_url {
            let parsed = url::Url::parse(public);
            let fits = parsed.as_ref().is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host().is_some()
                    && u.username().is_empty()
                    && u.password().is_none()
                    && u.path() == "/"
                    && u.query().is_none()
                    && u.fragment().is_none()
            });
            if !fits {
                problems.push(format!(
                    "DESKBIND_PUBLIC_URL={public:?} is not a base URL such as https://deskbind.example.com"
                ));
            }
        }
        if let Some(url) = &self.database_url
            && let Err(e) = DatabaseUrl::parse(url.expose_secret())
        {
            problems.push(e.to_string());
        }
        if let Some(url) = &self.redis_url {
            let url = url.expose_secret();
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                problems.push("REDIS_URL must start with redis:// or rediss://".into());
            }
        }
        if self.s3_endpoint.is_some() && self.s3_bucket.is_none() {
            problems.push(
                "DESKBIND_S3_ENDPOINT is set but DESKBIND_S3_BUCKET is not; set the bucket too"
                    .into(),
            );
        }
        if self.aws_access_key_id.is_some() != self.aws_secret_access_key.is_some() {
            problems
                .push("set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither".into());
        }
        if let Some(path) = &self.google_application_credentials
            && !path.is_file()
        {
            problems.push(format!(
                "GOOGLE_APPLICATION_CREDENTIALS={} is not a readable file",
                path.display()
            ));
        }
        if !(self.log_format == "text" || self.log_format == "json") {
            problems.push(format!(
                "DESKBIND_LOG_FORMAT={:?} must be text or json",
                self.log_format
            ));
        }
        check_range(
            &mut problems,
            "access_token_ttl_secs",
            self.access_token_ttl_secs,
            60,
            3600,
        );
        check_range(
            &mut problems,
            "refresh_token_ttl_secs",
            self.refresh_token_ttl_secs,
            3600,
            365 * 24 * 3600,
        );
        check_range(
            &mut problems,
            "console_idle_timeout_secs",
            self.console_idle_timeout_secs,
            60,
            24 * 3600,
        );
        check_range(
            &mut problems,
            "console_session_max_secs",
            self.console_session_max_secs,
            600,
            30 * 24 * 3600,
        );
        check_range(
            &mut problems,
            "provisioning_code_ttl_secs",
            self.provisioning_code_ttl_secs,
            60,
            24 * 3600,
        );
        check_range(
            &mut problems,
            "push_lease_secs",
            self.push_lease_secs,
            2,
            3600,
        );
        check_range(
            &mut problems,
            "push_concurrency",
            self.push_concurrency as u64,
            1,
            1024,
        );
        check_range(
            &mut problems,
            "push_request_rate_per_minute",
            u64::from(self.push_request_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "api_key_rate_per_minute",
            u64::from(self.api_key_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "db_pool_size",
            u64::from(self.db_pool_size),
            1,
            256,
        );
        check_range(
            &mut problems,
            "login_rate_per_minute",
            u64::from(self.login_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "refresh_rate_per_minute",
            u64::from(self.refresh_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "provision_rate_per_minute",
            u64::from(self.provision_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "binding_token_ttl_secs",
            self.binding_token_ttl_secs,
            10,
            120,
        );
        check_range(
            &mut problems,
            "binding_redeem_rate_per_minute",
            u64::from(self.binding_redeem_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "phone_binding_rate_per_minute",
            u64::from(self.phone_binding_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(&mut problems, "dial_ttl_secs", self.dial_ttl_secs, 5, 600);
        check_range(
            &mut problems,
            "dial_rate_per_minute",
            u64::from(self.dial_rate_per_minute),
            1,
            1_000_000,
        );
        check_range(
            &mut problems,
            "phone_heartbeat_secs",
            self.phone_heartbeat_secs,
            1,
            300,
        );
        check_range(
            &mut problems,
            "phone_idle_timeout_secs",
            self.phone_idle_timeout_secs,
            self.phone_heartbeat_secs.saturating_add(1),
            900,
        );
        check_range(
            &mut problems,
            "phone_max_frame_bytes",
            self.phone_max_frame_bytes as u64,
            1024,
            1024 * 1024,
        );
        // A long-poll request carries up to 100 events; it must fit a minute.
        check_range(
            &mut problems,
            "phone_event_rate_per_minute",
            u64::from(self.phone_event_rate_per_minute),
            100,
            1_000_000,
        );
        check_range(
            &mut problems,
            "phone_drain_ms",
            self.phone_drain_ms,
            0,
            300_000,
        );
        check_range(
            &mut problems,
            "presence_ttl_secs",
            self.presence_ttl_secs,
            self.phone_heartbeat_secs.saturating_add(1),
            3600,
        );
        check_range(
            &mut problems,
            "max_json_bytes",
            self.max_json_bytes as u64,
            1024,
            16 * 1024 * 1024,
        );
        check_range(
            &mut problems,
            "recording_max_bytes",
            self.recording_max_bytes,
            64 * 1024,
            5 * 1024 * 1024 * 1024,
        );
        check_range(
            &mut problems,
            "recording_upload_url_ttl_secs",
            self.recording_upload_url_ttl_secs,
            60,
            3600,
        );
        check_range(
            &mut problems,
            "recording_download_url_ttl_secs",
            self.recording_download_url_ttl_secs,
            10,
            3600,
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems))
        }
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            ConfigError::Invalid(vec![format!(
                "DESKBIND_LISTEN={:?} is not an address:port",
                self.listen
            )])
        })
    }

    /// `metrics_listen`, when set.
    pub fn metrics_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        self.metrics_listen
            .as_deref()
            .map(|raw| {
                raw.parse().map_err(|_| {
                    ConfigError::Invalid(vec![format!(
                        "DESKBIND_METRICS_LISTEN={raw:?} is not an address:port"
                    )])
                })
            })
            .transpose()
    }

    /// `DATABASE_URL`, or the SQLite file in the data directory.
    pub fn database_url(&self) -> Result<DatabaseUrl, ConfigError> {
        match &self.database_url {
            Some(url) => DatabaseUrl::parse(url.expose_secret())
                .map_err(|e| ConfigError::Invalid(vec![e.to_string()])),
            None => Ok(DatabaseUrl::sqlite_file(
                &self.data_dir.join("deskbind.sqlite3"),
            )),
        }
    }

    pub fn token_keys_dir(&self) -> PathBuf {
        self.token_keys_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("keys"))
    }

    pub fn recordings_dir(&self) -> PathBuf {
        self.data_dir.join("recordings")
    }
}

fn check_range(problems: &mut Vec<String>, key: &str, value: u64, min: u64, max: u64) {
    if value < min || value > max {
        problems.push(format!(
            "{}={value} must be between {min} and {max}",
            env_name(key)
        ));
    }
}

#[cfg(test)]
// figment::Jail's closures return figment::Error, which is large; not ours to shrink.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn layers_apply_in_order_and_secrets_stay_hidden() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "deskbind.toml",
                "listen = \"0.0.0.0:9000\"\nlog = \"debug\"\n",
            )?;
            jail.set_env("DESKBIND_LOG", "warn");
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/deskbind");
            let s = Settings::load(Some(Path::new("deskbind.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "0.0.0.0:9000", "file overrides default");
            assert_eq!(s.log, "warn", "environment overrides file");
            assert!(!format!("{s:?}").contains("hunter2"), "Debug must redact");
            Ok(())
        });
    }

    #[test]
    fn invalid_values_are_all_reported_with_their_names() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("DESKBIND_LISTEN", "nowhere");
            jail.set_env("DATABASE_URL", "mysql://x");
            jail.set_env("DESKBIND_ACCESS_TOKEN_TTL_SECS", "5");
            let err = Settings::load(None)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            for needle in [
                "DESKBIND_LISTEN",
                "DATABASE_URL",
                "DESKBIND_ACCESS_TOKEN_TTL_SECS",
            ] {
                assert!(err.contains(needle), "{needle} missing from: {err}");
            }
            Ok(())
        });
    }

    #[test]
    fn metrics_listen_and_the_phone_event_rate_are_checked() {
        let problems = |s: Settings| match s.validate() {
            Err(ConfigError::Invalid(p)) => p.join("; "),
            Ok(()) => String::new(),
            Err(e) => e.to_string(),
        };
        let base = Settings {
            listen: "127.0.0.1:8080".into(),
            ..Settings::default()
        };
        let nowhere = problems(Settings {
            metrics_listen: Some("nowhere".into()),
            ..base.clone()
        });
        assert!(nowhere.contains("DESKBIND_METRICS_LISTEN"), "{nowhere}");
        let same = problems(Settings {
            metrics_listen: Some("127.0.0.1:8080".into()),
            ..base.clone()
        });
        assert!(same.contains("must differ"), "{same}");
        let apart = problems(Settings {
            metrics_listen: Some("127.0.0.1:9090".into()),
            ..base.clone()
        });
        assert_eq!(apart, "");
        let too_low = problems(Settings {
            phone_event_rate_per_minute: 99,
            ..base
        });
        assert!(
            too_low.contains("DESKBIND_PHONE_EVENT_RATE_PER_MINUTE"),
            "{too_low}"
        );
    }

    #[test]
    fn unknown_file_keys_and_missing_files_are_errors() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("typo.toml", "lisen = \"0.0.0.0:1\"\n")?;
            assert!(Settings::load(Some(Path::new("typo.toml"))).is_err());
            assert!(matches!(
                Settings::load(Some(Path::new("absent.toml"))),
                Err(ConfigError::MissingFile(_))
            ));
            Ok(())
        });
    }

    #[test]
    fn example_file_lists_every_key_and_parses() {
        let example = include_str!("../../deskbind.example.toml");
        for key in Settings::keys() {
            assert!(
                example.contains(&format!("{key} =")),
                "deskbind.example.toml lacks {key}"
            );
        }
        let uncommented: String = example
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.contains(" = "))
                    .unwrap_or(l)
            })
            .collect::<Vec<_>>()
            .join("\n");
        let parsed: Result<Settings, _> = toml::from_str(&uncommented);
        assert!(
            parsed.is_ok(),
            "deskbind.example.toml does not parse: {:?}",
            parsed.err()
        );
    }
}
