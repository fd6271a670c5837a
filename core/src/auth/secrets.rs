//! Opaque secrets. Each has 256 bits of randomness, so a fast SHA-256 is the
//! right hash for storage (nothing to brute-force); the plain value is shown
//! to its owner once and never stored.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// Prefix of refresh tokens.
pub const REFRESH_PREFIX: &str = "dbr_";
/// Prefix of phone credentials.
pub const PHONE_CREDENTIAL_PREFIX: &str = "dbp_";
/// Prefix of API keys (docs/integrations.md).
pub const API_KEY_PREFIX: &str = "dbk_";

#[derive(Debug, thiserror::Error)]
#[error("the operating system's random source failed")]
pub struct RandomError;

pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|_| RandomError)?;
    Ok(buf)
}

/// A new secret: `prefix` + 32 random bytes, base64url.
pub fn new_secret(prefix: &str) -> Result<String, RandomError> {
    Ok(format!(
        "{prefix}{}",
        URL_SAFE_NO_PAD.encode(random_bytes::<32>()?)
    ))
}

/// The stored form of a secret: hex SHA-256.
pub fn hash_secret(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Crockford base32 without I, L, O, U: unambiguous when read off a screen
/// and typed on a phone keypad menu.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CODE_CHARS: usize = 12;

/// A provisioning code like `K7QD-M2XP-9RTA`: 60 bits, one-time, short-lived,
/// and redeem attempts are rate-limited, so guessing is out of reach.
pub fn new_provisioning_code() -> Result<String, RandomError> {
    let bytes = random_bytes::<CODE_CHARS>()?;
    let mut out = String::with_capacity(CODE_CHARS + 2);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 && i % 4 == 0 {
            out.push('-');
        }
        out.push(char::from(CODE_ALPHABET[usize::from(b & 31)]));
    }
    Ok(out)
}

/// Digits of a binding code: about 29.9 bits, which with its lifetime of at
/// most 120 s and the per-user and per-organisation attempt limits keeps
/// guessing out of reach (the sizing RFC 8628 section 5.1 asks for; see
/// docs/binding.md for the figures).
pub const BINDING_CODE_DIGITS: usize = 9;

/// A numeric binding code such as `048213977`, for phones without NFC.
pub fn new_binding_code() -> Result<String, RandomError> {
    // 64 random bits reduced mod 10^9: the bias is below 10^-10.
    let n = u64::from_le_bytes(random_bytes::<8>()?) % 1_000_000_000;
    Ok(format!("{n:0width$}", width = BINDING_CODE_DIGITS))
}

/// The digits of a typed binding code (spaces and dashes dropped), or
/// `None` when it is not one.
pub fn normalise_binding_code(typed: &str) -> Option<String> {
    let digits: String = typed.chars().filter(|c| !matches!(c, '-' | ' ')).collect();
    (digits.len() == BINDING_CODE_DIGITS && digits.bytes().all(|b| b.is_ascii_digit()))
        .then_some(digits)
}

/// Canonical form of a typed code: upper case, no separators, and the
/// look-alike letters Crockford maps (O→0, I/L→1).
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_have_the_documented_shape_and_normalise() {
        let code = new_provisioning_code().unwrap_or_default();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        assert_eq!(normalise_code(&code.to_lowercase()), code.replace('-', ""));
        assert_eq!(normalise_code("oil-0 1"), "01101");
    }

    #[test]
    fn binding_codes_are_nine_digits() {
        let code = new_binding_code().unwrap_or_default();
        assert_eq!(normalise_binding_code(&code), Some(code.clone()));
        assert_eq!(
            normalise_binding_code("048-213 977"),
            Some("048213977".into())
        );
        for bad in ["04821397", "0482139770", "04821397x", ""] {
            assert_eq!(normalise_binding_code(bad), None, "{bad}");
        }
    }

    #[test]
    fn secrets_are_prefixed_and_hash_stably() {
        let s = new_secret(PHONE_CREDENTIAL_PREFIX).unwrap_or_default();
        assert!(s.starts_with("dbp_") && s.len() == 4 + 43, "{s}");
        assert_eq!(hash_secret(&s), hash_secret(&s));
        assert_ne!(hash_secret(&s), hash_secret("dbp_other"));
    }
}
