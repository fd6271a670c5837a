//! Checking that a recognised container really holds audio, as far as its
//! first bytes can tell: the magic bytes alone accept a WAV header followed
//! by anything. Only the leading bytes are read (the upload is not decoded):
//!
//! - WAV: RIFF/WAVE, a `fmt ` chunk with a sane format before a `data`
//!   chunk, and the `data` chunk fits the file (a size of 0 or 0xFFFFFFFF,
//!   left by recorders that never filled it in, means "to the end").
//! - MP3: a frame header at the start (after an optional ID3v2 tag) and
//!   another one exactly where the first frame's header says the next
//!   frame begins.
//! - Ogg: the first page is a beginning-of-stream page whose CRC matches.
//!
//! AMR and M4A are accepted on their magic bytes.

use crate::wire::RecordingFormat;

/// Bytes after an ID3v2 tag that [`mp3`] needs: a frame header, the longest
/// possible frame (2,881 bytes), and the next header.
pub const MP3_FRAME_WINDOW: usize = 4096;

/// Why the bytes are not the audio their magic says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

fn malformed(what: impl Into<String>) -> Result<(), Malformed> {
    Err(Malformed(what.into()))
}

/// Checks a file of `format` from its `prefix` (its first bytes),
/// `frames` (the bytes from the end of an ID3v2 tag on, for MP3) and its
/// total size.
pub fn check(
    format: RecordingFormat,
    prefix: &[u8],
    frames: &[u8],
    total_size: u64,
) -> Result<(), Malformed> {
    match format {
        RecordingFormat::Wav => wav(prefix, total_size),
        RecordingFormat::Mp3 => mp3(frames),
        RecordingFormat::Ogg => ogg(prefix),
        RecordingFormat::Amr | RecordingFormat::M4a => Ok(()),
    }
}

fn le16(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn le32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn wav(prefix: &[u8], total_size: u64) -> Result<(), Malformed> {
    if prefix.get(0..4) != Some(b"RIFF") || prefix.get(8..12) != Some(b"WAVE") {
        return malformed("a WAV file starts with RIFF....WAVE");
    }
    let mut at = 12usize;
    let mut format_seen = false;
    loop {
        let (Some(id), Some(size)) = (prefix.get(at..at + 4), le32(prefix, at + 4)) else {
            return malformed("no data chunk in the WAV file's first 64 KiB");
        };
        let body = at + 8;
        match id {
            b"fmt " => {
                let sane = size >= 16
                    && le16(prefix, body).is_some_and(|tag| tag != 0)
                    && le16(prefix, body + 2).is_some_and(|channels| channels != 0)
                    && le32(prefix, body + 4).is_some_and(|rate| rate != 0)
                    && le32(prefix, body + 8).is_some_and(|bytes_per_sec| bytes_per_sec != 0)
                    && le16(prefix, body + 12).is_some_and(|align| align != 0);
                if !sane {
                    return malformed("the WAV fmt chunk does not describe audio");
                }
                format_seen = true;
            }
            b"data" => {
                if !format_seen {
                    return malformed("the WAV data chunk comes before any fmt chunk");
                }
                let available = total_size.saturating_sub(body as u64);
                let fits = match size {
                    0 | u32::MAX => available > 0,
                    n => n > 0 && u64::from(n) <= available,
                };
                if !fits {
                    return malformed(format!(
                        "the WAV data chunk says {size} bytes but the file has {available} after its header"
                    ));
                }
                return Ok(());
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = body
            .saturating_add(size as usize)
            .saturating_add(size as usize & 1);
    }
}

/// The length of an ID3v2 tag at the start of `head` (0 without one).
pub fn id3v2_len(head: &[u8]) -> u64 {
    let Some(header) = head.get(0..10).filter(|h| h.starts_with(b"ID3")) else {
        return 0;
    };
    // A "syncsafe" integer: 7 bits per byte.
    let size = header[6..10]
        .iter()
        .fold(0u64, |n, b| (n << 7) | u64::from(b & 0x7f));
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    10 + size + footer
}

/// An MPEG audio frame header: its version, layer and sample rate (which
/// the next frame repeats) and the frame's length in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FrameHeader {
    version: u8,
    layer: u8,
    sample_rate: u32,
    len: usize,
}

fn frame_header(bytes: &[u8]) -> Option<FrameHeader> {
    let h = bytes.get(0..4)?;
    if h[0] != 0xff || h[1] & 0xe0 != 0xe0 {
        return None;
    }
    let version = (h[1] >> 3) & 3; // 0: MPEG 2.5, 2: MPEG 2, 3: MPEG 1
    let layer = (h[1] >> 1) & 3; // 1: III, 2: II, 3: I
    let bitrate_index = usize::from(h[2] >> 4);
    let rate_index = usize::from((h[2] >> 2) & 3);
    let padding = usize::from((h[2] >> 1) & 1);
    if version == 1 || layer == 0 || bitrate_index == 0 || bitrate_index == 15 || rate_index == 3 {
        return None;
    }
    const KBPS: [[u16; 15]; 5] = [
        [
            0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448,
        ], // v1 L1
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
        ], // v1 L2
        [
            0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
        ], // v1 L3
        [
            0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256,
        ], // v2 L1
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160], // v2 L2, L3
    ];
    const RATES: [u32; 3] = [44_100, 48_000, 32_000];
    let table = match (version == 3, layer) {
        (true, 3) => 0,
        (true, 2) => 1,
        (true, _) => 2,
        (false, 3) => 3,
        (false, _) => 4,
    };
    let bitrate = u32::from(KBPS[table][bitrate_index]) * 1000;
    let sample_rate = RATES[rate_index]
        >> match version {
            3 => 0,
            2 => 1,
            _ => 2,
        };
    let per_frame = |samples_over_8: u32| (samples_over_8 * bitrate / sample_rate) as usize;
    let len = match (layer, version) {
        (3, _) => (per_frame(12) + padding) * 4,
        (2, _) | (1, 3) => per_frame(144) + padding,
        _ => per_frame(72) + padding,
    };
    Some(FrameHeader {
        version,
        layer,
        sample_rate,
        len,
    })
}

