//! Token bucket arithmetic: examples and the invariants as properties.

use alloc::vec::Vec;

use proptest::prelude::*;

use super::*;

fn rate(per_second: f64, burst: u64) -> Rate {
    Rate::new(per_second, burst).unwrap()
}

#[test]
fn a_full_bucket_admits_the_burst_then_refills_at_the_rate() {
    let r = rate(10.0, 20);
    let Take::Admitted(s) = take(&r, None, 20, 1_000) else {
        panic!("a full bucket admits its burst");
    };
    assert_eq!(s.tokens(), 0);
    assert_eq!(
        take(&r, Some(s), 1, 1_000),
        Take::Limited {
            retry_after_secs: 1,
            available: 0
        }
    );
    // 100 ms at 10/s is one token.
    assert!(matches!(take(&r, Some(s), 1, 1_100), Take::Admitted(_)));
    assert!(matches!(take(&r, Some(s), 2, 1_100), Take::Limited { .. }));
    // Never more than the burst, however long it waited.
    assert_eq!(s.refilled(&r, 1_000_000_000).tokens(), 20);
}

#[test]
fn retry_after_is_the_refill_time_rounded_up_to_seconds() {
    let r = rate(100.0, 1000);
    let empty = BucketState {
        micro_tokens: 0,
        updated_ms: 0,
    };
    // 1000 tokens at 100/s: 10 s.
    assert_eq!(
        take(&r, Some(empty), 1000, 0),
        Take::Limited {
            retry_after_secs: 10,
            available: 0
        }
    );
    // 150 tokens: 1.5 s -> 2.
    assert!(matches!(
        take(&r, Some(empty), 150, 0),
        Take::Limited {
            retry_after_secs: 2,
            ..
        }
    ));
}

#[test]
fn a_request_bigger_than_the_burst_can_never_be_taken() {
    assert_eq!(take(&rate(1e6, 100), None, 101, 0), Take::TooLarge);
}

#[test]
fn a_fractional_rate_refills_exactly() {
    let r = rate(0.5, 1);
    let empty = BucketState {
        micro_tokens: 0,
        updated_ms: 0,
    };
    assert_eq!(empty.refilled(&r, 1_999).tokens(), 0);
    assert_eq!(empty.refilled(&r, 2_000).tokens(), 1);
    assert!((r.per_second() - 0.5).abs() < 1e-12);
    assert_eq!(r.per_second_text(), "0.5");
    assert_eq!(rate(500.0, 1).per_second_text(), "500");
    assert_eq!(rate(12.125, 1).per_second_text(), "12.125");
    assert_eq!(rate(0.001, 1).per_second_text(), "0.001");
}

#[test]
fn rates_that_cannot_work_are_refused() {
    for bad in [0.0, -1.0, 0.0004, f64::NAN, f64::INFINITY, 1e30] {
        assert_eq!(Rate::new(bad, 10), None, "{bad}");
    }
    assert_eq!(Rate::new(10.0, 0), None);
    assert!(Rate::new(0.001, 1).is_some());
}

#[test]
fn the_state_survives_its_byte_form_and_other_lengths_are_refused() {
    let s = BucketState {
        micro_tokens: 123_456_789,
        updated_ms: -42,
    };
    assert_eq!(BucketState::from_bytes(&s.to_bytes()), Some(s));
    assert_eq!(BucketState::from_bytes(&[0; 15]), None);
    assert_eq!(BucketState::from_bytes(&[0; 17]), None);
}

proptest! {
    #[test]
    fn admitted_tokens_stay_within_burst_plus_rate_times_time(
        per_second in 0.001f64..5000.0,
        burst in 1u64..10_000,
        steps in proptest::collection::vec((-500i64..3_000, 0u64..12_000), 1..60),
    ) {
        let r = rate(per_second, burst);
        let mut now = 1_700_000_000_000i64;
        // No state is a full bucket at whatever time it is read: the bucket starts at the
        // first admission.
        let mut first: Option<i64> = None;
        let mut latest = i64::MIN;
        let mut state = None;
        let mut admitted: u128 = 0;
        for (dt, cost) in steps {
            now += dt;
            latest = latest.max(now);
            match take(&r, state, cost, now) {
                Take::Admitted(s) => {
                    first.get_or_insert(now);
                    prop_assert!(s.micro_tokens <= burst * MICRO);
                    prop_assert!(s.updated_ms >= state.map_or(i64::MIN, |p: BucketState| p.updated_ms));
                    admitted += u128::from(cost);
                    state = Some(s);
                }
                Take::Limited { retry_after_secs, .. } => prop_assert!(retry_after_secs >= 1),
                Take::TooLarge => prop_assert!(cost > burst),
            }
            // Micro-tokens handed out <= capacity + refill over the window seen so far.
            let window = first.map_or(0, |f| latest - f);
            let bound = u128::from(burst) * u128::from(MICRO)
                + window as u128 * u128::from(r.micro_per_ms);
            prop_assert!(admitted * u128::from(MICRO) <= bound, "{admitted} > {bound}");
        }
    }

    #[test]
    fn waiting_retry_after_admits_when_nobody_else_takes(
        per_second in 0.001f64..5000.0,
        burst in 1u64..10_000,
        tokens in 0u64..10_000,
        cost in 0u64..10_000,
        now in -1_000_000i64..1_000_000,
    ) {
        let r = rate(per_second, burst);
        let state = BucketState { micro_tokens: tokens.min(burst) * MICRO, updated_ms: now };
        match take(&r, Some(state), cost, now) {
            Take::Limited { retry_after_secs, .. } => {
                let later = now + i64::from(retry_after_secs) * 1000;
                prop_assert!(matches!(take(&r, Some(state), cost, later), Take::Admitted(_)));
            }
            Take::TooLarge => prop_assert!(cost > burst),
            Take::Admitted(s) => prop_assert_eq!(s.micro_tokens, state.micro_tokens - cost * MICRO),
        }
    }

    #[test]
    fn a_clock_reading_behind_the_state_refills_nothing(
        tokens in 0u64..1000, back in 1i64..10_000,
    ) {
        let r = rate(100.0, 1000);
        let s = BucketState { micro_tokens: tokens * MICRO, updated_ms: 50_000 };
        let refilled = s.refilled(&r, 50_000 - back);
        prop_assert_eq!(refilled, s);
    }

    #[test]
    fn from_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
        let parsed = BucketState::from_bytes(&bytes);
        prop_assert_eq!(parsed.is_some(), bytes.len() == BucketState::ENCODED_LEN);
        let _: Vec<u8> = parsed.map(|s| s.to_bytes().to_vec()).unwrap_or_default();
    }
}
