//! argon2id with the crate's defaults (OWASP's m=19 MiB, t=2, p=1).
//!
//! A [`Hasher`] owns the argon2 working memory and reuses it for every hash
//! and verification, so a process that keeps a fixed number of hashers (the
//! API's password pool) has a fixed amount of argon2 memory however many
//! logins arrive. Allocating the 19 MiB per call instead left every thread's
//! malloc arena holding its own copy. Hashing is CPU-bound: callers run it
//! off the async runtime.

use argon2::password_hash::phc::{Output, ParamsString, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

impl HashError {
    fn from_display(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// Stored hashes asking for more than this much memory (KiB) are refused
/// rather than allocated: a PHC string in the database must not make a login
/// take gigabytes. Four times today's default.
const MAX_M_COST_KIB: u32 = 4 * Params::DEFAULT_M_COST;

/// The argon2 working memory for one computation at a time, reused.
#[derive(Default)]
pub struct Hasher {
    /// Allocated on first use, sized for the default parameters.
    memory: Vec<Block>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("blocks", &self.memory.len())
            .finish()
    }
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// A PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) with a
    /// fresh random salt.
    pub fn hash(&mut self, password: &str) -> Result<String, HashError> {
        let salt = argon2::password_hash::try_generate_salt().map_err(HashError::from_display)?;
        let params = Params::DEFAULT;
        let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
        self.compute(
            Algorithm::Argon2id,
            Version::V0x13,
            params.clone(),
            password,
            &salt,
            &mut out,
        )?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).map_err(HashError::from_display)?,
            salt: Some(Salt::new(&salt).map_err(HashError::from_display)?),
            hash: Some(Output::new(&out).map_err(HashError::from_display)?),
        };
        Ok(phc.to_string())
    }

    /// True when `password` matches the stored PHC string, computed with the
    /// algorithm, version, parameters and salt the string names and compared
    /// in constant time. A malformed stored hash counts as a mismatch (and is
    /// logged), never as a match.
    pub fn verify(&mut self, password: &str, stored: &str) -> bool {
        match self.check(password, stored) {
            Ok(matched) => matched,
            Err(e) => {
                tracing::error!(error = %e, "stored password hash could not be checked");
                false
            }
        }
    }

    /// Spends the same time as a real check, for logins of unknown emails, so
    /// response timing does not reveal which emails exist.
    pub fn verify_dummy(&mut self, password: &str) {
        static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
        let stored = DUMMY.get_or_init(|| self.hash("deskbind-timing-equaliser").ok());
        if let Some(stored) = stored {
            let _ = self.verify(password, stored);
        }
    }

    fn check(&mut self, password: &str, stored: &str) -> Result<bool, HashError> {
        let phc = PasswordHash::new(stored).map_err(HashError::from_display)?;
        let algorithm =
            Algorithm::try_from(phc.algorithm.as_str()).map_err(HashError::from_display)?;
        let version = phc
            .version
            .map(Version::try_from)
            .transpose()
            .map_err(HashError::from_display)?
            .unwrap_or_default();
        let params = Params::try_from(&phc).map_err(HashError::from_display)?;
        let (Some(salt), Some(expected)) = (&phc.salt, &phc.hash) else {
            return Err(HashError("stored hash has no salt or no output".into()));
        };
        let mut buffer = [0u8; Output::MAX_LENGTH];
        let out = buffer
            .get_mut(..expected.len())
            .ok_or_else(|| HashError("stored output is too long".into()))?;
        self.compute(algorithm, version, params, password, salt, out)?;
        let computed = Output::new(out).map_err(HashError::from_display)?;
        // phc's Output compares in constant time.
        Ok(*expected == computed)
    }

    fn compute(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &str,
        salt: &[u8],
        out: &mut [u8],
    ) -> Result<(), HashError> {
        if params.m_cost() > MAX_M_COST_KIB {
            return Err(HashError(format!(
                "m={} KiB is above the {MAX_M_COST_KIB} KiB this server computes",
                params.m_cost()
            )));
        }
        let needed = params.block_count();
        let argon2 = Argon2::new(algorithm, version, params);
        if needed > self.memory.len() {
            if self.memory.is_empty() && needed <= Params::DEFAULT.block_count() {
                self.memory = vec![Block::new(); Params::DEFAULT.block_count()];
            } else {
                // Rarer, larger parameters: a one-off allocation, freed
                // after the call, so the kept memory stays at the default.
                let mut once = vec![Block::new(); needed];
                return argon2
                    .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut once[..])
                    .map_err(HashError::from_display);
            }
        }
        let memory = self
            .memory
            .get_mut(..needed)
            .ok_or_else(|| HashError("argon2 memory too small".into()))?;
        argon2
            .hash_password_into_with_memory(password.as_bytes(), salt, out, memory)
            .map_err(HashError::from_display)
    }
}

