//! deskbind-core: the domain and persistence shared by the API server, the
//! worker and (for the wire types only) the client SDK.
//!
//! With `default-features = false` only [`wire`], [`ids`] and [`nfc`] are
//! built; the SDK adds `dial-payload` (the signed NFC dial payload it
//! verifies on phones). The `server` feature adds configuration, the
//! database, repositories and credentials.

#[cfg(feature = "dial-payload")]
pub mod dial_payload;
pub mod ids;
pub mod nfc;
pub mod vendor;
pub mod wire;

#[cfg(feature = "server")]
pub mod auth;
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod db;
#[cfg(feature = "server")]
pub mod domain;
#[cfg(feature = "server")]
pub mod push;
#[cfg(feature = "server")]
pub mod relay;
#[cfg(feature = "server")]
pub mod repo;
#[cfg(feature = "server")]
pub mod request_id;
#[cfg(feature = "server")]
pub mod storage;
#[cfg(feature = "server")]
pub mod telemetry;
#[cfg(feature = "test-support")]
pub mod testing;
#[cfg(feature = "server")]
pub mod time;
#[cfg(feature = "server")]
pub mod usecases;
