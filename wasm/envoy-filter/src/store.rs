//! proxy-wasm shared data as prw-core's `SharedStore`: where the tenant buckets live, shared
//! by every worker thread's VM with the same `vm_id`.
//!
//! Invariant: no panic on the host's answers ([`crate::host`] returns every status): a get
//! answers a value or `NotFound` (no such key), a set `Ok` or `CasMismatch`; any other
//! status is a `StoreError::Host`, on which prw-core lets the request pass unlimited (fail
//! open) and the filter logs it.

use prw_core::edge::shared_bucket::{SharedStore, StoreError};

use crate::host::{self, CAS_MISMATCH, HostError};

/// The host's shared data.
#[derive(Debug, Default)]
pub struct HostStore;

impl SharedStore for HostStore {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        host::get_shared_data(key).map_err(|e| StoreError::Host(format!("get_shared_data: {e}")))
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), StoreError> {
        host::set_shared_data(key, value, cas).map_err(|e| match e {
            HostError::Status(CAS_MISMATCH) => StoreError::CasMismatch,
            other => StoreError::Host(format!("set_shared_data: {other}")),
        })
    }
}
