//! The stable 64-bit hash of a label set, shared by relay sharding and any deduplication.
//!
//! Definition (stable across versions and platforms; changing it reshuffles every shard):
//! XXH3-64 with the default secret and seed 0 over, for each label in the order given,
//! the name bytes, a `0xFF` byte, the value bytes and a `0xFF` byte. `0xFF` never occurs in
//! UTF-8, so distinct label sets cannot collide by concatenation. v1 and v2 bodies carrying
//! the same labels hash the same.

use alloc::vec::Vec;

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

/// Appends one label to a hash input buffer (the separated concatenation above), for
/// callers that hash many label sets and keep one reusable buffer: [`of_hash_input`] of the
/// buffer equals [`LabelHasher`] fed the same labels.
pub(crate) fn push_label(input: &mut Vec<u8>, name: &str, value: &str) {
    input.extend_from_slice(name.as_bytes());
    input.push(SEPARATOR[0]);
    input.extend_from_slice(value.as_bytes());
    input.push(SEPARATOR[0]);
}

/// The hash of a buffer built with [`push_label`].
pub(crate) fn of_hash_input(input: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(input)
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
    fn hash_input_buffer_hashes_like_the_streaming_hasher() {
        let labels = [("__name__", "up"), ("job", "prometheus"), ("é", "")];
        let mut input = Vec::new();
        for (n, v) in labels {
            push_label(&mut input, n, v);
        }
        assert_eq!(of_hash_input(&input), label_set_hash(labels));
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