fn mp3(frames: &[u8]) -> Result<(), Malformed> {
    let Some(first) = frame_header(frames) else {
        return malformed("no MPEG audio frame where the MP3 file's audio starts");
    };
    let next = frames.get(first.len..).and_then(frame_header);
    if next.is_none_or(|n| {
        (n.version, n.layer, n.sample_rate) != (first.version, first.layer, first.sample_rate)
    }) {
        return malformed("the MP3 file's second frame is not where its first frame says");
    }
    Ok(())
}

/// CRC-32 of Ogg pages: polynomial 0x04C11DB7, initial value 0, not
/// reflected, no final xor.
fn ogg_crc(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0u32, |mut crc, &b| {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
        crc
    })
}

fn ogg(prefix: &[u8]) -> Result<(), Malformed> {
    let header_ok = prefix.get(0..4) == Some(b"OggS")
        && prefix.get(4) == Some(&0)
        && prefix.get(5).is_some_and(|flags| flags & 0x02 != 0);
    let Some(segments) = prefix
        .get(26)
        .map(|n| usize::from(*n))
        .filter(|_| header_ok)
    else {
        return malformed("the Ogg file does not start with a beginning-of-stream page");
    };
    let Some(table) = prefix.get(27..27 + segments) else {
        return malformed("the Ogg file's first page is cut short");
    };
    let page_len = 27 + segments + table.iter().map(|n| usize::from(*n)).sum::<usize>();
    let Some(page) = prefix.get(..page_len) else {
        return malformed("the Ogg file's first page is cut short");
    };
    let stored = le32(page, 22).unwrap_or_default();
    let mut zeroed = page.to_vec();
    zeroed[22..26].fill(0);
    if ogg_crc(&zeroed) != stored {
        return malformed("the CRC of the Ogg file's first page does not match");
    }
    Ok(())
}

/// Test samples: small valid files of each checked format.
pub mod samples {
    use super::ogg_crc;

    /// `frames` MPEG-1 Layer III frames (128 kbit/s, 44.1 kHz, 417 bytes
    /// each) of silence-like filler, after an ID3v2 tag of `tag_len`
    /// bytes of padding (none when 0).
    pub fn mp3(frames: usize, tag_len: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        if tag_len > 0 {
            bytes.extend_from_slice(b"ID3\x04\x00\x00");
            let syncsafe = [
                ((tag_len >> 21) & 0x7f) as u8,
                ((tag_len >> 14) & 0x7f) as u8,
                ((tag_len >> 7) & 0x7f) as u8,
                (tag_len & 0x7f) as u8,
            ];
            bytes.extend_from_slice(&syncsafe);
            bytes.resize(bytes.len() + tag_len as usize, 0);
        }
        for _ in 0..frames {
            let start = bytes.len();
            bytes.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
            bytes.resize(start + 417, 0x55);
        }
        bytes
    }

