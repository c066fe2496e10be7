//! The tenant buckets in a store shared by Envoy's worker threads (proxy-wasm shared data:
//! `get` returns a value and a CAS token, `set` with a token succeeds only while the key
//! still has it), updated with compare-and-swap and bounded by `tenants.max_tenants`.
//!
//! Keys: [`bucket_key`] (`prw_edge.bucket.<tenant>`, 16 bytes: [`BucketState::to_bytes`]),
//! [`OVERFLOW_KEY`] (the bucket tenants beyond `max_tenants` share) and [`TENANTS_KEY`]
//! (8 bytes little-endian: how many tenants without an override have a bucket of their own).
//!
//! Creating a key: Envoy (proxy-wasm-cpp-host's `SharedData::set`) creates a missing key
//! whatever the token, and compares the token only for an existing key. A key is therefore
//! created with [`CREATE_CAS`], a token Envoy hands out only after about 4 billion writes:
//! a missing key is created, and a key another worker created meanwhile gives a CAS
//! mismatch instead of being overwritten, so no worker ever loses another's charge.
//!
//! Invariants (tests below, with a store that interleaves other workers): at most
//! [`MAX_ATTEMPTS`] compare-and-swaps per request, then 429 with `Retry-After: 1`
//! ([`Admission::contended`]), so the limit holds under contention; tokens handed out stay
//! within burst + rate x time whatever the interleaving; overrides always have a bucket of
//! their own; at most `max_tenants` others do (plus one per worker racing at the bound),
//! the rest share [`OVERFLOW_KEY`]; a host failure other than a CAS mismatch admits the
//! request (fail open, like every host failure in the filter) and is reported. Keys are
//! never removed (the proxy-wasm 0.2.1 ABI cannot delete or list them): a bucket lives as
//! long as the Envoy process.
//!
//! [`MemoryStore`] is the same store in one process's memory (the inspector, the tests).

use alloc::string::String;
use alloc::vec::Vec;

mod memory;

pub use memory::MemoryStore;

use super::admission::{Admission, cost, decide_admission};
use super::bucket::BucketState;
use super::outcome::TenantOutcome;
use super::tenants::{ResolvedTenant, TenantsConfig};
use crate::Protocol;
use crate::validate::Counts;

/// The bucket shared by tenants beyond `max_tenants`.
pub const OVERFLOW_KEY: &str = "prw_edge.overflow";
/// How many tenants without an override have a bucket of their own.
pub const TENANTS_KEY: &str = "prw_edge.tenants";
/// The token a key is created with (see the module docs).
pub const CREATE_CAS: u32 = u32::MAX;
/// Compare-and-swap attempts per request before answering 429.
pub const MAX_ATTEMPTS: u32 = 16;

/// The key of `tenant`'s own bucket.
pub fn bucket_key(tenant: &str) -> String {
    let mut key = String::with_capacity(16 + tenant.len());
    key.push_str("prw_edge.bucket.");
    key.push_str(tenant);
    key
}

/// Why a store operation failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The key's CAS token changed since it was read (another worker wrote it).
    CasMismatch,
    /// The host failed otherwise.
    Host(String),
}

/// A key-value store with compare-and-swap (proxy-wasm shared data).
pub trait SharedStore {
    /// The value of `key` (`None`: no such key) and its CAS token.
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError>;
    /// Sets `key` if its token is still `cas` (0: unconditionally). A missing key is
    /// created whatever `cas` is.
    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), StoreError>;
}

/// What the limits decided, and how.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SharedAdmission {
    /// The decision.
    pub admission: Admission,
    /// The tenant was charged to the overflow bucket.
    pub overflow: bool,
    /// A host failure that made the request pass unlimited (fail open).
    pub host_error: Option<String>,
}

impl SharedAdmission {
    fn plain(admission: Admission) -> SharedAdmission {
        SharedAdmission {
            admission,
            overflow: false,
            host_error: None,
        }
    }
}

