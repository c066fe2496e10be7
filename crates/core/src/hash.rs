//! The stable 64-bit hash of a label set, shared by relay sharding and any deduplication.
//!
//! Definition (stable across versions and platforms; changing it reshuffles every shard):
//! XXH3-64 with the default secret and seed 0 over, for each label in the order given,
//! the name bytes, a `0xFF` byte, the value bytes and a `0xFF` byte. `0xFF` never occurs in
//! UTF-8, so distinct label sets cannot collide by concatenation. v1 and v2 bodies carrying
//! the same labels hash the same.

use xxhash_rust::xxh3::Xxh3Default;

const SEPARATOR: [u8; 1] = [0xFF];

/// Streaming label-set hasher.
#[derive(Clone)]
pub struct LabelHasher {
    state: Xxh3Default,
}

impl core::fmt::Debug for LabelHasher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("LabelHasher").finish_non_exhaustive()
    }
}

impl Default for LabelHasher {
    fn default() -> Self {
        LabelHasher::new()
    }
}

impl LabelHasher {
    /// A hasher for an empty label set.
    pub const fn new() -> Self {
        LabelHasher {
            state: Xxh3Default::new(),
        }
    }

    /// Adds one label.
    pub fn push(&mut self, name: &str, value: &str) {
        self.state.update(name.as_bytes());
        self.state.update(&SEPARATOR);
        self.state.update(value.as_bytes());
        self.state.update(&SEPARATOR);
    }

    /// The hash of the labels pushed so far.
    pub fn finish(&self) -> u64 {
        self.state.digest()
    }
}

/// Bytes of hash input kept in [`HashInput`]'s buffer before it streams.
const INPUT_BUFFER: usize = 1024;

/// The hash input of one label set, for callers that hash many label sets: equal to
/// [`LabelHasher`] fed the same labels, and faster for the short names and values of
/// real series.
///
/// Trick: the separated concatenation is built in a fixed buffer with inline fixed-width
/// (overlapping) copies, and hashed with one-shot XXH3; four streaming `update` calls or
/// four `memcpy` calls per label cost several times more. Label sets longer than the
/// buffer continue in a streaming hasher (same digest by definition).
///
/// [`HashInput::push_bytes`] takes labels as bytes for callers that already validated them
/// (the relay's facts pass over records it accepted earlier).
#[derive(Clone)]
pub struct HashInput {
    buf: [u8; INPUT_BUFFER],
    len: usize,
    overflow: Option<Xxh3Default>,
}

impl core::fmt::Debug for HashInput {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("HashInput")
            .field("len", &self.len)
            .field("streaming", &self.overflow.is_some())
            .finish()
    }
}

impl Default for HashInput {
    fn default() -> Self {
        HashInput::new()
    }
}

impl HashInput {
    /// An empty label set.
    pub fn new() -> Self {
        HashInput {
            buf: [0; INPUT_BUFFER],
            len: 0,
            overflow: None,
        }
    }

    /// Starts a new (empty) label set.
    pub fn clear(&mut self) {
        self.len = 0;
        self.overflow = None;
    }

    /// Adds one label.
    #[inline(always)]
    pub fn push(&mut self, name: &str, value: &str) {
        self.push_bytes(name.as_bytes(), value.as_bytes());
    }

    /// Adds one label given as bytes (the digest is the same as [`HashInput::push`]'s for
    /// the same bytes).
    #[inline(always)]
    pub fn push_bytes(&mut self, name: &[u8], value: &[u8]) {
        let value_at = self.len + name.len() + 1;
        let end = value_at + value.len() + 1;
        if self.overflow.is_none() && end <= INPUT_BUFFER {
            self.put(self.len, name);
            self.put(value_at - 1, &SEPARATOR);
            self.put(value_at, value);
            self.put(end - 1, &SEPARATOR);
            self.len = end;
            return;
        }
        let state = self.spill();
        for part in [name, &SEPARATOR, value, &SEPARATOR] {
            state.update(part);
        }
    }

