//! Parsing of `DATABASE_URL` into a backend and a connection string, with a
//! `Debug` that never prints a password.

use std::fmt;
use std::path::{Path, PathBuf};

use super::Backend;

/// libpq parameters added to a PostgreSQL URL unless given: fail a connect
/// after 5 s, and drop a connection whose sent data goes unacknowledged for
/// 10 s (`tcp_user_timeout`, in ms) or whose keepalive probes go unanswered.
const LIBPQ_TIME_LIMITS: [(&str, &str); 5] = [
    ("connect_timeout", "5"),
    ("tcp_user_timeout", "10000"),
    ("keepalives", "1"),
    ("keepalives_idle", "30"),
    ("keepalives_interval", "10"),
];

#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite database file (created when missing).
    Sqlite(PathBuf),
    /// A PostgreSQL connection URL, passed to libpq as is.
    Postgres(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DatabaseUrlError {
    #[error(
        "DATABASE_URL must start with sqlite:// (a file path) or postgres:// / postgresql://; got a URL starting with {0:?}"
    )]
    UnknownScheme(String),
    #[error(
        "DATABASE_URL sqlite:// needs a file path after the scheme, e.g. sqlite://./deskbind-data/deskbind.sqlite3"
    )]
    EmptySqlitePath,
}

impl DatabaseUrl {
    pub fn sqlite_file(path: &Path) -> Self {
        Self::Sqlite(path.to_path_buf())
    }

    pub fn parse(raw: &str) -> Result<Self, DatabaseUrlError> {
        if let Some(path) = raw.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DatabaseUrlError::EmptySqlitePath);
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
            return Ok(Self::Postgres(raw.to_owned()));
        }
        let scheme: String = raw.chars().take_while(|c| *c != ':').take(16).collect();
        Err(DatabaseUrlError::UnknownScheme(scheme))
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// The full URL including any password, for handing to configuration.
    pub fn expose_url(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(raw) => raw.clone(),
        }
    }

    /// The PostgreSQL URL handed to libpq, with time limits added where the
    /// operator set none: without them a database host that drops packets
    /// (rather than refusing) makes connects, and queries on pooled
    /// connections, wait for TCP's own retransmission timeout (minutes),
    /// and the outage breaker never hears of it. An operator's own value
    /// for any of these parameters wins.
    pub fn libpq_url(&self) -> Option<String> {
        let Self::Postgres(raw) = self else {
            return None;
        };
        let query = raw.split_once('?').map_or("", |(_, q)| q);
        let given = |name: &str| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(name))
        };
        let mut url = raw.clone();
        for (name, value) in LIBPQ_TIME_LIMITS {
            if !given(name) {
                url.push(if url.contains('?') { '&' } else { '?' });
                url.push_str(name);
                url.push('=');
                url.push_str(value);
            }
        }
        Some(url)
    }

    /// The URL with any password replaced, for logs.
    pub fn redacted(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres(raw) => match ::url::Url::parse(raw) {
                Ok(mut url) => {
                    if url.password().is_some() {
                        // set_password only fails for URLs that cannot carry one.
                        let _ignored = url.set_password(Some("****"));
                    }
                    // libpq also takes `?password=`; parameters are not worth the risk.
                    url.set_query(None);
                    url.to_string()
                }
                Err(_) => "postgres://(unparsable, hidden)".to_owned(),
            },
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_schemes_and_rejects_others() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./a.db"),
            Ok(DatabaseUrl::Sqlite(PathBuf::from("./a.db")))
        );
        assert_eq!(
            DatabaseUrl::parse("postgresql://h/db").map(|u| u.backend()),
            Ok(Backend::Postgres)
        );
        assert_eq!(
            DatabaseUrl::parse("mysql://x"),
            Err(DatabaseUrlError::UnknownScheme("mysql".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite://"),
            Err(DatabaseUrlError::EmptySqlitePath)
        );
    }

    #[test]
    fn libpq_time_limits_are_added_unless_given() {
        let url = |raw: &str| {
            DatabaseUrl::parse(raw)
                .unwrap_or_else(|e| panic!("{e}"))
                .libpq_url()
                .unwrap_or_default()
        };
        assert_eq!(
            url("postgres://db/deskbind"),
            "postgres://db/deskbind?connect_timeout=5&tcp_user_timeout=10000\
             &keepalives=1&keepalives_idle=30&keepalives_interval=10"
        );
        let kept = url("postgres://db/deskbind?sslmode=require&connect_timeout=2&keepalives=0");
        assert!(kept.starts_with("postgres://db/deskbind?sslmode=require&connect_timeout=2&keepalives=0&tcp_user_timeout=10000&"), "{kept}");
        assert_eq!(kept.matches("connect_timeout").count(), 1, "{kept}");
        assert_eq!(kept.matches("keepalives=").count(), 1, "{kept}");
        assert_eq!(
            DatabaseUrl::parse("sqlite://./a.db")
                .ok()
                .and_then(|u| u.libpq_url()),
            None
        );
    }

    #[test]
    fn debug_hides_the_password() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/deskbind")
            .unwrap_or_else(|e| panic!("{e}"));
        let shown = format!("{url:?}");
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("****"), "{shown}");
        let query = DatabaseUrl::parse("postgres://db/deskbind?password=s3cret")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{query:?}").contains("s3cret"));
    }
}
