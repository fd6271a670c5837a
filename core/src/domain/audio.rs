//! Recognising an uploaded recording from its first bytes: the container by
//! magic bytes (the `infer` crate), and the duration where the header says
//! it without reading the whole file (WAV). Other formats need the frames
//! decoded for a duration, which is not worth holding an upload for, so they
//! are stored without one.

use crate::wire::RecordingFormat;

/// How many leading bytes the checks look at: enough for any of the
/// recognised headers and for a WAV file's chunks before its samples.
pub const SNIFF_BYTES: usize = 64 * 1024;

/// The audio container `prefix` starts, or `None` when it is not audio we
/// accept.
pub fn sniff(prefix: &[u8]) -> Option<RecordingFormat> {
    let kind = infer::get(prefix)?;
    match kind.mime_type() {
        "audio/x-wav" | "audio/wav" => Some(RecordingFormat::Wav),
        "audio/mpeg" => Some(RecordingFormat::Mp3),
        "audio/ogg" | "audio/opus" => Some(RecordingFormat::Ogg),
        "audio/amr" => Some(RecordingFormat::Amr),
        // Phones write M4A both with the "M4A " brand and with the generic
        // MP4 brands (isom, mp42) that `infer` reports as video.
        "audio/m4a" | "audio/mp4" | "audio/x-m4a" | "video/mp4" => Some(RecordingFormat::M4a),
        _ => None,
    }
}

/// Milliseconds of audio, when the header states it. `total_size` is the
/// whole file's size, for WAV files written while recording whose data
/// chunk size was never filled in.
pub fn duration_ms(format: RecordingFormat, prefix: &[u8], total_size: u64) -> Option<u64> {
    match format {
        RecordingFormat::Wav => wav_duration_ms(prefix, total_size),
        _ => None,
    }
}

fn wav_duration_ms(prefix: &[u8], total_size: u64) -> Option<u64> {
    let le32 = |at: usize| -> Option<u32> {
        let bytes = prefix.get(at..at + 4)?;
        Some(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    };
    if prefix.get(0..4)? != b"RIFF" || prefix.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12;
    let mut byte_rate = None;
    loop {
        let id = prefix.get(at..at + 4)?;
        let size = le32(at + 4)?;
        let body = at + 8;
        match id {
            b"fmt " => byte_rate = le32(body + 8),
            b"data" => {
                let rate = u64::from(byte_rate.filter(|r| *r > 0)?);
                let available = total_size.saturating_sub(body as u64);
                let data = match size {
                    0 | u32::MAX => available,
                    n => u64::from(n).min(available),
                };
                return Some(data.saturating_mul(1000) / rate);
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = body + size as usize + (size as usize & 1);
    }
}

/// A minimal valid WAV header for `data_len` bytes of 8 kHz 16-bit mono
/// audio: tests and the benchmark build files with it.
pub fn wav_header(data_len: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(44);
    h.extend_from_slice(b"RIFF");
    h.extend_from_slice(&data_len.wrapping_add(36).to_le_bytes());
    h.extend_from_slice(b"WAVEfmt ");
    h.extend_from_slice(&16u32.to_le_bytes());
    h.extend_from_slice(&1u16.to_le_bytes()); // PCM
    h.extend_from_slice(&1u16.to_le_bytes()); // mono
    h.extend_from_slice(&8000u32.to_le_bytes());
    h.extend_from_slice(&16000u32.to_le_bytes()); // byte rate
    h.extend_from_slice(&2u16.to_le_bytes()); // block align
    h.extend_from_slice(&16u16.to_le_bytes());
    h.extend_from_slice(b"data");
    h.extend_from_slice(&data_len.to_le_bytes());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_each_accepted_container() {
        let mut wav = wav_header(16_000);
        wav.resize(44 + 16_000, 0);
        assert_eq!(sniff(&wav), Some(RecordingFormat::Wav));
        assert_eq!(
            sniff(b"ID3\x04\x00\x00\x00\x00\x00\x00rest"),
            Some(RecordingFormat::Mp3)
        );
        let mut ogg = b"OggS\x00\x02".to_vec();
        ogg.resize(64, 0);
        assert_eq!(sniff(&ogg), Some(RecordingFormat::Ogg));
        assert_eq!(
            sniff(b"#!AMR\n\x3c\x00\x00\x00\x00\x00\x00\x00"),
            Some(RecordingFormat::Amr)
        );
        let m4a = b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A isommp42";
        assert_eq!(sniff(m4a), Some(RecordingFormat::M4a));
    }

    #[test]
    fn refuses_what_is_not_audio() {
        assert_eq!(sniff(b"%PDF-1.7 not audio at all"), None);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), None);
        assert_eq!(sniff(b"plain text"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn wav_duration_comes_from_the_header() {
        let header = wav_header(32_000);
        assert_eq!(
            duration_ms(RecordingFormat::Wav, &header, 44 + 32_000),
            Some(2_000)
        );
        // A header that never got its size filled in: the file size counts.
        let streaming = wav_header(u32::MAX);
        assert_eq!(
            duration_ms(RecordingFormat::Wav, &streaming, 44 + 8_000),
            Some(500)
        );
        assert_eq!(duration_ms(RecordingFormat::Mp3, &header, 1000), None);
        assert_eq!(duration_ms(RecordingFormat::Wav, b"RIFF", 4), None);
    }
}
