//! Access tokens: HS256 JWTs, the algorithm pinned, `iss`, `aud`, `exp` and
//! `sub` required, a `typ` claim that must say `access`, and a `kid` header
//! naming the key in the ring. Keys live as files in a directory (one per
//! kid); the newest signs, all verify, so rotation is: add a key, wait one
//! access-token lifetime, delete the old one. See docs/security.md.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey as _;
use hkdf::Hkdf;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::dial_payload::{DialClaims, DialKey};
use crate::ids::{BindingTokenId, OrgId, PhoneId, SessionId, UserId};

pub const ISSUER: &str = "deskbind";
pub const AUDIENCE: &str = "deskbind-api";
pub const ACCESS_TYPE: &str = "access";
/// NFC binding tokens are signed by the same keys for another audience and
/// type, so neither kind of token passes for the other.
pub const BINDING_AUDIENCE: &str = "deskbind-nfc";
pub const BINDING_TYPE: &str = "nfc_binding";
const ALGORITHM: Algorithm = Algorithm::HS256;
const KEY_BYTES: usize = 32;
/// Clock skew tolerated on `exp`.
const LEEWAY_SECS: i64 = 5;
const FIRST_KID: &str = "00000000T000000Z";
/// Separates the dial key pair's derivation from every other use of the
/// ring's keys.
const DIAL_KEY_SALT: &[u8] = b"deskbind nfc dial key v1";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub aud: String,
    /// The user.
    pub sub: UserId,
    pub org: OrgId,
    /// The session (refresh-token family); revoking it ends this token too.
    pub sid: SessionId,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

/// An NFC binding token: a phone's offer to bind whoever redeems it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BindingClaims {
    pub iss: String,
    pub aud: String,
    /// The phone.
    pub sub: PhoneId,
    pub org: OrgId,
    /// The token's row, consumed on redemption.
    pub jti: BindingTokenId,
    pub typ: String,
    pub iat: i64,
    pub exp: i64,
}

impl BindingClaims {
    /// A token of `phone` (in `org`) for the row `jti`, valid from `iat` to
    /// `exp` (seconds since the epoch).
    pub fn new(phone: PhoneId, org: OrgId, jti: BindingTokenId, iat: i64, exp: i64) -> Self {
        Self {
            iss: ISSUER.into(),
            aud: BINDING_AUDIENCE.into(),
            sub: phone,
            org,
            jti,
            typ: BINDING_TYPE.into(),
            iat,
            exp,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    #[error("token key directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "token key file {path} must hold {KEY_BYTES} bytes as base64url; regenerate it or fix its content"
    )]
    BadKey { path: PathBuf },
    #[error(transparent)]
    Random(#[from] super::secrets::RandomError),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token is not a JWT of ours")]
    Malformed,
    #[error("token names a key we do not have")]
    UnknownKey,
    #[error("token expired")]
    Expired,
    #[error("token failed validation: {0}")]
    Invalid(String),
    #[error("token is not an access token")]
    WrongType,
}

struct Key {
    encoding: EncodingKey,
    decoding: DecodingKey,
    dial: DialSigner,
}

/// The Ed25519 key pair NFC dial payloads are signed with, derived from a
/// ring key (see `key_from_bytes`).
struct DialSigner {
    private: EncodingKey,
    public: Vec<u8>,
}

/// Signing and verification keys by kid.
pub struct KeyRing {
    keys: HashMap<String, Key>,
    active: String,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut kids: Vec<&String> = self.keys.keys().collect();
        kids.sort();
        f.debug_struct("KeyRing")
            .field("active", &self.active)
            .field("kids", &kids)
            .finish()
    }
}

