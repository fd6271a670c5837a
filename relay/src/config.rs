//! The relay's configuration file (docs/vendor-phones.md, "The relay"): the
//! server, where phones reach the relay, and each phone's vendor, LAN
//! address and web admin login. The file holds the phones' passwords, so it
//! is refused when others than its owner can read it; the passwords never
//! leave the relay.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use deskbind_core::vendor::events::normalise_mac;
use deskbind_core::vendor::{PhoneLogin, Vendor};
use serde::Deserialize;
use url::Url;

/// Phones one relay drives, at most.
pub const MAX_PHONES: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} holds phone passwords but others can read it (mode {mode:o}): run chmod 600 {path}"
    )]
    Readable { path: PathBuf, mode: u32 },
    #[error("{0}")]
    Syntax(String),
    #[error("{field}: {detail}")]
    Invalid { field: String, detail: String },
}

fn invalid(field: impl Into<String>, detail: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field: field.into(),
        detail: detail.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server_url: String,
    listen: String,
    advertise_url: String,
    state_dir: PathBuf,
    #[serde(default)]
    login_backoff_secs: Option<u64>,
    #[serde(default)]
    command_timeout_secs: Option<u64>,
    #[serde(default)]
    phones: Vec<RawPhone>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPhone {
    name: String,
    driver: String,
    address: String,
    #[serde(default)]
    username: Option<String>,
    password: String,
    #[serde(default)]
    mac: Option<String>,
    #[serde(default)]
    provisioning_code: Option<String>,
}

/// The relay's whole configuration, checked.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// deskbind's base URL; the relay connects out to it.
    pub server_url: Url,
    /// Where the relay takes the phones' Action URL calls.
    pub listen: SocketAddr,
    /// The relay's address as the phones reach it (an IP address, which the
    /// phones' allow-lists name).
    pub advertise_url: Url,
    pub advertise_ip: IpAddr,
    /// Where each phone's credential and unsent events are kept.
    pub state_dir: PathBuf,
    /// After a phone refused the login: the first pause before the relay
    /// sends it anything again (doubled on each refusal, up to an hour).
    pub login_backoff: Duration,
    /// How long a phone has to answer a command.
    pub command_timeout: Duration,
    pub phones: Vec<PhoneConfig>,
}

/// One desk phone the relay drives.
#[derive(Debug, Clone)]
pub struct PhoneConfig {
    /// The relay's name for the phone (its state directory).
    pub name: String,
    pub vendor: Vendor,
    /// The phone's web interface: the only address the relay sends to for
    /// it, and the only one it takes the phone's events from.
    pub address: SocketAddr,
    pub login: PhoneLogin,
    /// When set, events must carry this MAC (12 lower-case hex digits).
    pub mac: Option<String>,
    /// Redeemed once for the phone's deskbind credential.
    pub provisioning_code: Option<String>,
}

impl RelayConfig {
    /// Reads and checks `path`, refusing a file others can read.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text)
    }

    /// Checks a configuration's text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| syntax_error(text, &e))?;
        let server_url = web_url("server_url", &raw.server_url)?;
        let listen: SocketAddr = raw
            .listen
            .parse()
            .map_err(|_| invalid("listen", "must be an address and port, like 0.0.0.0:8089"))?;
        let advertise_url = web_url("advertise_url", &raw.advertise_url)?;
        let advertise_ip = match advertise_url.host() {
            Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
            _ => {
                return Err(invalid(
                    "advertise_url",
                    "must name the relay by its IP address (phones' allow-lists take addresses)",
                ));
            }
        };
        if advertise_url.path() != "/" {
            return Err(invalid("advertise_url", "must have no path"));
        }
        if raw.phones.len() > MAX_PHONES {
            return Err(invalid("phones", format!("at most {MAX_PHONES}")));
        }
        let mut names = HashSet::new();
        let mut addresses = HashSet::new();
        let mut phones = Vec::with_capacity(raw.phones.len());
        for (i, phone) in raw.phones.into_iter().enumerate() {
            let phone = PhoneConfig::check(i, phone)?;
            if !names.insert(phone.name.clone()) {
                return Err(invalid(format!("phones[{i}].name"), "is used twice"));
            }
            if !addresses.insert(phone.address) {
                return Err(invalid(format!("phones[{i}].address"), "is used twice"));
            }
            phones.push(phone);
        }
        Ok(Self {
            server_url,
            listen,
            advertise_url,
            advertise_ip,
            state_dir: raw.state_dir,
            login_backoff: Duration::from_secs(raw.login_backoff_secs.unwrap_or(60).max(1)),
            command_timeout: Duration::from_secs(
                raw.command_timeout_secs.unwrap_or(5).clamp(1, 60),
            ),
            phones,
        })
    }
}

