//! `DESKBIND_TEST_LOG`: the server's tracing logs in a test's output. They
//! go through the test harness's capture (`with_test_writer`), so a passing
//! test stays quiet and nextest prints them only for a failing one (or for
//! every test with `--no-capture`). `1` shows `info` and deskbind's own
//! `debug`; any other value is a filter like `DESKBIND_LOG`
//! (`DESKBIND_TEST_LOG=deskbind_api=trace,warn`); unset, `0` or empty is off.

use std::sync::Once;

use tracing_subscriber::EnvFilter;

pub const ENV: &str = "DESKBIND_TEST_LOG";

/// What `DESKBIND_TEST_LOG=1` shows.
const DEFAULT_FILTER: &str = "info,deskbind_api=debug,deskbind_core=debug,deskbind_worker=debug";

/// Installs the test subscriber once per test process, when asked for.
/// Every test database calls it, so every test that runs a server has it.
pub fn init() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let Some(filter) = filter_for(std::env::var(ENV).ok().as_deref()) else {
            return;
        };
        let filter = EnvFilter::try_new(&filter)
            .unwrap_or_else(|e| panic!("{ENV}={filter:?} is not a log filter: {e}"));
        // try_init: a test that installed its own subscriber keeps it.
        let _already_set = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_test_writer()
            .try_init();
    });
}

/// The filter a `DESKBIND_TEST_LOG` value asks for; `None` when off.
fn filter_for(value: Option<&str>) -> Option<String> {
    match value.map(str::trim) {
        None | Some("" | "0" | "false" | "off") => None,
        Some("1" | "true" | "on") => Some(DEFAULT_FILTER.to_owned()),
        Some(directives) => Some(directives.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_unless_asked_for_and_one_means_the_default() {
        for off in [None, Some(""), Some("0"), Some("off")] {
            assert_eq!(filter_for(off), None, "{off:?}");
        }
        assert_eq!(filter_for(Some("1")).as_deref(), Some(DEFAULT_FILTER));
        assert_eq!(
            filter_for(Some("deskbind_api=trace,warn")).as_deref(),
            Some("deskbind_api=trace,warn")
        );
    }
}
