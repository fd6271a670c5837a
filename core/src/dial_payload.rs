//! The signed dial payload: what the app hands a desk phone over NFC so the
//! phone dials without hearing from the server (docs/dialing.md, "Over NFC").
//!
//! A compact JWS signed with Ed25519 (`EdDSA`) by a key the server derives
//! from each key of its signing ring (`KeyRing::dial_keys`). Phones get only
//! the public keys, so no phone, and no one who steals what a phone holds,
//! can make a payload; a payload names its phone (`sub`) and any other phone
//! refuses it. A standard JWT, so a phone that does not run the SDK can
//! verify it with any JWT library.
//!
//! The server signs ([`sign`]); the phone verifies ([`verify`]) with the
//! public keys it fetched from `GET /v1/phone/dial-keys`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ids::{DialId, OrgId, PhoneId};

pub const ISSUER: &str = "deskbind";
/// Neither an access nor a binding token passes for a dial payload.
pub const AUDIENCE: &str = "deskbind-phone-dial";
pub const DIAL_TYPE: &str = "nfc_dial";
const ALGORITHM: Algorithm = Algorithm::EdDSA;
/// `ALGORITHM` as JWS names it, in the key list phones fetch.
pub const ALGORITHM_NAME: &str = "EdDSA";
/// Clock skew tolerated between the server and the phone on `exp`.
pub const LEEWAY_SECS: i64 = 5;
/// An Ed25519 public key.
pub const KEY_BYTES: usize = 32;

/// What the payload says: this phone, dial this number for this command,
/// before `exp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DialClaims {
    pub iss: String,
    pub aud: String,
    /// The phone that may dial.
    pub sub: PhoneId,
    pub org: OrgId,
    /// The dial command: the phone acks and reports it by this id, and
    /// dials it once however many ways it arrives.
    pub jti: DialId,
    /// The number, E.164.
    pub num: String,
    pub iat: i64,
    /// The command's own expiry: a payload read later is never dialed.
    pub exp: i64,
    pub typ: String,
}

impl DialClaims {
    pub fn new(phone: PhoneId, org: OrgId, dial: DialId, number: &str, iat: i64, exp: i64) -> Self {
        Self {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: phone,
            org,
            jti: dial,
            num: number.to_owned(),
            iat,
            exp,
            typ: DIAL_TYPE.to_owned(),
        }
    }
}

/// A public key phones verify dial payloads with, named by the ring key
/// it was derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialKey {
    pub kid: String,
    /// The Ed25519 public key ([`KEY_BYTES`] bytes).
    pub public_key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialPayloadError {
    #[error("the dial payload is not a signed token")]
    Malformed,
    /// Signed by a key the phone does not hold: fetch its keys again.
    #[error("the dial payload is signed by key {kid:?}, which this phone does not hold")]
    UnknownKey { kid: String },
    #[error("the dial payload's signature or claims are wrong: {0}")]
    Invalid(String),
    #[error("the dial payload is for another phone")]
    WrongPhone,
    #[error("the dial payload expired")]
    Expired,
    #[error("a dial key must be {KEY_BYTES} bytes")]
    BadKey,
    #[error("could not sign the dial payload: {0}")]
    Signing(String),
}

/// The payload for `claims`, signed by `private_key` (an Ed25519 key in
/// PKCS#8 DER) and naming `kid`.
pub fn sign(
    claims: &DialClaims,
    kid: &str,
    private_key: &EncodingKey,
) -> Result<String, DialPayloadError> {
    let mut header = Header::new(ALGORITHM);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, private_key)
        .map_err(|e| DialPayloadError::Signing(e.to_string()))
}

/// Checks a payload read over NFC by phone `phone` at `now` (Unix seconds):
/// algorithm (EdDSA only), signature by one of `keys`, issuer, audience,
/// type, phone, then expiry, in that order, so a payload for another phone
/// is refused as such whether or not it has expired.
pub fn verify(
    token: &str,
    keys: &[DialKey],
    phone: PhoneId,
    now: i64,
) -> Result<DialClaims, DialPayloadError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| DialPayloadError::Malformed)?;
    let kid = header.kid.ok_or(DialPayloadError::Malformed)?;
    let key = keys
        .iter()
        .find(|k| k.kid == kid)
        .ok_or(DialPayloadError::UnknownKey { kid })?;
    // jsonwebtoken slices the first 32 bytes without checking the length.
    if key.public_key.len() != KEY_BYTES {
        return Err(DialPayloadError::BadKey);
    }
    let mut validation = Validation::new(ALGORITHM);
    validation.algorithms = vec![ALGORITHM];
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    // Checked below against the caller's clock, so tests and phones with
    // their own time source agree.
    validation.validate_exp = false;
    let claims = jsonwebtoken::decode::<DialClaims>(
        token,
        &DecodingKey::from_ed_der(&key.public_key),
        &validation,
    )
    .map_err(|e| DialPayloadError::Invalid(format!("{:?}", e.kind())))?
    .claims;
    if claims.typ != DIAL_TYPE {
        return Err(DialPayloadError::Invalid("not a dial payload".into()));
    }
    if claims.sub != phone {
        return Err(DialPayloadError::WrongPhone);
    }
    if claims.exp + LEEWAY_SECS < now {
        return Err(DialPayloadError::Expired);
    }
    Ok(claims)
}

