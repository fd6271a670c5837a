//! Credentials: argon2id passwords, opaque random secrets (refresh tokens,
//! phone credentials, provisioning codes) stored only as hashes, and the JWT
//! key ring for access tokens.

pub mod jwt;
pub mod passwords;
pub mod secrets;