    /// One Ogg beginning-of-stream page carrying an OpusHead packet, with
    /// its CRC, then `extra` bytes.
    pub fn ogg(extra: &[u8]) -> Vec<u8> {
        let packet = b"OpusHead\x01\x01\x38\x01\x80\xbb\x00\x00\x00\x00\x00";
        let mut page = b"OggS\x00\x02".to_vec();
        page.extend_from_slice(&[0; 8]); // granule position
        page.extend_from_slice(&1u32.to_le_bytes()); // serial
        page.extend_from_slice(&0u32.to_le_bytes()); // sequence
        page.extend_from_slice(&[0; 4]); // CRC, filled in below
        page.push(1);
        page.push(u8::try_from(packet.len()).unwrap_or(u8::MAX));
        page.extend_from_slice(packet);
        let crc = ogg_crc(&page);
        page[22..26].copy_from_slice(&crc.to_le_bytes());
        page.extend_from_slice(extra);
        page
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::audio::wav_header;

    fn wav(data_len: u32, actual: usize) -> Vec<u8> {
        let mut bytes = wav_header(data_len);
        bytes.resize(44 + actual, 7);
        bytes
    }

    #[test]
    fn wav_data_must_fit_the_file() {
        let ok = wav(1000, 1000);
        assert_eq!(check(RecordingFormat::Wav, &ok, &ok, 1044), Ok(()));
        let placeholder = wav(u32::MAX, 500);
        assert_eq!(check(RecordingFormat::Wav, &placeholder, &[], 544), Ok(()));
        let long_claim = wav(100_000, 1000);
        assert!(check(RecordingFormat::Wav, &long_claim, &[], 1044).is_err());
        let mut no_data = wav_header(0);
        no_data.truncate(36);
        no_data.extend_from_slice(b"LIST\x04\x00\x00\x00abcd");
        assert!(check(RecordingFormat::Wav, &no_data, &[], no_data.len() as u64).is_err());
        let mut no_format = wav(1000, 1000);
        no_format[22..24].copy_from_slice(&0u16.to_le_bytes()); // channels
        assert!(check(RecordingFormat::Wav, &no_format, &[], 1044).is_err());
    }

    #[test]
    fn mp3_needs_a_second_frame_where_the_first_says() {
        let ok = samples::mp3(3, 0);
        assert_eq!(
            check(RecordingFormat::Mp3, &ok, &ok, ok.len() as u64),
            Ok(())
        );
        let tagged = samples::mp3(2, 100);
        let skip = id3v2_len(&tagged) as usize;
        assert_eq!(skip, 110);
        assert_eq!(
            check(RecordingFormat::Mp3, &tagged, &tagged[skip..], 0),
            Ok(())
        );
        let mut forged = vec![0xff, 0xfb, 0x90, 0x64];
        forged.extend_from_slice(&[b'x'; 1000]);
        assert!(check(RecordingFormat::Mp3, &forged, &forged, 1004).is_err());
        let one_frame = samples::mp3(1, 0);
        assert!(check(RecordingFormat::Mp3, &one_frame, &one_frame, 417).is_err());
        let tag_then_text = [b"ID3\x04\x00\x00\x00\x00\x00\x00".as_slice(), b"plain text"].concat();
        assert!(
            check(
                RecordingFormat::Mp3,
                &tag_then_text,
                &tag_then_text[10..],
                20
            )
            .is_err()
        );
    }

    #[test]
    fn ogg_first_page_crc_must_match() {
        let ok = samples::ogg(b"more pages");
        assert_eq!(
            check(RecordingFormat::Ogg, &ok, &ok, ok.len() as u64),
            Ok(())
        );
        let mut flipped = ok.clone();
        flipped[30] ^= 1;
        assert!(check(RecordingFormat::Ogg, &flipped, &flipped, 0).is_err());
        let mut short = b"OggS\x00\x02".to_vec();
        short.resize(64, b'x');
        assert!(check(RecordingFormat::Ogg, &short, &short, 64).is_err());
    }
}