impl KeyRing {
    /// Loads every `<kid>.key` in `dir`; creates the directory (0700) and a
    /// first key (0600) when there is none. The greatest kid signs.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyRingError> {
        let io = |source| KeyRingError::Io {
            path: dir.to_path_buf(),
            source,
        };
        create_private_dir(dir).map_err(io)?;
        let mut keys = load_dir(dir)?;
        if keys.is_empty() {
            // A fixed first kid: nodes starting together on one empty shared
            // directory race on create_new and all end up with the same key.
            // Rotated keys are named by date, which sorts after it.
            write_new_key(dir, FIRST_KID)?;
            keys = load_dir(dir)?;
        }
        Self::from_keys(keys)
    }

    /// A ring from raw key bytes (tests and tools).
    pub fn from_secrets(secrets: &[(&str, &[u8])]) -> Result<Self, KeyRingError> {
        let keys = secrets
            .iter()
            .map(|(kid, bytes)| Ok(((*kid).to_owned(), key_from_bytes(bytes)?)))
            .collect::<Result<_, KeyRingError>>()?;
        Self::from_keys(keys)
    }

    fn from_keys(keys: HashMap<String, Key>) -> Result<Self, KeyRingError> {
        let active = keys
            .keys()
            .max()
            .cloned()
            .ok_or_else(|| KeyRingError::BadKey {
                path: PathBuf::from("(empty key ring)"),
            })?;
        Ok(Self { keys, active })
    }

    pub fn active_kid(&self) -> &str {
        &self.active
    }

    pub fn sign(&self, claims: &AccessClaims) -> Result<String, TokenError> {
        self.sign_claims(claims)
    }

    pub fn sign_binding(&self, claims: &BindingClaims) -> Result<String, TokenError> {
        self.sign_claims(claims)
    }

    fn sign_claims(&self, claims: &impl Serialize) -> Result<String, TokenError> {
        let mut header = Header::new(ALGORITHM);
        header.kid = Some(self.active.clone());
        let key = self.keys.get(&self.active).ok_or(TokenError::UnknownKey)?;
        jsonwebtoken::encode(&header, claims, &key.encoding)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    /// The public keys phones verify NFC dial payloads with, one per ring
    /// key, by kid.
    pub fn dial_keys(&self) -> Vec<DialKey> {
        let mut keys: Vec<DialKey> = self
            .keys
            .iter()
            .map(|(kid, key)| DialKey {
                kid: kid.clone(),
                public_key: key.dial.public.clone(),
            })
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        keys
    }

    /// A dial payload signed by the active key's dial key pair.
    pub fn sign_dial(&self, claims: &DialClaims) -> Result<String, TokenError> {
        let key = self.keys.get(&self.active).ok_or(TokenError::UnknownKey)?;
        crate::dial_payload::sign(claims, &self.active, &key.dial.private)
            .map_err(|e| TokenError::Invalid(e.to_string()))
    }

    pub fn verify(&self, token: &str) -> Result<AccessClaims, TokenError> {
        let claims: AccessClaims = self.verify_claims(token, AUDIENCE)?;
        if claims.typ != ACCESS_TYPE {
            return Err(TokenError::WrongType);
        }
        Ok(claims)
    }

    /// An NFC binding token for a redeemer of `org`: signature, issuer,
    /// audience, type, organisation, then expiry, in that order, so another
    /// organisation's token is `Invalid` whether or not it has expired.
    /// Single use is the database's part.
    pub fn verify_binding(&self, token: &str, org: OrgId) -> Result<BindingClaims, TokenError> {
        let mut validation = validation(BINDING_AUDIENCE);
        validation.validate_exp = false;
        let claims: BindingClaims = self.decode(token, &validation)?;
        if claims.typ != BINDING_TYPE {
            return Err(TokenError::WrongType);
        }
        if claims.org != org {
            return Err(TokenError::Invalid("another organisation's token".into()));
        }
        if claims.exp + LEEWAY_SECS < chrono::Utc::now().timestamp() {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    fn verify_claims<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        audience: &str,
    ) -> Result<C, TokenError> {
        self.decode(token, &validation(audience))
    }

    fn decode<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
    ) -> Result<C, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.ok_or(TokenError::UnknownKey)?;
        let key = self.keys.get(&kid).ok_or(TokenError::UnknownKey)?;
        let data =
            jsonwebtoken::decode::<C>(token, &key.decoding, validation).map_err(|e| {
                match e.kind() {
                    jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                    other => TokenError::Invalid(format!("{other:?}")),
                }
            })?;
        Ok(data.claims)
    }
}

