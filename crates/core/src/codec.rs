//! Snappy *block* format (never framed), with size guards that run before any allocation.
//!
//! Invariants: a body larger than [`Limits::max_body_bytes`] or declaring a decoded size
//! above [`Limits::max_decoded_bytes`] is refused (413) before a byte is allocated; a
//! declared size that the body cannot possibly expand to (snappy expands at most about 21x:
//! a 3-byte copy element yields at most 64 bytes) is refused as corrupt (400), also before
//! allocating. Only then is the output buffer sized and the body decompressed.

use alloc::vec::Vec;

use crate::Limits;

/// Upper bound of snappy's expansion ratio (64 output bytes per 3-byte copy element),
/// rounded up; used to reject impossible length preambles without allocating.
const MAX_EXPANSION: usize = 22;
/// Slack for the preamble and a short literal.
const EXPANSION_SLACK: usize = 64;

/// Why a body cannot be decompressed (or compressed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The compressed body is over `max_body_bytes`.
    #[error("compressed body of {size} bytes exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// Body size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The snappy preamble declares a decoded size over `max_decoded_bytes`.
    #[error("snappy preamble declares {declared} decoded bytes, over the limit of {limit} bytes")]
    DecodedTooLarge {
        /// Declared decoded size.
        declared: u64,
        /// The limit.
        limit: usize,
    },
    /// The snappy length preamble is missing or not a valid varint.
    #[error("not snappy block format: invalid length preamble")]
    BadPreamble,
    /// The declared size is more than the body could expand to.
    #[error("corrupt snappy: {size}-byte body cannot expand to the declared {declared} bytes")]
    ImpossibleLength {
        /// Body size.
        size: usize,
        /// Declared decoded size.
        declared: u64,
    },
    /// The snappy data is corrupt (a bad tag, offset or length).
    #[error("corrupt snappy data")]
    Corrupt,
    /// The decoded payload cannot be compressed (over snappy's 4 GiB input limit).
    #[error("payload too large to compress")]
    TooLargeToCompress,
}

impl CodecError {
    /// The status a receiver answers: 413 for size limits, 400 for corrupt data.
    pub fn status(&self) -> u16 {
        match self {
            CodecError::BodyTooLarge { .. } | CodecError::DecodedTooLarge { .. } => 413,
            CodecError::TooLargeToCompress => 413,
            CodecError::BadPreamble | CodecError::ImpossibleLength { .. } | CodecError::Corrupt => {
                400
            }
        }
    }
}

/// Reads the snappy length preamble and checks it (and the body size) against `limits`.
/// Returns the declared decoded size. Allocates nothing.
pub fn decoded_len(body: &[u8], limits: &Limits) -> Result<usize, CodecError> {
    if body.len() > limits.max_body_bytes {
        return Err(CodecError::BodyTooLarge {
            size: body.len(),
            limit: limits.max_body_bytes,
        });
    }
    let (declared, _) = split_preamble(body).ok_or(CodecError::BadPreamble)?;
    if declared > limits.max_decoded_bytes as u64 {
        return Err(CodecError::DecodedTooLarge {
            declared,
            limit: limits.max_decoded_bytes,
        });
    }
    let bound = body
        .len()
        .saturating_mul(MAX_EXPANSION)
        .saturating_add(EXPANSION_SLACK);
    if declared > bound as u64 {
        return Err(CodecError::ImpossibleLength {
            size: body.len(),
            declared,
        });
    }
    usize::try_from(declared).map_err(|_| CodecError::DecodedTooLarge {
        declared,
        limit: limits.max_decoded_bytes,
    })
}

/// Snappy's preamble: the decoded length as a little-endian base-128 varint of at most
/// 5 bytes (max 2^32 - 1), and the block's elements after it; `None` when the preamble is
/// missing or invalid.
pub fn split_preamble(body: &[u8]) -> Option<(u64, &[u8])> {
    let mut value: u64 = 0;
    for (i, byte) in body.iter().take(5).enumerate() {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if value > u64::from(u32::MAX) {
                return None;
            }
            return Some((value, body.get(i + 1..)?));
        }
    }
    None
}

/// Decompresses a snappy block body after the size checks of [`decoded_len`].
pub fn decompress(body: &[u8], limits: &Limits) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    decompress_into(body, limits, &mut out)?;
    Ok(out)
}

