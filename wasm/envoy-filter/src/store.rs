//! proxy-wasm shared data as prw-core's `SharedStore`: where the tenant buckets live, shared
//! by every worker thread's VM with the same `vm_id`.
//!
//! Invariant: no panic on the host's answers. The SDK returns `Result`s for what Envoy's
//! `SharedData` answers (a get: Ok or NotFound; a set: Ok or CasMismatch) and panics only on
//! other statuses, a host-contract violation Envoy never commits.

use proxy_wasm::hostcalls;
use proxy_wasm::types::Status;
use prw_core::edge::shared_bucket::{SharedStore, StoreError};

/// The host's shared data.
#[derive(Debug, Default)]
pub struct HostStore;

impl SharedStore for HostStore {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        hostcalls::get_shared_data(key)
            .map(|(value, cas)| (value, cas.unwrap_or(0)))
            .map_err(|status| StoreError::Host(format!("get_shared_data: {status:?}")))
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), StoreError> {
        hostcalls::set_shared_data(key, Some(value), (cas != 0).then_some(cas)).map_err(|status| {
            match status {
                Status::CasMismatch => StoreError::CasMismatch,
                other => StoreError::Host(format!("set_shared_data: {other:?}")),
            }
        })
    }
}