    /// Copies `src` to `buf[at..]` (callers checked it fits).
    #[inline(always)]
    fn put(&mut self, at: usize, src: &[u8]) {
        if let Some(dst) = self.buf.get_mut(at..at + src.len()) {
            copy_short(dst, src);
        }
    }

    /// The streaming state, holding everything buffered so far.
    #[cold]
    fn spill(&mut self) -> &mut Xxh3Default {
        let buffered = self.buf.get(..self.len).unwrap_or(&[]);
        self.overflow.get_or_insert_with(|| {
            let mut state = Xxh3Default::new();
            state.update(buffered);
            state
        })
    }

    /// The hash of the label set.
    pub fn finish(&self) -> u64 {
        match &self.overflow {
            Some(state) => state.digest(),
            None => xxhash_rust::xxh3::xxh3_64(self.buf.get(..self.len).unwrap_or(&[])),
        }
    }
}

/// `dst.copy_from_slice(src)` for slices of equal length, without a `memcpy` call for up
/// to 16 bytes: two overlapping 4- or 8-byte moves cover every length from 4 to 16.
#[inline(always)]
fn copy_short(dst: &mut [u8], src: &[u8]) {
    match src.len() {
        4..8 => {
            if let (Some(d), Some(s)) = (dst.first_chunk_mut::<4>(), src.first_chunk::<4>()) {
                *d = *s;
            }
            if let (Some(d), Some(s)) = (dst.last_chunk_mut::<4>(), src.last_chunk::<4>()) {
                *d = *s;
            }
        }
        8..=16 => {
            if let (Some(d), Some(s)) = (dst.first_chunk_mut::<8>(), src.first_chunk::<8>()) {
                *d = *s;
            }
            if let (Some(d), Some(s)) = (dst.last_chunk_mut::<8>(), src.last_chunk::<8>()) {
                *d = *s;
            }
        }
        17.. => dst.copy_from_slice(src),
        _ => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// Hashes a whole label set.
pub fn label_set_hash<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> u64 {
    let mut h = LabelHasher::new();
    for (n, v) in labels {
        h.push(n, v);
    }
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_pinned() {
        // Pinned: if this changes, every relay's sharding changes with it.
        let h = label_set_hash([("__name__", "up"), ("job", "prometheus")]);
        assert_eq!(
            h,
            label_set_hash([("__name__", "up"), ("job", "prometheus")])
        );
        assert_eq!(h, PINNED);
        // The definition: one-shot XXH3-64 of the separated concatenation.
        let flat = b"__name__\xffup\xffjob\xffprometheus\xff";
        assert_eq!(h, xxhash_rust::xxh3::xxh3_64(flat));
    }

    const PINNED: u64 = 1_583_238_008_648_041_764;

    #[test]
    fn hash_input_hashes_like_the_streaming_hasher_at_every_length() {
        // Names and values of every short length, and sets running past the buffer.
        for len in 0..40 {
            let name: alloc::string::String = "abcdefghij".chars().cycle().take(len).collect();
            let value: alloc::string::String = "é0123".chars().cycle().take(len).collect();
            for count in [1, 3, 30, 80] {
                let labels: alloc::vec::Vec<(&str, &str)> = (0..count)
                    .map(|_| (name.as_str(), value.as_str()))
                    .collect();
                let mut input = HashInput::new();
                input.push("stale", "x");
                input.clear();
                for (n, v) in &labels {
                    input.push(n, v);
                }
                assert_eq!(
                    input.finish(),
                    label_set_hash(labels.iter().copied()),
                    "{len} {count}"
                );
            }
        }
    }

    #[test]
    fn concatenation_does_not_collide() {
        assert_ne!(label_set_hash([("ab", "c")]), label_set_hash([("a", "bc")]));
        assert_ne!(
            label_set_hash([("a", "b"), ("c", "d")]),
            label_set_hash([("a", "bcd")])
        );
    }
}
