//! argon2id with the crate's defaults (OWASP's m=19 MiB, t=2, p=1). Hashing is
//! CPU-bound: callers run it on the blocking pool.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

pub fn hash(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// True when `password` matches the stored PHC string. A malformed stored hash
/// counts as a mismatch (and is logged), never as a match.
pub fn verify(password: &str, stored: &str) -> bool {
    match Argon2::default().verify_password(password.as_bytes(), stored) {
        Ok(()) => true,
        Err(argon2::password_hash::Error::PasswordInvalid) => false,
        Err(e) => {
            tracing::error!(error = %e, "stored password hash could not be checked");
            false
        }
    }
}

/// Spends the same time as a real check, for logins of unknown emails, so
/// response timing does not reveal which emails exist.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(stored) = DUMMY.get_or_init(|| hash("deskbind-timing-equaliser").ok()) {
        let _ = verify(password, stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery").unwrap_or_default();
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(!verify("anything", "not-a-phc-string"));
    }
}
