//! The settings the real configuration accepts, and what a shutdown takes.

use std::collections::BTreeMap;

use deskbind_core::config::{Settings, env_name};
use figment::Figment;
use figment::providers::Serialized;
use figment::value::{Dict, Value};

/// Every environment name `Settings::load` reads.
pub fn env_names() -> Vec<String> {
    Settings::keys().iter().map(|k| env_name(k)).collect()
}

/// Fails naming every variable the configuration would silently ignore
/// (the environment provider skips unknown names).
pub fn assert_known(names: impl IntoIterator<Item = String>, where_: &str) {
    let known = env_names();
    let unknown: Vec<String> = names.into_iter().filter(|n| !known.contains(n)).collect();
    assert!(
        unknown.is_empty(),
        "{where_} sets {unknown:?}, which deskbind's configuration does not read \
         (known names: core/src/config.rs, docs/configuration.md)"
    );
}

/// Loads `env` as `Settings::load` loads the environment (defaults, then
/// each value parsed as figment's environment provider parses it) and
/// validates the result, so a value out of range or of the wrong type
/// fails here as it would fail the node's start. Paths of files that exist
/// only in the container (the FCM key) are not checked.
pub fn assert_valid(env: &BTreeMap<String, String>, where_: &str) {
    assert_known(env.keys().cloned(), where_);
    let mut dict = Dict::new();
    for key in Settings::keys() {
        if key == "google_application_credentials" {
            continue;
        }
        if let Some(value) = env.get(&env_name(&key)) {
            let parsed: Value = value.parse().unwrap_or_else(|never| match never {});
            dict.insert(key, parsed);
        }
    }
    let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
        .merge(Serialized::globals(dict))
        .extract()
        .unwrap_or_else(|e| panic!("{where_}: deskbind would not start: {e}"));
    if let Err(e) = settings.validate() {
        panic!("{where_}: deskbind would not start: {e}");
    }
}

/// Settings that must come from a Secret, never a ConfigMap or a plain file.
pub const SECRET_NAMES: &[&str] = &["DATABASE_URL", "REDIS_URL", "AWS_SECRET_ACCESS_KEY"];

/// Seconds a node may take from SIGTERM to exit: the shutdown grace plus
/// every drain window the configuration has (any `*drain*_secs`/`_ms`
/// setting), each as `env` sets it or else its default. Summed, not
/// overlapped, to stay on the safe side whichever way the drain and the
/// grace are sequenced.
pub fn shutdown_budget_secs(env: &BTreeMap<String, String>) -> u64 {
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialise");
    Settings::keys()
        .into_iter()
        .filter(|k| k == "shutdown_timeout_secs" || k.contains("drain"))
        .map(|key| {
            let value = env
                .get(&env_name(&key))
                .and_then(|v| v.parse::<u64>().ok())
                .or_else(|| defaults.get(&key).and_then(serde_json::Value::as_u64))
                .unwrap_or(0);
            if key.ends_with("_ms") {
                value.div_ceil(1000)
            } else {
                value
            }
        })
        .sum()
}

/// The port of a `DESKBIND_LISTEN` value.
pub fn listen_port(env: &BTreeMap<String, String>) -> u16 {
    let listen = env
        .get("DESKBIND_LISTEN")
        .expect("DESKBIND_LISTEN is set (the default listens on 127.0.0.1 only)");
    let addr: std::net::SocketAddr = listen
        .parse()
        .unwrap_or_else(|_| panic!("DESKBIND_LISTEN={listen} is not address:port"));
    assert!(
        addr.ip().is_unspecified(),
        "DESKBIND_LISTEN={listen}: a container must listen on all interfaces"
    );
    addr.port()
}

#[test]
#[should_panic(expected = "would not start")]
fn a_value_the_configuration_refuses_fails() {
    let mut env = BTreeMap::new();
    env.insert("DESKBIND_DB_POOL_SIZE".to_owned(), "5000".to_owned());
    assert_valid(&env, "test");
}

#[test]
fn the_budget_counts_the_shutdown_grace() {
    let mut env = BTreeMap::new();
    env.insert("DESKBIND_SHUTDOWN_TIMEOUT_SECS".to_owned(), "7".to_owned());
    assert!(shutdown_budget_secs(&env) >= 7);
    assert!(env_names().contains(&"DATABASE_URL".to_owned()));
    assert!(env_names().contains(&"DESKBIND_EMBEDDED_WORKER".to_owned()));
}
