//! The signed dial payload: what the app hands a desk phone over NFC so the
//! phone dials without hearing from the server (docs/dialing.md, "Over NFC").
//!
//! A compact JWS (HS256) whose key is the phone's own dial key, derived by
//! the server from its signing key ring for that phone alone (see
//! `KeyRing::dial_keys`): a phone can verify payloads meant for it, and a
//! phone's key cannot sign for another phone. A standard JWT, so a phone
//! that does not run the SDK can verify it with any JWT library.
//!
//! The server signs ([`sign`]); the phone verifies ([`verify`]) with the
//! keys it fetched from `GET /v1/phone/dial-keys`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::ids::{DialId, OrgId, PhoneId};

pub const ISSUER: &str = "deskbind";
/// Neither an access nor a binding token passes for a dial payload.
pub const AUDIENCE: &str = "deskbind-phone-dial";
pub const DIAL_TYPE: &str = "nfc_dial";
const ALGORITHM: Algorithm = Algorithm::HS256;
/// Clock skew tolerated between the server and the phone on `exp`.
pub const LEEWAY_SECS: i64 = 5;
/// Bounds the key a phone is handed and accepts.
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

/// One of a phone's dial keys, named by the ring key it was derived from.
#[derive(Clone, PartialEq, Eq)]
pub struct DialKey {
    pub kid: String,
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for DialKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DialKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
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

/// The payload for `claims`, signed with the phone's key `key`.
pub fn sign(claims: &DialClaims, key: &DialKey) -> Result<String, DialPayloadError> {
    if key.secret.len() != KEY_BYTES {
        return Err(DialPayloadError::BadKey);
    }
    let mut header = Header::new(ALGORITHM);
    header.kid = Some(key.kid.clone());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_secret(&key.secret))
        .map_err(|e| DialPayloadError::Signing(e.to_string()))
}

/// Checks a payload read over NFC by phone `phone` at `now` (Unix seconds):
/// signature by one of `keys`, algorithm, issuer, audience, type, phone,
/// then expiry, in that order, so a payload for another phone is refused
/// as such whether or not it has expired.
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
        &DecodingKey::from_secret(&key.secret),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, byte: u8) -> DialKey {
        DialKey {
            kid: kid.to_owned(),
            secret: vec![byte; KEY_BYTES],
        }
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
        let signed = claims(phone, 2_000);
        let token = sign(&signed, &key("b", 1))?;
        let keys = [key("a", 9), key("b", 1)];
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
            verify(&token, &[key("a", 9)], phone, 1_500),
            Err(DialPayloadError::UnknownKey { kid: "b".into() })
        );
        // Same kid, another phone's secret.
        assert!(matches!(
            verify(&token, &[key("b", 2)], phone, 1_500),
            Err(DialPayloadError::Invalid(_))
        ));
        Ok(())
    }

    #[test]
    fn a_changed_number_breaks_the_signature() -> Result<(), DialPayloadError> {
        use base64::Engine as _;
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let phone = PhoneId::new();
        let token = sign(&claims(phone, 2_000), &key("a", 1))?;
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
            verify(&token, &[key("a", 1)], phone, 1_500),
            Err(DialPayloadError::Invalid(_))
        ));
        assert_eq!(
            verify("not a token", &[key("a", 1)], phone, 1_500),
            Err(DialPayloadError::Malformed)
        );
        Ok(())
    }

    #[test]
    fn refuses_short_keys() {
        let short = DialKey {
            kid: "a".into(),
            secret: vec![1; 8],
        };
        assert_eq!(
            sign(&claims(PhoneId::new(), 2_000), &short),
            Err(DialPayloadError::BadKey)
        );
    }
}