#[cfg(all(test, feature = "server"))]
mod tests {
    use ed25519_dalek::SigningKey;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;

    use super::*;

    /// (private key for signing, public key for verifying).
    fn pair(kid: &str, seed: u8) -> (EncodingKey, DialKey) {
        let signing = SigningKey::from_bytes(&[seed; 32]);
        let der = signing.to_pkcs8_der().map(|d| d.as_bytes().to_vec());
        let public = DialKey {
            kid: kid.to_owned(),
            public_key: signing.verifying_key().to_bytes().to_vec(),
        };
        (EncodingKey::from_ed_der(&der.unwrap_or_default()), public)
    }

    fn claims(phone: PhoneId, exp: i64) -> DialClaims {
        DialClaims::new(
            phone,
            OrgId::new(),
            DialId::new(),
            "+4930901820",
            1_000,
            exp,
        )
    }

    #[test]
    fn round_trips_and_checks_phone_key_and_expiry() -> Result<(), DialPayloadError> {
        let phone = PhoneId::new();
        let (private_b, public_b) = pair("b", 1);
        let (_, public_a) = pair("a", 9);
        let signed = claims(phone, 2_000);
        let token = sign(&signed, "b", &private_b)?;
        let keys = [public_a.clone(), public_b];
        assert_eq!(verify(&token, &keys, phone, 2_000)?, signed);
        assert_eq!(verify(&token, &keys, phone, 2_005)?, signed);
        assert_eq!(
            verify(&token, &keys, phone, 2_006),
            Err(DialPayloadError::Expired)
        );
        assert_eq!(
            verify(&token, &keys, PhoneId::new(), 1_500),
            Err(DialPayloadError::WrongPhone)
        );
        assert_eq!(
            verify(&token, std::slice::from_ref(&public_a), phone, 1_500),
            Err(DialPayloadError::UnknownKey { kid: "b".into() })
        );
        // Same kid, another key.
        let impostor = DialKey {
            kid: "b".into(),
            ..public_a
        };
        assert!(matches!(
            verify(&token, &[impostor], phone, 1_500),
            Err(DialPayloadError::Invalid(_))
        ));
        Ok(())
    }

    #[test]
    fn a_changed_number_or_algorithm_is_refused() -> Result<(), DialPayloadError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let phone = PhoneId::new();
        let (private, public) = pair("a", 1);
        let keys = [public];
        let token = sign(&claims(phone, 2_000), "a", &private)?;
        let parts: Vec<&str> = token.split('.').collect();
        let body = URL_SAFE_NO_PAD
            .decode(parts[1])
            .map_err(|_| DialPayloadError::Malformed)?;
        let forged = String::from_utf8_lossy(&body).replace("+4930901820", "+4930901821");
        let token = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged),
            parts[2]
        );
        assert!(matches!(
            verify(&token, &keys, phone, 1_500),
            Err(DialPayloadError::Invalid(_))
        ));
        // HS256 "signed" with the public key (the classic confusion): refused.
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some("a".into());
        let confused = jsonwebtoken::encode(
            &header,
            &claims(phone, 2_000),
            &EncodingKey::from_secret(&keys[0].public_key),
        )
        .map_err(|e| DialPayloadError::Signing(e.to_string()))?;
        assert!(matches!(
            verify(&confused, &keys, phone, 1_500),
            Err(DialPayloadError::Invalid(_))
        ));
        assert_eq!(
            verify("not a token", &keys, phone, 1_500),
            Err(DialPayloadError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn refuses_keys_of_the_wrong_length() -> Result<(), DialPayloadError> {
        let phone = PhoneId::new();
        let (private, _) = pair("a", 1);
        let token = sign(&claims(phone, 2_000), "a", &private)?;
        let short = DialKey {
            kid: "a".into(),
            public_key: vec![1; 8],
        };
        assert_eq!(
            verify(&token, &[short], phone, 1_500),
            Err(DialPayloadError::BadKey)
        );
        Ok(())
    }
}
