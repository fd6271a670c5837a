//! Dialing from a signed payload the app hands the phone over NFC
//! (docs/dialing.md, "Over NFC"). The phone verifies it offline with the
//! server's public dial keys, fetched once and kept; a payload signed by a
//! key it lacks (the server rotated its keys) makes it fetch them again.
//! A verified dial goes into the phone's link like a relayed one, so it
//! reaches the dialer once however many ways it arrives.

use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use deskbind_core::dial_payload::{self, DialKey, DialPayloadError};
use deskbind_core::ids::{DialId, OrgId, PhoneId};
use deskbind_core::nfc::{self, NdefError};
use deskbind_core::wire::{DialKeyWire, DialKeys};
use reqwest::Method;
use tokio::sync::Mutex;

use crate::phone::PhoneClient;
use crate::{ClientError, Result};

/// A dial payload the phone verified: dial `number` for command
/// `command_id` before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NfcDial {
    pub command_id: DialId,
    pub number: String,
    pub phone_id: PhoneId,
    pub org_id: OrgId,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why the phone refused what it read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NfcDialError {
    #[error("not a deskbind dial message: {0}")]
    Ndef(NdefError),
    #[error(transparent)]
    Payload(DialPayloadError),
}

impl NfcDialError {
    /// A stable machine code, as the SDK reports it (docs/sdk.md).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Ndef(_) => "nfc_dial_unreadable",
            Self::Payload(DialPayloadError::Expired) => "nfc_dial_expired",
            Self::Payload(DialPayloadError::WrongPhone) => "nfc_dial_wrong_phone",
            Self::Payload(DialPayloadError::UnknownKey { .. }) => "nfc_dial_unknown_key",
            Self::Payload(DialPayloadError::Malformed) => "nfc_dial_unreadable",
            Self::Payload(_) => "nfc_dial_invalid",
        }
    }
}

/// The public keys one phone verifies dial payloads with, and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DialKeyring {
    phone_id: PhoneId,
    keys: Vec<DialKey>,
}

impl DialKeyring {
    /// From the server's answer (or a copy the phone kept).
    pub fn from_wire(wire: &DialKeys) -> Result<Self> {
        let keys = wire
            .keys
            .iter()
            .map(|k| {
                let public_key = URL_SAFE_NO_PAD
                    .decode(&k.public_key)
                    .ok()
                    .filter(|key| {
                        k.alg == dial_payload::ALGORITHM_NAME
                            && key.len() == dial_payload::KEY_BYTES
                    })
                    .ok_or_else(|| ClientError::Decode(format!("dial key {:?}", k.kid)))?;
                Ok(DialKey {
                    kid: k.kid.clone(),
                    public_key,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            phone_id: wire.phone_id,
            keys,
        })
    }

    /// What to keep (public keys: integrity matters, secrecy does not) to
    /// verify offline after a restart.
    pub fn to_wire(&self) -> DialKeys {
        DialKeys {
            phone_id: self.phone_id,
            keys: self
                .keys
                .iter()
                .map(|k| DialKeyWire {
                    kid: k.kid.clone(),
                    alg: dial_payload::ALGORITHM_NAME.into(),
                    public_key: URL_SAFE_NO_PAD.encode(&k.public_key),
                })
                .collect(),
        }
    }

    pub fn phone_id(&self) -> PhoneId {
        self.phone_id
    }

    /// Reads and verifies an NDEF message from the app at `now`.
    pub fn verify_ndef(
        &self,
        ndef: &[u8],
        now: DateTime<Utc>,
    ) -> std::result::Result<NfcDial, NfcDialError> {
        let payload = nfc::decode_dial_payload(ndef).map_err(NfcDialError::Ndef)?;
        self.verify_payload(&payload, now)
    }

    /// Verifies the signed payload itself (from the NDEF record, or a QR code).
    pub fn verify_payload(
        &self,
        payload: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<NfcDial, NfcDialError> {
        let claims = dial_payload::verify(payload, &self.keys, self.phone_id, now.timestamp())
            .map_err(NfcDialError::Payload)?;
        let instant = |secs: i64| DateTime::from_timestamp(secs, 0).unwrap_or(DateTime::UNIX_EPOCH);
        Ok(NfcDial {
            command_id: claims.jti,
            number: claims.num,
            phone_id: claims.sub,
            org_id: claims.org,
            issued_at: instant(claims.iat),
            expires_at: instant(claims.exp),
        })
    }
}

/// The phone's keyring, shared by the clones of its client.
pub(crate) type KeyringCache = Arc<Mutex<Option<DialKeyring>>>;

impl PhoneClient {
    /// Fetches this phone's dial keys and keeps them for
    /// [`PhoneClient::verify_dial_ndef`]; keep [`DialKeyring::to_wire`] to
    /// verify offline after a restart.
    pub async fn fetch_dial_keys(&self) -> Result<DialKeyring> {
        let wire: DialKeys = self
            .call(Method::GET, "v1/phone/dial-keys", None::<&()>)
            .await?;
        let keyring = DialKeyring::from_wire(&wire)?;
        *self.dial_keys().lock().await = Some(keyring.clone());
        Ok(keyring)
    }

    /// Uses keys kept from an earlier [`PhoneClient::fetch_dial_keys`].
    pub async fn set_dial_keys(&self, keyring: DialKeyring) {
        *self.dial_keys().lock().await = Some(keyring);
    }

    /// Verifies an NDEF message the app handed over. Offline with the keys
    /// held; fetches them when there are none, or once more when the
    /// payload names a key the phone lacks.
    pub async fn verify_dial_ndef(&self, ndef: &[u8]) -> Result<NfcDial> {
        let payload = nfc::decode_dial_payload(ndef).map_err(NfcDialError::Ndef)?;
        self.verify_dial_payload(&payload).await
    }

    /// Verifies the signed payload itself (e.g. scanned from a QR code an
    /// iPhone shows, since iOS cannot emulate a tag), as
    /// [`PhoneClient::verify_dial_ndef`] does.
    pub async fn verify_dial_payload(&self, payload: &str) -> Result<NfcDial> {
        let held = self.dial_keys().lock().await.clone();
        let (keyring, fresh) = match held {
            Some(keyring) => (keyring, false),
            None => (self.fetch_dial_keys().await?, true),
        };
        match keyring.verify_payload(payload, Utc::now()) {
            Err(NfcDialError::Payload(DialPayloadError::UnknownKey { .. })) if !fresh => {
                let fresh = self.fetch_dial_keys().await?;
                Ok(fresh.verify_payload(payload, Utc::now())?)
            }
            verified => Ok(verified?),
        }
    }
}
