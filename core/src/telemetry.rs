//! Logging for every deskbind process: tracing to stderr, as text or JSON
//! (`DESKBIND_LOG_FORMAT`), filtered by `DESKBIND_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init(filter: &str, format: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // try_init: a second call (tests, embedded use) keeps the first subscriber.
    let _already_set = if format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
