//! Byte layout of segment headers, record headers and cursor files (see the crate docs for the
//! table). All integers are little-endian. Pure functions: no I/O.

use crate::error::CorruptKind;
use crate::two_slot::newest_slot;

/// Magic at the start of every segment file.
pub const SEGMENT_MAGIC: &[u8; 6] = b"PRWWAL";
/// Magic at the start of every cursor file.
pub const CURSOR_MAGIC: &[u8; 6] = b"PRWCUR";
/// The segment format version this build reads and writes.
pub const FORMAT_VERSION: u16 = 1;
/// The cursor slot version this build writes: version 1 with bytes 16..20 holding the slot's
/// generation (version 1 cursor files, one slot with 0 there, are still read).
pub const CURSOR_VERSION: u16 = 2;
/// Bytes of a segment header.
pub const SEGMENT_HEADER_LEN: u64 = 24;
/// Bytes of a record header.
pub const RECORD_HEADER_LEN: u64 = 16;
/// Bytes of one cursor slot.
pub const CURSOR_SLOT_LEN: usize = 24;
/// Bytes of a cursor file: two slots, written alternately in place.
pub const CURSOR_FILE_LEN: usize = 2 * CURSOR_SLOT_LEN;
/// Suffix of segment files.
pub const SEGMENT_SUFFIX: &str = ".seg";
/// Suffix of cursor files.
pub const CURSOR_SUFFIX: &str = ".cursor";

/// `0000000000000000042.seg`: the first sequence number, zero-padded to 20 digits so that
/// lexical order is numeric order.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SEGMENT_SUFFIX}")
}

/// Inverse of [`segment_file_name`]; `None` for any other file.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A 24-byte header with magic, version, a u64, a u32 and a CRC32C over the first 20 bytes;
/// the shape shared by segment headers and cursor slots.
fn encode_header(magic: &[u8; 6], version: u16, value: u64, extra: u32) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..6].copy_from_slice(magic);
    out[6..8].copy_from_slice(&version.to_le_bytes());
    out[8..16].copy_from_slice(&value.to_le_bytes());
    out[16..20].copy_from_slice(&extra.to_le_bytes());
    let crc = crc32c::crc32c(&out[..20]);
    out[20..24].copy_from_slice(&crc.to_le_bytes());
    out
}

/// Parses a header of one of `versions`: `(value, extra)`.
fn decode_header(
    magic: &[u8; 6],
    versions: &[u16],
    bytes: &[u8],
) -> Result<(u64, u32), CorruptKind> {
    let Some(bytes) = bytes.get(..24) else {
        return Err(CorruptKind::Truncated);
    };
    if bytes.get(..6) != Some(&magic[..]) {
        return Err(CorruptKind::BadMagic);
    }
    let version = u16::from_le_bytes([bytes[6], bytes[7]]);
    if !versions.contains(&version) {
        return Err(CorruptKind::UnsupportedVersion(version));
    }
    let stored = u32::from_le_bytes([bytes[20], bytes[21], bytes[22], bytes[23]]);
    if crc32c::crc32c(&bytes[..20]) != stored {
        return Err(CorruptKind::HeaderChecksum);
    }
    let mut value = [0u8; 8];
    value.copy_from_slice(&bytes[8..16]);
    let extra = u32::from_le_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
    Ok((u64::from_le_bytes(value), extra))
}

/// The segment header for a segment whose first record has sequence `first_seq`.
pub fn encode_segment_header(first_seq: u64) -> [u8; 24] {
    encode_header(SEGMENT_MAGIC, FORMAT_VERSION, first_seq, 0)
}

/// Parses a segment header and returns its first sequence number.
pub fn decode_segment_header(bytes: &[u8]) -> Result<u64, CorruptKind> {
    decode_header(SEGMENT_MAGIC, &[FORMAT_VERSION], bytes).map(|(first, _)| first)
}

/// One cursor slot holding `next_seq` (the first record the consumer has not committed),
/// written as generation `generation`; the newer of the file's two valid slots wins.
pub fn encode_cursor_slot(next_seq: u64, generation: u32) -> [u8; 24] {
    encode_header(CURSOR_MAGIC, CURSOR_VERSION, next_seq, generation)
}

/// A cursor's value and the generation of the slot holding it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CursorValue {
    /// First position not committed.
    pub next: u64,
    /// Generation of the slot it came from (0 for a version 1 file).
    pub generation: u32,
}

/// Parses a cursor file: one slot (24 bytes, version 1) or two (48 bytes); the valid slot
/// with the newer generation wins (a torn write can only damage the slot being written).
/// An error when no slot is valid (the first slot's error) or the length is neither.
pub fn decode_cursor_file(bytes: &[u8]) -> Result<CursorValue, CorruptKind> {
    if bytes.len() != CURSOR_SLOT_LEN && bytes.len() != CURSOR_FILE_LEN {
        return Err(if bytes.len() < CURSOR_SLOT_LEN {
            CorruptKind::Truncated
        } else {
            CorruptKind::LengthTooLarge {
                len: bytes.len() as u64,
                max: CURSOR_FILE_LEN as u64,
            }
        });
    }
    let slot = |bytes: &[u8]| {
        decode_header(CURSOR_MAGIC, &[1, CURSOR_VERSION], bytes)
            .map(|(next, generation)| CursorValue { next, generation })
    };
    match newest_slot(bytes, CURSOR_SLOT_LEN, |s| {
        slot(s).ok().map(|v| (v.generation, v))
    }) {
        Some((_, value)) => Ok(value),
        // Neither slot is valid: the first one's reason.
        None => slot(bytes.get(..CURSOR_SLOT_LEN).unwrap_or_default()),
    }
}