/// Like [`decompress`], into a reusable buffer (cleared first; its capacity is kept).
pub fn decompress_into(body: &[u8], limits: &Limits, out: &mut Vec<u8>) -> Result<(), CodecError> {
    let len = decoded_len(body, limits)?;
    // A reused buffer is not zero-filled first (that cost ~10% of decode + validate): snappy
    // overwrites every one of the `len` bytes, and a stream that writes fewer is refused below.
    if out.len() < len {
        out.resize(len, 0);
    } else {
        out.truncate(len);
    }
    match snap::raw::Decoder::new().decompress(body, out) {
        Ok(written) if written == len => Ok(()),
        _ => {
            out.clear();
            Err(CodecError::Corrupt)
        }
    }
}

/// Compresses a decoded payload into the snappy block format.
pub fn compress(decoded: &[u8]) -> Result<Vec<u8>, CodecError> {
    snap::raw::Encoder::new()
        .compress_vec(decoded)
        .map_err(|_| CodecError::TooLargeToCompress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_snappy_block_format() {
        let data = b"hello hello hello hello remote write".repeat(10);
        let body = compress(&data).unwrap();
        assert_eq!(decompress(&body, &Limits::default()).unwrap(), data);
    }

    #[test]
    fn declared_size_over_limit_rejected_before_allocating() {
        // Preamble 0xffffffff (4 GiB - 1) followed by 95 bytes of junk.
        let mut body = vec![0xff, 0xff, 0xff, 0xff, 0x0f];
        body.extend_from_slice(&[0u8; 95]);
        let mut out = Vec::new();
        let err = decompress_into(&body, &Limits::default(), &mut out).unwrap_err();
        assert!(matches!(
            err,
            CodecError::DecodedTooLarge {
                declared: 0xffff_ffff,
                ..
            }
        ));
        assert_eq!(err.status(), 413);
        assert_eq!(out.capacity(), 0, "nothing may be allocated for a bomb");
    }

    #[test]
    fn impossible_expansion_rejected_before_allocating() {
        // Declares 1 MiB from a 10-byte body: within the limit, but impossible.
        let mut body = vec![0x80, 0x80, 0x40];
        body.extend_from_slice(&[0u8; 7]);
        let mut out = Vec::new();
        let err = decompress_into(&body, &Limits::default(), &mut out).unwrap_err();
        assert!(matches!(err, CodecError::ImpossibleLength { .. }));
        assert_eq!(err.status(), 400);
        assert_eq!(out.capacity(), 0);
    }

    #[test]
    fn compressed_body_over_limit_is_413() {
        let limits = Limits {
            max_body_bytes: 4,
            ..Limits::default()
        };
        let err = decompress(&[1, 2, 3, 4, 5], &limits).unwrap_err();
        assert_eq!(err, CodecError::BodyTooLarge { size: 5, limit: 4 });
        assert_eq!(err.status(), 413);
    }

    #[test]
    fn corrupt_data_and_bad_preamble_are_400() {
        assert_eq!(
            decompress(&[], &Limits::default()),
            Err(CodecError::BadPreamble)
        );
        assert_eq!(
            decompress(&[0x80; 6], &Limits::default()),
            Err(CodecError::BadPreamble)
        );
        // Declares 4 bytes, then a copy element (impossible at the start).
        assert_eq!(
            decompress(&[0x04, 0x01, 0x00], &Limits::default()),
            Err(CodecError::Corrupt)
        );
    }

    #[test]
    fn reused_buffer_keeps_capacity() {
        let body = compress(&[7u8; 1000]).unwrap();
        let mut out = Vec::with_capacity(4096);
        decompress_into(&body, &Limits::default(), &mut out).unwrap();
        assert_eq!(out, vec![7u8; 1000]);
        assert!(out.capacity() >= 4096);
    }

    proptest::proptest! {
        #[test]
        fn reused_buffer_never_leaks_bytes_of_an_earlier_body(
            first in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
            second in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096),
            cut in 0usize..64,
        ) {
            let limits = Limits::default();
            let mut out = Vec::new();
            decompress_into(&compress(&first).unwrap(), &limits, &mut out).unwrap();
            decompress_into(&compress(&second).unwrap(), &limits, &mut out).unwrap();
            proptest::prop_assert_eq!(&out, &second);
            // A stream cut short must fail, not return the earlier body's bytes.
            decompress_into(&compress(&first).unwrap(), &limits, &mut out).unwrap();
            let body = compress(&second).unwrap();
            let short = &body[..body.len().saturating_sub(cut + 1)];
            if let Ok(()) = decompress_into(short, &limits, &mut out) {
                proptest::prop_assert_eq!(&out, &second);
            }
        }
    }
}
