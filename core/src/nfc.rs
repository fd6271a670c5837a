//! The NFC payload codec shared by the server (which hands out the bytes to
//! expose), the phone and the app: one NDEF message (NFC Forum NDEF 1.0)
//! holding an external-type record, `deskbind.app:bind` whose payload is a
//! binding token (phone to app) or `deskbind.app:dial` whose payload is a
//! signed dial payload (app to phone, see `dial_payload`).
//!
//! Written by hand: NDEF records are a few header bytes, the crates that
//! offer them are unmaintained or pull in platform NFC stacks, and the codec
//! must build for the SDK without the server's dependencies
//! (docs/decisions/0002-hand-written-parts.md).

use std::fmt;

/// The external type of the binding-token record (TNF 0x04).
pub const BINDING_RECORD_TYPE: &str = "deskbind.app:bind";
/// The external type of the signed dial payload record (TNF 0x04).
pub const DIAL_RECORD_TYPE: &str = "deskbind.app:dial";
/// Bounds a payload so a corrupt length can never make a reader allocate much.
pub const MAX_TOKEN_BYTES: usize = 4096;

const MB: u8 = 0x80;
const ME: u8 = 0x40;
const CF: u8 = 0x20;
const SR: u8 = 0x10;
const IL: u8 = 0x08;
const TNF_MASK: u8 = 0x07;
const TNF_EXTERNAL: u8 = 0x04;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NdefError {
    Empty,
    /// The bytes end inside a record.
    Truncated,
    /// The first record lacks the message-begin flag, or a record follows the message end.
    BadFraming,
    /// Chunked records are not used by deskbind.
    Chunked,
    /// The message has no record of the expected deskbind type.
    MissingRecord {
        kind: &'static str,
    },
    /// The record's payload is empty, too long or not UTF-8.
    BadToken,
}

impl fmt::Display for NdefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "the NDEF message is empty",
            Self::Truncated => "the NDEF message ends inside a record",
            Self::BadFraming => "the NDEF message begin/end flags are wrong",
            Self::Chunked => "chunked NDEF records are not supported",
            Self::MissingRecord { kind } => {
                return write!(f, "the NDEF message holds no {kind} record");
            }
            Self::BadToken => "the deskbind record's payload is empty, too long or not UTF-8",
        })
    }
}

impl std::error::Error for NdefError {}

/// One NDEF message with one record carrying binding token `token`.
pub fn encode_binding_token(token: &str) -> Result<Vec<u8>, NdefError> {
    encode_external(BINDING_RECORD_TYPE, token)
}

/// The binding token in an NDEF message read from a tag or by card
/// emulation. Other records (an Android Application Record, say) are skipped.
pub fn decode_binding_token(message: &[u8]) -> Result<String, NdefError> {
    decode_external(message, BINDING_RECORD_TYPE)
}

/// One NDEF message with one record carrying signed dial payload `payload`.
pub fn encode_dial_payload(payload: &str) -> Result<Vec<u8>, NdefError> {
    encode_external(DIAL_RECORD_TYPE, payload)
}

/// The signed dial payload in an NDEF message the phone read from the app.
pub fn decode_dial_payload(message: &[u8]) -> Result<String, NdefError> {
    decode_external(message, DIAL_RECORD_TYPE)
}

fn encode_external(kind: &'static str, text: &str) -> Result<Vec<u8>, NdefError> {
    if text.is_empty() || text.len() > MAX_TOKEN_BYTES {
        return Err(NdefError::BadToken);
    }
    Ok(encode_record(
        MB | ME,
        TNF_EXTERNAL,
        kind.as_bytes(),
        text.as_bytes(),
    ))
}

fn encode_record(flags: u8, tnf: u8, kind: &[u8], payload: &[u8]) -> Vec<u8> {
    let short = payload.len() <= usize::from(u8::MAX);
    let mut out = Vec::with_capacity(6 + kind.len() + payload.len());
    out.push(flags | if short { SR } else { 0 } | tnf);
    // Record types are short constants; lengths fit by construction.
    out.push(u8::try_from(kind.len()).unwrap_or(u8::MAX));
    if short {
        out.push(u8::try_from(payload.len()).unwrap_or(u8::MAX));
    } else {
        out.extend_from_slice(
            &u32::try_from(payload.len())
                .unwrap_or(u32::MAX)
                .to_be_bytes(),
        );
    }
    out.extend_from_slice(kind);
    out.extend_from_slice(payload);
    out
}

/// The text of the first external record of type `kind` (types compare
/// case-insensitively, as NFC Forum RTD 1.0 says).
fn decode_external(message: &[u8], kind: &'static str) -> Result<String, NdefError> {
    let mut found = None;
    for record in records(message)? {
        if record.tnf == TNF_EXTERNAL
            && record.kind.eq_ignore_ascii_case(kind.as_bytes())
            && found.is_none()
        {
            found = Some(record.payload);
        }
    }
    let payload = found.ok_or(NdefError::MissingRecord { kind })?;
    if payload.is_empty() || payload.len() > MAX_TOKEN_BYTES {
        return Err(NdefError::BadToken);
    }
    String::from_utf8(payload.to_vec()).map_err(|_| NdefError::BadToken)
}

struct Record<'a> {
    tnf: u8,
    kind: &'a [u8],
    payload: &'a [u8],
}

