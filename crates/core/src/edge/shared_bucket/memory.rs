//! [`MemoryStore`]: a [`SharedStore`] in one process's memory, with the semantics of Envoy's
//! shared data (proxy-wasm-cpp-host `SharedData`): one CAS counter for the whole store,
//! bumped by every write; a missing key is created whatever the token; an existing key is
//! written only when the token is 0 or still the key's.
//!
//! What the inspector simulates the `tenants` limits against (a fresh store: every bucket
//! full, the first request of each tenant), and what the tests run the shared buckets on.
//! Invariant: never fails with [`StoreError::Host`].

use alloc::collections::BTreeMap;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::{SharedStore, StoreError};

/// Shared data in memory (see the module docs).
#[derive(Clone, Debug)]
pub struct MemoryStore {
    data: BTreeMap<String, (Vec<u8>, u32)>,
    next_cas: u32,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore {
            data: BTreeMap::new(),
            next_cas: 1,
        }
    }
}

impl MemoryStore {
    /// Whether no key was ever written.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

impl SharedStore for MemoryStore {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        Ok(match self.data.get(key) {
            Some((value, cas)) => (Some(value.clone()), *cas),
            None => (None, 0),
        })
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), StoreError> {
        let next = self.next_cas;
        // Envoy's counter skips 0 when it wraps (0 means "no token").
        self.next_cas = self.next_cas.wrapping_add(1).max(1);
        match self.data.get_mut(key) {
            Some(entry) => {
                if cas != 0 && cas != entry.1 {
                    return Err(StoreError::CasMismatch);
                }
                *entry = (value.to_vec(), next);
            }
            None => {
                self.data.insert(key.to_string(), (value.to_vec(), next));
            }
        }
        Ok(())
    }
}