fn validation(audience: &str) -> Validation {
    let mut v = Validation::new(ALGORITHM);
    v.algorithms = vec![ALGORITHM];
    v.set_issuer(&[ISSUER]);
    v.set_audience(&[audience]);
    v.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    v.validate_exp = true;
    v.leeway = LEEWAY_SECS as u64;
    v
}

fn key_from_bytes(bytes: &[u8]) -> Result<Key, KeyRingError> {
    Ok(Key {
        encoding: EncodingKey::from_secret(bytes),
        decoding: DecodingKey::from_secret(bytes),
        dial: dial_signer(bytes)?,
    })
}

/// The Ed25519 seed is HKDF-SHA256 of the ring key (salt and info fixed):
/// nothing more to store or distribute, nodes sharing the ring agree, and
/// the pair rotates with the ring key.
fn dial_signer(ring_key: &[u8]) -> Result<DialSigner, KeyRingError> {
    let failed = || KeyRingError::BadKey {
        path: PathBuf::from("(dial key derivation)"),
    };
    let mut seed = [0u8; 32];
    Hkdf::<Sha256>::new(Some(DIAL_KEY_SALT), ring_key)
        .expand(b"ed25519 seed", &mut seed)
        .map_err(|_| failed())?;
    let signing = SigningKey::from_bytes(&seed);
    let der = signing.to_pkcs8_der().map_err(|_| failed())?;
    Ok(DialSigner {
        private: EncodingKey::from_ed_der(der.as_bytes()),
        public: signing.verifying_key().to_bytes().to_vec(),
    })
}

fn load_dir(dir: &Path) -> Result<HashMap<String, Key>, KeyRingError> {
    let io = |source| KeyRingError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut keys = HashMap::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("key") {
            continue;
        }
        let Some(kid) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else {
            continue;
        };
        let text = std::fs::read_to_string(&path).map_err(|source| KeyRingError::Io {
            path: path.clone(),
            source,
        })?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| KeyRingError::BadKey { path: path.clone() })?;
        if bytes.len() != KEY_BYTES {
            return Err(KeyRingError::BadKey { path });
        }
        keys.insert(kid, key_from_bytes(&bytes)?);
    }
    Ok(keys)
}

fn write_new_key(dir: &Path, kid: &str) -> Result<(), KeyRingError> {
    let path = dir.join(format!("{kid}.key"));
    let secret = super::secrets::random_bytes::<KEY_BYTES>()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(&path) {
        Ok(mut file) => file
            .write_all(URL_SAFE_NO_PAD.encode(secret).as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|source| KeyRingError::Io { path, source }),
        // Another process created it first: theirs is as good as ours.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(KeyRingError::Io { path, source }),
    }
}

fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(typ: &str, exp_offset: i64) -> AccessClaims {
        let now = chrono::Utc::now().timestamp();
        AccessClaims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: UserId::new(),
            org: OrgId::new(),
            sid: SessionId::new(),
            typ: typ.into(),
            iat: now,
            exp: now + exp_offset,
        }
    }

    #[test]
    fn key_files_are_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let keys = dir.path().join("keys");
        let first = KeyRing::load_or_create(&keys).unwrap();
        let token = first.sign(&claims(ACCESS_TYPE, 60)).unwrap();
        let again = KeyRing::load_or_create(&keys).unwrap();
        assert_eq!(again.active_kid(), first.active_kid());
        assert!(
            again.verify(&token).is_ok(),
            "a restart must accept tokens signed before it"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let file = keys.join(format!("{}.key", first.active_kid()));
            assert_eq!(
                std::fs::metadata(file).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }

    #[test]
    fn rotation_keeps_old_tokens_valid_and_signs_with_the_newest() {
        let old = KeyRing::from_secrets(&[("a", &[1u8; 32])]).unwrap();
        let token = old.sign(&claims(ACCESS_TYPE, 60)).unwrap();
        let rotated = KeyRing::from_secrets(&[("a", &[1u8; 32]), ("b", &[2u8; 32])]).unwrap();
        assert_eq!(rotated.active_kid(), "b");
        assert!(rotated.verify(&token).is_ok());
        let retired = KeyRing::from_secrets(&[("b", &[2u8; 32])]).unwrap();
        assert_eq!(retired.verify(&token), Err(TokenError::UnknownKey));
    }

    #[test]
    fn dial_keys_are_public_derived_and_follow_rotation() {
        use crate::dial_payload;
        use crate::ids::DialId;
        let ring = KeyRing::from_secrets(&[("a", &[1u8; 32]), ("b", &[2u8; 32])]).unwrap();
        let keys = ring.dial_keys();
        assert_eq!(
            keys.iter().map(|k| k.kid.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_ne!(keys[0].public_key, keys[1].public_key);
        // Derived, not random: a restart or another node gives the same.
        let again = KeyRing::from_secrets(&[("a", &[1u8; 32]), ("b", &[2u8; 32])]).unwrap();
        assert_eq!(keys, again.dial_keys());
        // The public key is not the ring secret.
        assert_ne!(keys[0].public_key, vec![1u8; 32]);
        let (phone, other) = (PhoneId::new(), PhoneId::new());
        let now = chrono::Utc::now().timestamp();
        let claims = DialClaims::new(
            phone,
            OrgId::new(),
            DialId::new(),
            "+4930901820",
            now,
            now + 60,
        );
        let token = ring.sign_dial(&claims).unwrap();
        assert_eq!(
            dial_payload::verify(&token, &keys, phone, now),
            Ok(claims.clone())
        );
        assert_eq!(
            dial_payload::verify(&token, &keys, other, now),
            Err(dial_payload::DialPayloadError::WrongPhone)
        );
        // An access-token check refuses it.
        assert!(ring.verify(&token).is_err());
        // A phone that has only the old key is told which one it lacks.
        assert_eq!(
            dial_payload::verify(&token, &keys[..1], phone, now),
            Err(dial_payload::DialPayloadError::UnknownKey { kid: "b".into() })
        );
    }

    #[test]
    fn binding_and_access_tokens_never_pass_for_each_other() {
        let ring = KeyRing::from_secrets(&[("k", &[7u8; 32])]).unwrap();
        let now = chrono::Utc::now().timestamp();
        let binding = BindingClaims {
            iss: ISSUER.into(),
            aud: BINDING_AUDIENCE.into(),
            sub: PhoneId::new(),
            org: OrgId::new(),
            jti: BindingTokenId::new(),
            typ: BINDING_TYPE.into(),
            iat: now,
            exp: now + 60,
        };
        let token = ring.sign_binding(&binding).unwrap();
        assert_eq!(ring.verify_binding(&token, binding.org).unwrap(), binding);
        assert!(ring.verify(&token).is_err());
        let access = ring.sign(&claims(ACCESS_TYPE, 60)).unwrap();
        assert!(ring.verify_binding(&access, binding.org).is_err());
        let mut tampered = token.clone().into_bytes();
        let i = tampered.len() - 3;
        tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert!(ring.verify_binding(&tampered, binding.org).is_err());
        // Another organisation's token is invalid, expired or not.
        let expired = ring
            .sign_binding(&BindingClaims {
                exp: now - 60,
                ..binding.clone()
            })
            .unwrap();
        assert_eq!(
            ring.verify_binding(&expired, binding.org),
            Err(TokenError::Expired)
        );
        assert!(matches!(
            ring.verify_binding(&expired, OrgId::new()),
            Err(TokenError::Invalid(_))
        ));
    }

    #[test]
    fn rejects_expired_and_wrong_type() {
        let ring = KeyRing::from_secrets(&[("k", &[7u8; 32])]).unwrap();
        let expired = ring.sign(&claims(ACCESS_TYPE, -60)).unwrap();
        assert_eq!(ring.verify(&expired), Err(TokenError::Expired));
        let refresh = ring.sign(&claims("refresh", 60)).unwrap();
        assert_eq!(ring.verify(&refresh), Err(TokenError::WrongType));
    }
}
