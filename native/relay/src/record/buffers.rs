//! Decompression buffers that are reused instead of allocated and zero-filled per request.
//!
//! A decoded body lives on in the tail and in the queue items cut from it (as [`Bytes`]
//! slices), so it cannot be a per-thread scratch buffer. Instead each body owns a pooled
//! buffer through [`Bytes::from_owner`]: when the last slice of it is dropped, the buffer
//! returns to the pool, and the next decompression overwrites it without zero-filling it
//! first (snappy writes every byte of the output; prw-core refuses a stream that writes
//! fewer).
//!
//! Invariants: the pool keeps at most [`MAX_POOLED`] buffers, none larger than
//! [`MAX_POOLED_BYTES`]; a buffer is only reused once nothing refers to it any more.

use std::sync::{Mutex, PoisonError};

use bytes::Bytes;
use prw_core::Limits;
use prw_core::codec::CodecError;

/// Most buffers kept for reuse.
pub const MAX_POOLED: usize = 8;
/// Largest buffer kept for reuse (larger bodies are rare; their buffers are freed).
pub const MAX_POOLED_BYTES: usize = 4 << 20;

static POOL: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());

/// A pooled buffer, returned to the pool when dropped.
struct Pooled(Vec<u8>);

impl AsRef<[u8]> for Pooled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let buffer = std::mem::take(&mut self.0);
        if buffer.capacity() > MAX_POOLED_BYTES {
            return;
        }
        let mut pool = POOL.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < MAX_POOLED {
            pool.push(buffer);
        }
    }
}

fn take() -> Vec<u8> {
    POOL.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .pop()
        .unwrap_or_default()
}

/// Decompresses `body` (snappy block format, within `limits`) into a pooled buffer.
pub fn decompress(body: &[u8], limits: &Limits) -> Result<Bytes, CodecError> {
    let mut buffer = take();
    match prw_core::codec::decompress_into(body, limits, &mut buffer) {
        Ok(()) => Ok(Bytes::from_owner(Pooled(buffer))),
        Err(error) => {
            drop(Pooled(buffer));
            Err(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_is_reused_only_after_every_slice_of_it_is_gone() {
        let limits = Limits::default();
        let a = prw_core::codec::compress(&[1u8; 1000]).unwrap();
        let b = prw_core::codec::compress(&[2u8; 1000]).unwrap();
        let first = decompress(&a, &limits).unwrap();
        let slice = first.slice(10..20);
        drop(first);
        let second = decompress(&b, &limits).unwrap();
        assert_eq!(slice.as_ref(), &[1u8; 10]);
        assert_eq!(second.as_ref(), &[2u8; 1000][..]);
        drop((slice, second));
        let third = decompress(&a, &limits).unwrap();
        assert_eq!(third.as_ref(), &[1u8; 1000][..]);
        assert!(decompress(&[0xFF, 0xFF], &limits).is_err());
    }
}