impl PhoneConfig {
    fn check(i: usize, raw: RawPhone) -> Result<Self, ConfigError> {
        let field = |name: &str| format!("phones[{i}].{name}");
        let name_ok = (1..=64).contains(&raw.name.len())
            && raw
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !name_ok {
            return Err(invalid(
                field("name"),
                "1 to 64 letters, digits, '-' or '_' (it names a directory)",
            ));
        }
        let vendor = Vendor::parse(&raw.driver).ok_or_else(|| {
            invalid(
                field("driver"),
                "must be one of yealink, snom, grandstream, fanvil",
            )
        })?;
        let address = parse_address(&raw.address).ok_or_else(|| {
            invalid(
                field("address"),
                "must be an IP address, with a port or not",
            )
        })?;
        let mac = match raw.mac.as_deref() {
            None => None,
            Some(text) => Some(
                normalise_mac(text)
                    .ok_or_else(|| invalid(field("mac"), "must be 12 hex digits"))?,
            ),
        };
        if raw.password.is_empty() {
            return Err(invalid(field("password"), "must not be empty"));
        }
        Ok(Self {
            name: raw.name,
            vendor,
            address,
            login: PhoneLogin {
                username: raw.username.unwrap_or_else(|| "admin".to_owned()),
                password: raw.password,
            },
            mac,
            provisioning_code: raw.provisioning_code.filter(|c| !c.trim().is_empty()),
        })
    }
}

/// What is wrong with the file, by line, without quoting it: the line
/// may hold a password.
fn syntax_error(text: &str, error: &toml::de::Error) -> ConfigError {
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    ConfigError::Syntax(match line {
        Some(line) => format!("line {line}: {}", error.message()),
        None => error.message().to_owned(),
    })
}

/// An IP address, with port 80 unless one is given. Names are refused: the
/// relay talks only to the addresses written here, never to what a name
/// resolves to today.
fn parse_address(text: &str) -> Option<SocketAddr> {
    let text = text.trim();
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr);
    }
    let ip: IpAddr = text
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()?;
    Some(SocketAddr::new(ip, 80))
}

fn web_url(field: &str, text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| invalid(field, e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid(field, "must be an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(field, "must not hold a user name or password"));
    }
    Ok(url)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), ConfigError> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(ConfigError::Readable {
            path: path.to_owned(),
            mode,
        });
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), ConfigError> {
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
server_url = "https://deskbind.example.com"
listen = "0.0.0.0:8089"
advertise_url = "http://192.168.1.10:8089"
state_dir = "/var/lib/deskbind-relay"

[[phones]]
name = "reception"
driver = "yealink"
address = "192.168.1.50"
password = "secret"
mac = "00:15:65:AB:CD:EF"
provisioning_code = "ABCD-EFGH"

[[phones]]
name = "sales-2"
driver = "grandstream"
address = "192.168.1.51:8080"
password = "other"
"#;

    #[test]
    fn reads_a_good_file() {
        let config = RelayConfig::parse(GOOD).unwrap();
        assert_eq!(config.phones.len(), 2);
        let first = &config.phones[0];
        assert_eq!(first.vendor, Vendor::Yealink);
        assert_eq!(first.address, "192.168.1.50:80".parse().unwrap());
        assert_eq!(first.mac.as_deref(), Some("001565abcdef"));
        assert_eq!(first.login.username, "admin");
        assert_eq!(config.phones[1].address.port(), 8080);
        assert_eq!(
            config.advertise_ip,
            "192.168.1.10".parse::<IpAddr>().unwrap()
        );
        assert!(!format!("{config:?}").contains("secret"));
    }

    #[test]
    fn refuses_what_it_cannot_use() {
        let cases = [
            (
                GOOD.replace("192.168.1.50\"", "phone.lan\""),
                "phones[0].address",
            ),
            (GOOD.replace("\"yealink\"", "\"cisco\""), "phones[0].driver"),
            (
                GOOD.replace("\"sales-2\"", "\"reception\""),
                "phones[1].name",
            ),
            (GOOD.replace("\"sales-2\"", "\"../x\""), "phones[1].name"),
            (
                GOOD.replace("192.168.1.51:8080", "192.168.1.50:80"),
                "phones[1].address",
            ),
            (
                GOOD.replace("http://192.168.1.10:8089", "http://relay.lan:8089"),
                "advertise_url",
            ),
            (
                GOOD.replace("https://deskbind", "https://u:p@deskbind"),
                "server_url",
            ),
            (GOOD.replace("AB:CD:EF", "AB:CD"), "phones[0].mac"),
            (GOOD.replace("\"other\"", "\"\""), "phones[1].password"),
        ];
        for (text, field) in cases {
            match RelayConfig::parse(&text) {
                Err(ConfigError::Invalid { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: {other:?}"),
            }
        }
        assert!(matches!(
            RelayConfig::parse(&format!("{GOOD}\nsurprise = 1\n")),
            Err(ConfigError::Syntax(_))
        ));
        // A misspelt key next to a password: the error names the line only.
        match RelayConfig::parse(&GOOD.replace("password = \"secret\"", "pasword = \"secret\"")) {
            Err(ConfigError::Syntax(text)) => {
                assert!(text.starts_with("line "), "{text}");
                assert!(!text.contains("secret"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[cfg(unix)]
    #[test]
    fn refuses_a_file_others_can_read() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("relay.toml");
        std::fs::write(&path, GOOD).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            RelayConfig::load(&path),
            Err(ConfigError::Readable { mode: 0o644, .. })
        ));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(RelayConfig::load(&path).unwrap().phones.len(), 2);
    }
}
