//! deploy/ checked without a container engine (none runs here, so nothing
//! is built or applied): every file is parsed, and the properties the
//! deployment depends on are asserted against the real code: settings
//! names against `Settings::keys()`, probe paths against the running
//! server, binary names against the crates. A renamed setting, route or
//! binary fails here, not in production. docs/operations.md ("Deploying")
//! describes the files.

mod compose;
mod dockerfile;
mod files;
mod kubernetes;
mod nginx;
mod settings;
