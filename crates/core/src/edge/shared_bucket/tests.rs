//! The shared buckets against an in-memory store with Envoy's shared-data semantics,
//! including other workers interleaving between a read and its compare-and-swap.

use alloc::string::ToString;
use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;
use crate::edge::bucket::MICRO;

/// The tokens in `key`'s bucket.
fn tokens(store: &mut MemoryStore, key: &str) -> Option<u64> {
    let (value, _) = store.get(key).ok()?;
    value
        .and_then(|v| BucketState::from_bytes(&v))
        .map(|s| s.tokens())
}

fn config(json: &str) -> TenantsConfig {
    let config: TenantsConfig = serde_json::from_str(json).unwrap();
    config.check().unwrap();
    config
}

fn samples(n: u64) -> Counts {
    Counts {
        series: 1,
        samples: n,
        ..Counts::default()
    }
}

fn admit(
    store: &mut impl SharedStore,
    tenants: &TenantsConfig,
    id: &str,
    n: u64,
    now: i64,
) -> SharedAdmission {
    let tenant = tenants.resolve(Some(id));
    admit_shared(store, tenants, &tenant, &samples(n), Protocol::V1, now)
}

const LIMITED: &str = r#"{"default": {"ingestion_rate": 10, "ingestion_burst_size": 100}, "max_tenants": 2,
    "overrides": {"vip": {"ingestion_rate": 1000, "ingestion_burst_size": 5000}}}"#;

#[test]
fn each_tenant_has_its_own_bucket_in_the_store() {
    let tenants = config(LIMITED);
    let mut store = MemoryStore::default();
    assert_eq!(
        admit(&mut store, &tenants, "a", 60, 0).admission.outcome,
        TenantOutcome::Admitted
    );
    assert_eq!(
        admit(&mut store, &tenants, "b", 100, 0).admission.outcome,
        TenantOutcome::Admitted
    );
    let again = admit(&mut store, &tenants, "a", 60, 0);
    assert_eq!(again.admission.outcome, TenantOutcome::RateLimited);
    assert_eq!(tokens(&mut store, &bucket_key("a")), Some(40));
    assert_eq!(tokens(&mut store, &bucket_key("b")), Some(0));
    assert_eq!(read_count(store.get(TENANTS_KEY).unwrap().0.as_deref()), 2);
}

#[test]
fn tenants_beyond_max_tenants_share_the_overflow_bucket_and_overrides_never_do() {
    let tenants = config(LIMITED);
    let mut store = MemoryStore::default();
    for id in ["a", "b"] {
        assert!(!admit(&mut store, &tenants, id, 1, 0).overflow);
    }
    let c = admit(&mut store, &tenants, "c", 70, 0);
    assert!(c.overflow);
    assert_eq!(c.admission.outcome, TenantOutcome::Admitted);
    // d shares c's bucket: 30 left.
    let d = admit(&mut store, &tenants, "d", 40, 0);
    assert!(d.overflow);
    assert_eq!(d.admission.outcome, TenantOutcome::RateLimited);
    assert_eq!(tokens(&mut store, OVERFLOW_KEY), Some(30));
    assert_eq!(tokens(&mut store, &bucket_key("c")), None);
    // Overrides always get their own bucket and are not counted.
    let vip = admit(&mut store, &tenants, "vip", 4000, 0);
    assert!(!vip.overflow);
    assert_eq!(tokens(&mut store, &bucket_key("vip")), Some(1000));
    assert_eq!(read_count(store.get(TENANTS_KEY).unwrap().0.as_deref()), 2);
}