/// CRC32C of a record: over the length and sequence fields of its header, then the payload.
pub fn record_crc(len: u32, seq: u64, payload: &[u8]) -> u32 {
    record_crc_parts(len, seq, &[payload])
}

/// [`record_crc`] of a payload given as consecutive parts (one CRC over all of them).
pub fn record_crc_parts(len: u32, seq: u64, parts: &[&[u8]]) -> u32 {
    let mut fields = [0u8; 12];
    fields[..4].copy_from_slice(&len.to_le_bytes());
    fields[4..].copy_from_slice(&seq.to_le_bytes());
    parts.iter().fold(crc32c::crc32c(&fields), |crc, part| {
        crc32c::crc32c_append(crc, part)
    })
}

/// The 16-byte record header (`len: u32, crc: u32, seq: u64`) of a payload given as
/// consecutive parts; `None` when their total length does not fit the `u32` length field.
pub fn encode_record_header_parts(seq: u64, parts: &[&[u8]]) -> Option<[u8; 16]> {
    let total = parts
        .iter()
        .try_fold(0usize, |sum, part| sum.checked_add(part.len()))?;
    let len = u32::try_from(total).ok()?;
    let mut out = [0u8; 16];
    out[..4].copy_from_slice(&len.to_le_bytes());
    out[4..8].copy_from_slice(&record_crc_parts(len, seq, parts).to_le_bytes());
    out[8..].copy_from_slice(&seq.to_le_bytes());
    Some(out)
}

/// The fields of a record header, not yet checked against the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Payload length.
    pub len: u32,
    /// Stored CRC32C.
    pub crc: u32,
    /// Sequence number.
    pub seq: u64,
}

/// Splits a 16-byte record header into its fields.
pub fn decode_record_header(bytes: &[u8; 16]) -> RecordHeader {
    let [
        l0,
        l1,
        l2,
        l3,
        c0,
        c1,
        c2,
        c3,
        s0,
        s1,
        s2,
        s3,
        s4,
        s5,
        s6,
        s7,
    ] = *bytes;
    RecordHeader {
        len: u32::from_le_bytes([l0, l1, l2, l3]),
        crc: u32::from_le_bytes([c0, c1, c2, c3]),
        seq: u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_cursor(bytes: &[u8]) -> Result<u64, CorruptKind> {
        decode_cursor_file(bytes).map(|v| v.next)
    }

    #[test]
    fn segment_names_round_trip_and_sort_numerically() {
        assert_eq!(parse_segment_file_name(&segment_file_name(42)), Some(42));
        assert!(segment_file_name(9) < segment_file_name(10));
        assert_eq!(parse_segment_file_name("42.seg"), None);
        assert_eq!(parse_segment_file_name("0000000000000000004x.seg"), None);
    }

    #[test]
    fn header_bit_flip_is_detected() {
        let mut h = encode_segment_header(7);
        assert_eq!(decode_segment_header(&h), Ok(7));
        h[9] ^= 1;
        assert_eq!(decode_segment_header(&h), Err(CorruptKind::HeaderChecksum));
        assert_eq!(decode_cursor(&h), Err(CorruptKind::BadMagic));
        assert_eq!(decode_cursor(b"short"), Err(CorruptKind::Truncated));
    }

    #[test]
    fn the_newer_valid_cursor_slot_wins_and_a_torn_slot_falls_back() {
        let mut file = [0u8; CURSOR_FILE_LEN];
        file[..24].copy_from_slice(&encode_cursor_slot(10, 5));
        assert_eq!(decode_cursor(&file), Ok(10), "second slot empty");
        file[24..].copy_from_slice(&encode_cursor_slot(20, 6));
        assert_eq!(decode_cursor(&file), Ok(20));
        file[30] ^= 1; // a torn write of the newer slot
        assert_eq!(decode_cursor(&file), Ok(10));
        file[24..].copy_from_slice(&encode_cursor_slot(20, u32::MAX));
        file[..24].copy_from_slice(&encode_cursor_slot(30, 0));
        assert_eq!(decode_cursor(&file), Ok(30), "generations wrap");
        let mut v1 = encode_cursor_slot(3, 0);
        v1[6..8].copy_from_slice(&1u16.to_le_bytes());
        let crc = crc32c::crc32c(&v1[..20]);
        v1[20..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(decode_cursor(&v1), Ok(3), "a version 1 file still reads");
        assert!(decode_cursor(&[0u8; CURSOR_FILE_LEN]).is_err());
        assert!(decode_cursor(&[0u8; 30]).is_err());
    }

    #[test]
    fn record_crc_covers_sequence_and_length() {
        let h = decode_record_header(&encode_record_header_parts(5, &[b"ab", b"c"]).unwrap());
        assert_eq!(h.len, 3);
        assert_eq!(h.seq, 5);
        assert_eq!(h.crc, record_crc(3, 5, b"abc"));
        assert_ne!(h.crc, record_crc(3, 6, b"abc"));
        assert_ne!(h.crc, record_crc(4, 5, b"abc"));
    }
}