fn records(message: &[u8]) -> Result<Vec<Record<'_>>, NdefError> {
    if message.is_empty() {
        return Err(NdefError::Empty);
    }
    let mut rest = message;
    let mut out = Vec::new();
    loop {
        let (record, flags, tail) = read_record(rest)?;
        if (out.is_empty()) != (flags & MB != 0) {
            return Err(NdefError::BadFraming);
        }
        out.push(record);
        rest = tail;
        if flags & ME != 0 {
            return if rest.is_empty() {
                Ok(out)
            } else {
                Err(NdefError::BadFraming)
            };
        }
        if rest.is_empty() {
            return Err(NdefError::Truncated);
        }
    }
}

fn read_record(bytes: &[u8]) -> Result<(Record<'_>, u8, &[u8]), NdefError> {
    let mut cursor = Cursor(bytes);
    let flags = cursor.byte()?;
    if flags & CF != 0 {
        return Err(NdefError::Chunked);
    }
    let type_len = usize::from(cursor.byte()?);
    let payload_len = if flags & SR != 0 {
        usize::from(cursor.byte()?)
    } else {
        let raw = cursor.take(4)?;
        usize::try_from(u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]))
            .map_err(|_| NdefError::Truncated)?
    };
    let id_len = if flags & IL != 0 {
        usize::from(cursor.byte()?)
    } else {
        0
    };
    let kind = cursor.take(type_len)?;
    cursor.take(id_len)?;
    let payload = cursor.take(payload_len)?;
    Ok((
        Record {
            tnf: flags & TNF_MASK,
            kind,
            payload,
        },
        flags,
        cursor.0,
    ))
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn byte(&mut self) -> Result<u8, NdefError> {
        Ok(self.take(1)?[0])
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], NdefError> {
        if self.0.len() < n {
            return Err(NdefError::Truncated);
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_record_layout_is_the_ndef_one() {
        let bytes = encode_binding_token("abc").unwrap_or_default();
        // MB|ME|SR|TNF=4, type length 17, payload length 3, type, payload.
        assert_eq!(bytes[..3], [0xD4, 17, 3]);
        assert_eq!(&bytes[3..20], BINDING_RECORD_TYPE.as_bytes());
        assert_eq!(&bytes[20..], b"abc");
        assert_eq!(decode_binding_token(&bytes), Ok("abc".to_owned()));
    }

    #[test]
    fn long_tokens_use_a_four_byte_length() {
        let token = "x".repeat(400);
        let bytes = encode_binding_token(&token).unwrap_or_default();
        assert_eq!(bytes[0], 0xC4);
        assert_eq!(bytes[2..6], 400u32.to_be_bytes());
        assert_eq!(decode_binding_token(&bytes), Ok(token));
    }

    #[test]
    fn skips_other_records_and_ids() {
        let aar = encode_record(MB, TNF_EXTERNAL, b"android.com:pkg", b"app.deskbind");
        // A record with an id field (IL) and a different-case type.
        let mut ours = vec![ME | SR | IL | TNF_EXTERNAL, 17, 2, 1];
        ours.extend_from_slice(b"DESKBIND.APP:BIND");
        ours.push(b'7');
        ours.extend_from_slice(b"tk");
        let message = [aar, ours].concat();
        assert_eq!(decode_binding_token(&message), Ok("tk".to_owned()));
    }

    #[test]
    fn dial_payloads_have_their_own_record_type() {
        let bytes = encode_dial_payload("a.b.c").unwrap_or_default();
        assert_eq!(&bytes[3..20], DIAL_RECORD_TYPE.as_bytes());
        assert_eq!(decode_dial_payload(&bytes), Ok("a.b.c".to_owned()));
        // Neither kind of record passes for the other.
        assert_eq!(
            decode_binding_token(&bytes),
            Err(NdefError::MissingRecord {
                kind: BINDING_RECORD_TYPE
            })
        );
        let binding = encode_binding_token("a.b.c").unwrap_or_default();
        assert_eq!(
            decode_dial_payload(&binding),
            Err(NdefError::MissingRecord {
                kind: DIAL_RECORD_TYPE
            })
        );
    }

    #[test]
    fn rejects_broken_messages() {
        let good = encode_binding_token("token").unwrap_or_default();
        assert_eq!(decode_binding_token(&[]), Err(NdefError::Empty));
        assert_eq!(
            decode_binding_token(&good[..good.len() - 1]),
            Err(NdefError::Truncated)
        );
        let mut chunked = good.clone();
        chunked[0] |= CF;
        assert_eq!(decode_binding_token(&chunked), Err(NdefError::Chunked));
        let mut no_begin = good.clone();
        no_begin[0] &= !MB;
        assert_eq!(decode_binding_token(&no_begin), Err(NdefError::BadFraming));
        let trailing = [good.clone(), vec![0]].concat();
        assert_eq!(decode_binding_token(&trailing), Err(NdefError::BadFraming));
        let uri = encode_record(MB | ME, 0x01, b"U", b"\x04deskbind.app");
        assert_eq!(
            decode_binding_token(&uri),
            Err(NdefError::MissingRecord {
                kind: BINDING_RECORD_TYPE
            })
        );
        let mut not_utf8 = encode_binding_token("ab").unwrap_or_default();
        let last = not_utf8.len() - 1;
        not_utf8[last] = 0xFF;
        assert_eq!(decode_binding_token(&not_utf8), Err(NdefError::BadToken));
        assert_eq!(encode_binding_token(""), Err(NdefError::BadToken));
    }
}