#[test]
fn what_needs_no_bucket_does_not_touch_the_store() {
    let tenants = config(
        r#"{"default": {"ingestion_rate": 10, "ingestion_burst_size": 100, "max_series_per_request": 5}}"#,
    );
    let mut store = MemoryStore::default();
    assert_eq!(
        admit(&mut store, &tenants, "a", 101, 0).admission.outcome,
        TenantOutcome::BurstExceeded
    );
    let tenant = tenants.resolve(Some("a"));
    let many = Counts {
        series: 6,
        samples: 6,
        ..Counts::default()
    };
    let a = admit_shared(&mut store, &tenants, &tenant, &many, Protocol::V2, 0);
    assert_eq!(a.admission.outcome, TenantOutcome::SeriesLimited);
    assert!(store.is_empty());
}

/// Every compare-and-swap loses.
struct AlwaysContended(MemoryStore);

impl SharedStore for AlwaysContended {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        self.0.get(key)
    }
    fn set(&mut self, _: &str, _: &[u8], _: u32) -> Result<(), StoreError> {
        Err(StoreError::CasMismatch)
    }
}

#[test]
fn a_bucket_that_never_settles_is_429_retry_after_1() {
    let tenants = config(LIMITED);
    let a = admit(
        &mut AlwaysContended(MemoryStore::default()),
        &tenants,
        "a",
        1,
        0,
    );
    assert_eq!(a.admission.outcome, TenantOutcome::RateLimited);
    let reply = a.admission.rejection.unwrap().reply;
    assert_eq!(reply.status, 429);
    assert!(reply.headers.contains(&("retry-after", "1".to_string())));
}

/// The host fails.
struct Broken;

impl SharedStore for Broken {
    fn get(&mut self, _: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        Err(StoreError::Host("NotFound".to_string()))
    }
    fn set(&mut self, _: &str, _: &[u8], _: u32) -> Result<(), StoreError> {
        Err(StoreError::Host("NotFound".to_string()))
    }
}

#[test]
fn a_failing_host_passes_the_request_and_says_why() {
    let tenants = config(LIMITED);
    let a = admit(&mut Broken, &tenants, "a", 1, 0);
    assert_eq!(a.admission.outcome, TenantOutcome::Admitted);
    assert_eq!(a.host_error.as_deref(), Some("NotFound"));
}

/// Another worker admits a request between each read and its compare-and-swap, as often
/// as `interleave` says.
struct Interleaved<'a> {
    store: MemoryStore,
    tenants: &'a TenantsConfig,
    interleave: Vec<(bool, u64)>,
    now: i64,
    admitted_by_others: u64,
}

impl SharedStore for Interleaved<'_> {
    fn get(&mut self, key: &str) -> Result<(Option<Vec<u8>>, u32), StoreError> {
        self.store.get(key)
    }

    fn set(&mut self, key: &str, value: &[u8], cas: u32) -> Result<(), StoreError> {
        if let Some((true, n)) = self.interleave.pop() {
            let other = admit(&mut self.store, self.tenants, "a", n, self.now);
            if other.admission.outcome == TenantOutcome::Admitted {
                self.admitted_by_others += n;
            }
        }
        self.store.set(key, value, cas)
    }
}

proptest! {
    #[test]
    fn interleaved_workers_never_admit_more_than_burst_plus_rate_times_time(
        requests in proptest::collection::vec((0i64..400, 1u64..60), 1..40),
        interleave in proptest::collection::vec((any::<bool>(), 1u64..60), 0..80),
    ) {
        let tenants = config(LIMITED);
        let mut store = Interleaved {
            store: MemoryStore::default(),
            tenants: &tenants,
            interleave,
            now: 0,
            admitted_by_others: 0,
        };
        let mut admitted = 0u64;
        for (dt, n) in requests {
            store.now += dt;
            let now = store.now;
            let a = admit(&mut store, &tenants, "a", n, now);
            if a.admission.outcome == TenantOutcome::Admitted {
                admitted += n;
            }
        }
        // 10/s, burst 100.
        let bound = 100 * MICRO + store.now as u64 * 10_000;
        let total = admitted + store.admitted_by_others;
        prop_assert!(total * MICRO <= bound, "{total} samples in {} ms", store.now);
    }
}