/// One hash with a hasher of its own (the CLI's init-admin; tests).
pub fn hash(password: &str) -> Result<String, HashError> {
    Hasher::new().hash(password)
}

/// One verification with a hasher of its own (tests, tools).
pub fn verify(password: &str, stored: &str) -> bool {
    Hasher::new().verify(password, stored)
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::phc::PasswordHash as Phc;
    use argon2::{CustomizedPasswordHasher, PasswordVerifier};

    use super::*;

    fn argon2_says(password: &str, stored: &str) -> bool {
        let phc = Phc::new(stored).unwrap_or_else(|e| panic!("{e}"));
        Argon2::default()
            .verify_password(password.as_bytes(), &phc)
            .is_ok()
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let stored = hash("correct horse battery").unwrap_or_default();
        assert!(
            stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{stored}"
        );
        assert!(verify("correct horse battery", &stored));
        assert!(!verify("wrong horse battery", &stored));
        assert!(!verify("anything", "not-a-phc-string"));
    }

    #[test]
    fn one_hasher_agrees_with_argon2_for_right_and_wrong_passwords_and_other_params() {
        let mut hasher = Hasher::new();
        let ours = hasher.hash("correct horse").unwrap_or_default();
        let salt = b"sixteen-byte-slt";
        let custom = |alg: Option<&str>, params: Params| {
            Argon2::default()
                .hash_password_customized(b"correct horse", salt, alg, None, params)
                .map(|h| h.to_string())
                .unwrap_or_else(|e| panic!("{e}"))
        };
        let stored = [
            ours,
            // Argon2's own default hash.
            custom(None, Params::DEFAULT),
            // Smaller and larger memory, more passes, two lanes, longer output.
            custom(
                None,
                Params::new(8 * 1024, 3, 2, Some(48)).unwrap_or_default(),
            ),
            custom(None, Params::new(32 * 1024, 1, 1, None).unwrap_or_default()),
            // Other variants.
            custom(
                Some("argon2i"),
                Params::new(4096, 2, 1, None).unwrap_or_default(),
            ),
            custom(
                Some("argon2d"),
                Params::new(4096, 2, 1, None).unwrap_or_default(),
            ),
        ];
        // The same hasher (and its memory) serves every call in turn.
        for stored in &stored {
            for password in ["correct horse", "correct hors", "", "correct horse "] {
                assert_eq!(
                    hasher.verify(password, stored),
                    argon2_says(password, stored),
                    "{password:?} against {stored}"
                );
            }
            assert!(hasher.verify("correct horse", stored), "{stored}");
        }
        // The kept memory is the default size, whatever was verified.
        assert_eq!(hasher.memory.len(), Params::DEFAULT.block_count());
    }

    #[test]
    fn a_stored_hash_asking_for_too_much_memory_is_a_mismatch() {
        let stored = Argon2::default()
            .hash_password_customized(
                b"pw",
                b"sixteen-byte-slt",
                None,
                None,
                Params::new(MAX_M_COST_KIB + 8, 1, 1, None).unwrap_or_default(),
            )
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(!Hasher::new().verify("pw", &stored));
    }
}