fn fail_open(error: StoreError, overflow: bool) -> SharedAdmission {
    let message = match error {
        StoreError::CasMismatch => String::from("compare-and-swap mismatch"),
        StoreError::Host(message) => message,
    };
    SharedAdmission {
        admission: Admission {
            outcome: TenantOutcome::Admitted,
            new_state: None,
            rejection: None,
        },
        overflow,
        host_error: Some(message),
    }
}

fn read_count(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| b.first_chunk::<8>())
        .map_or(0, |b| u64::from_le_bytes(*b))
}

/// Whether a tenant without an override may create a bucket of its own.
fn has_room(store: &mut impl SharedStore, max_tenants: usize) -> Result<bool, StoreError> {
    let (value, _) = store.get(TENANTS_KEY)?;
    Ok(read_count(value.as_deref()) < max_tenants as u64)
}

/// Counts one more tenant with a bucket of its own (bounded retries; a lost increment only
/// lets one more tenant have its own bucket).
fn count_tenant(store: &mut impl SharedStore) -> Result<(), StoreError> {
    for _ in 0..MAX_ATTEMPTS {
        let (value, cas) = store.get(TENANTS_KEY)?;
        let next = read_count(value.as_deref()).saturating_add(1);
        let token = if value.is_some() { cas } else { CREATE_CAS };
        match store.set(TENANTS_KEY, &next.to_le_bytes(), token) {
            Err(StoreError::CasMismatch) => continue,
            other => return other,
        }
    }
    Ok(())
}

/// Decides on a checked request of `tenant` against its bucket in `store` at `now_ms`.
pub fn admit_shared(
    store: &mut impl SharedStore,
    tenants: &TenantsConfig,
    tenant: &ResolvedTenant<'_>,
    counts: &Counts,
    protocol: Protocol,
    now_ms: i64,
) -> SharedAdmission {
    // What needs no bucket is decided without touching the store: no rate, nothing to
    // count, too many series, more than the burst.
    let fresh = decide_admission(tenant, counts, protocol, None, now_ms);
    if tenant.limits.rate.is_none() || cost(counts) == 0 || fresh.new_state.is_none() {
        return SharedAdmission::plain(fresh);
    }
    let mut key = bucket_key(tenant.id);
    let mut overflow = false;
    for _ in 0..MAX_ATTEMPTS {
        let (value, cas) = match store.get(&key) {
            Ok(found) => found,
            Err(e) => return fail_open(e, overflow),
        };
        let creating = value.is_none();
        let counted = creating && !tenant.overridden && !overflow;
        if counted {
            match has_room(store, tenants.max_tenants) {
                Ok(true) => {}
                Ok(false) => {
                    key = String::from(OVERFLOW_KEY);
                    overflow = true;
                    continue;
                }
                Err(e) => return fail_open(e, overflow),
            }
        }
        let state = value.as_deref().and_then(BucketState::from_bytes);
        let admission = decide_admission(tenant, counts, protocol, state, now_ms);
        let Some(new_state) = admission.new_state else {
            return SharedAdmission {
                admission,
                overflow,
                host_error: None,
            };
        };
        let token = if creating { CREATE_CAS } else { cas };
        match store.set(&key, &new_state.to_bytes(), token) {
            Ok(()) => {
                let host_error = if counted {
                    count_tenant(store).err().map(|e| match e {
                        StoreError::CasMismatch => String::from("tenant count contended"),
                        StoreError::Host(message) => message,
                    })
                } else {
                    None
                };
                return SharedAdmission {
                    admission,
                    overflow,
                    host_error,
                };
            }
            Err(StoreError::CasMismatch) => continue,
            Err(e) => return fail_open(e, overflow),
        }
    }
    SharedAdmission {
        admission: Admission::contended(tenant, protocol),
        overflow,
        host_error: None,
    }
}

#[cfg(test)]
mod tests;
