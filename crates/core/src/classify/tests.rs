use super::*;
use alloc::vec::Vec;
use core::time::Duration;
use proptest::prelude::*;

const WRITTEN: Option<WrittenCounts> = Some(WrittenCounts {
    samples: 1,
    histograms: 0,
    exemplars: 0,
});

#[test]
fn success_statuses_move_on() {
    for status in [200, 202, 204, 299] {
        assert_eq!(
            classify(status, Protocol::V1, None),
            RetryDecision::Success,
            "{status}"
        );
        assert_eq!(
            classify(status, Protocol::V2, WRITTEN),
            RetryDecision::Success,
            "{status}"
        );
    }
}

#[test]
fn v2_success_without_written_headers_falls_back_to_v1() {
    assert_eq!(
        classify(204, Protocol::V2, None),
        RetryDecision::FallBackToV1
    );
}

#[test]
fn v2_success_with_zero_written_headers_is_still_success() {
    let zero = Some(WrittenCounts::default());
    assert_eq!(classify(204, Protocol::V2, zero), RetryDecision::Success);
}

#[test]
fn unsupported_media_type_falls_back_only_for_v2() {
    assert_eq!(
        classify(415, Protocol::V2, None),
        RetryDecision::FallBackToV1
    );
    assert_eq!(classify(415, Protocol::V1, None), RetryDecision::Drop);
}

#[test]
fn too_many_requests_is_retried_only_when_enabled() {
    let decision = classify(429, Protocol::V1, None);
    assert_eq!(decision, RetryDecision::RetryIf429Enabled);
    assert!(decision.resends(true));
    assert!(!decision.resends(false));
    assert!(decision.honours_retry_after());
}

#[test]
fn server_errors_are_retried() {
    for status in [500, 502, 503, 504, 529, 599] {
        let decision = classify(status, Protocol::V1, None);
        assert_eq!(decision, RetryDecision::Retry, "{status}");
        assert!(decision.resends(false));
    }
}

#[test]
fn client_errors_other_than_429_are_dropped() {
    for status in [400, 401, 403, 404, 405, 408, 409, 413, 422, 499] {
        let decision = classify(status, Protocol::V1, None);
        assert_eq!(decision, RetryDecision::Drop, "{status}");
        assert!(!decision.resends(true));
        assert!(!decision.honours_retry_after());
    }
}

#[test]
fn statuses_outside_the_known_classes_are_dropped() {
    for status in [0, 100, 101, 301, 302, 304, 600, 999, u16::MAX] {
        assert_eq!(
            classify(status, Protocol::V1, None),
            RetryDecision::Drop,
            "{status}"
        );
    }
}

#[test]
fn transport_errors_are_retried() {
    assert_eq!(classify_transport_error(), RetryDecision::Retry);
}

#[test]
fn retry_advice_follows_the_table() {
    assert_eq!(retry_advice(204), RetryAdvice::No);
    assert_eq!(retry_advice(400), RetryAdvice::No);
    assert_eq!(retry_advice(413), RetryAdvice::No);
    assert_eq!(retry_advice(415), RetryAdvice::No);
    assert_eq!(retry_advice(429), RetryAdvice::If429Enabled);
    assert_eq!(retry_advice(500), RetryAdvice::Yes);
    assert_eq!(retry_advice(503), RetryAdvice::Yes);
}

#[test]
fn retry_advice_serializes_as_the_report_strings() {
    let json = |a| serde_json::to_string(&a).unwrap();
    assert_eq!(json(RetryAdvice::Yes), "\"yes\"");
    assert_eq!(json(RetryAdvice::No), "\"no\"");
    assert_eq!(json(RetryAdvice::If429Enabled), "\"if_429_enabled\"");
}

proptest! {
    #[test]
    fn classification_never_retries_a_permanent_4xx(status in any::<u16>(), v2 in any::<bool>(), written in any::<bool>()) {
        let sent = if v2 { Protocol::V2 } else { Protocol::V1 };
        let counts = written.then_some(WrittenCounts::default());
        let decision = classify(status, sent, counts);
        if (400..500).contains(&status) && status != 429 && !(v2 && status == 415) {
            prop_assert_eq!(decision, RetryDecision::Drop);
        }
        if (500..600).contains(&status) {
            prop_assert_eq!(decision, RetryDecision::Retry);
        }
    }
}

// === Written headers ===

#[test]
fn written_headers_absent_give_none() {
    assert_eq!(WrittenCounts::from_headers(|_| None), None);
}

#[test]
fn written_headers_partly_present_count_missing_ones_as_zero() {
    let counts =
        WrittenCounts::from_headers(|name| (name == WrittenHeader::Samples.name()).then_some("12"));
    assert_eq!(
        counts,
        Some(WrittenCounts {
            samples: 12,
            histograms: 0,
            exemplars: 0
        })
    );
}

#[test]
fn written_header_unparsable_counts_as_zero_but_present() {
    let counts = WrittenCounts::from_headers(|name| match name {
        n if n == WrittenHeader::Samples.name() => Some("lots"),
        n if n == WrittenHeader::Exemplars.name() => Some(" 3 "),
        _ => None,
    });
    assert_eq!(
        counts,
        Some(WrittenCounts {
            samples: 0,
            histograms: 0,
            exemplars: 3
        })
    );
    assert_eq!(counts.map(|c| c.total()), Some(3));
}

// === Retry-After ===

/// 1994-11-06T08:49:37Z, the RFC's example.
const RFC_EXAMPLE: i64 = 784_111_777;

#[test]
fn retry_after_delta_seconds() {
    assert_eq!(parse_retry_after("120", 0), Ok(Duration::from_secs(120)));
    assert_eq!(parse_retry_after(" 0 ", 0), Ok(Duration::ZERO));
}

#[test]
fn retry_after_huge_delta_saturates() {
    let huge = "999999999999999999999999";
    assert_eq!(
        parse_retry_after(huge, 0),
        Ok(Duration::from_secs(u64::MAX))
    );
}

#[test]
fn retry_after_imf_fixdate_in_the_future() {
    let now = RFC_EXAMPLE - 30;
    let got = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now);
    assert_eq!(got, Ok(Duration::from_secs(30)));
}

#[test]
fn retry_after_date_in_the_past_is_zero() {
    let got = parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_EXAMPLE + 100);
    assert_eq!(got, Ok(Duration::ZERO));
}

#[test]
fn retry_after_obsolete_rfc850_date() {
    let now = RFC_EXAMPLE - 5;
    let got = parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now);
    assert_eq!(got, Ok(Duration::from_secs(5)));
}

#[test]
fn retry_after_asctime_date_with_padded_day() {
    let now = RFC_EXAMPLE - 7;
    let got = parse_retry_after("Sun Nov  6 08:49:37 1994", now);
    assert_eq!(got, Ok(Duration::from_secs(7)));
}

#[test]
fn retry_after_rejects_garbage() {
    assert_eq!(parse_retry_after("", 0), Err(RetryAfterError::Empty));
    assert_eq!(parse_retry_after("   ", 0), Err(RetryAfterError::Empty));
    for bad in [
        "soon",
        "-5",
        "1.5",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 25:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov  6 08:49:37",
    ] {
        assert_eq!(
            parse_retry_after(bad, 0),
            Err(RetryAfterError::Malformed),
            "{bad}"
        );
    }
}

proptest! {
    #[test]
    fn retry_after_matches_httpdate_for_every_second(secs in 0u64..4_102_444_800) {
        let at = std::time::UNIX_EPOCH + Duration::from_secs(secs);
        let text = httpdate::fmt_http_date(at);
        prop_assert_eq!(parse_retry_after(&text, 0), Ok(Duration::from_secs(secs)));
    }

    #[test]
    fn retry_after_never_panics(text in ".{0,40}", now in any::<i64>()) {
        let _ = parse_retry_after(&text, now);
    }
}

// === Backoff ===

#[test]
fn backoff_without_jitter_is_prometheus_schedule() {
    let mut schedule = Backoff::PROMETHEUS_DEFAULT.schedule();
    let delays: Vec<u128> = (0..10)
        .map(|_| schedule.next_delay(None, &mut NoJitter).as_millis())
        .collect();
    assert_eq!(delays, [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000]);
    assert_eq!(schedule.retries(), 10);
}

#[test]
fn retry_after_overrides_backoff_uncapped_and_doubles_next() {
    let backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(60)).unwrap();
    let mut schedule = backoff.schedule();
    let hint = Some(Duration::from_secs(90));
    assert_eq!(
        schedule.next_delay(hint, &mut NoJitter),
        Duration::from_secs(90)
    );
    // Next backoff = min(2 x 90 s, max).
    assert_eq!(
        schedule.next_delay(None, &mut NoJitter),
        Duration::from_secs(60)
    );
}

#[test]
fn zero_retry_after_means_no_hint() {
    let mut schedule = Backoff::PROMETHEUS_DEFAULT.schedule();
    assert_eq!(
        schedule.next_delay(Some(Duration::ZERO), &mut NoJitter),
        Duration::from_millis(30)
    );
}

#[test]
fn backoff_config_is_validated() {
    assert_eq!(
        Backoff::new(Duration::ZERO, Duration::from_secs(1)),
        Err(BackoffError::ZeroMin)
    );
    assert_eq!(
        Backoff::new(Duration::from_secs(2), Duration::from_secs(1)),
        Err(BackoffError::MaxBelowMin)
    );
}

#[test]
fn jitter_shortens_delays() {
    let mut schedule = Backoff::new(Duration::from_millis(10), Duration::from_secs(10))
        .unwrap()
        .schedule();
    struct AlwaysMost;
    impl Jitter for AlwaysMost {
        fn unit(&mut self) -> f64 {
            0.999_999
        }
    }
    schedule.next_delay(None, &mut AlwaysMost);
    // Base 20 ms minus (almost) 20 %.
    let second = schedule.next_delay(None, &mut AlwaysMost);
    assert!(
        second < Duration::from_millis(20) && second >= Duration::from_millis(16),
        "{second:?}"
    );
}

proptest! {
    #[test]
    fn jittered_delays_stay_within_min_and_max(seed in any::<u64>(), min_ms in 1u64..1000, extra_ms in 0u64..100_000, steps in 1usize..40) {
        let min = Duration::from_millis(min_ms);
        let max = Duration::from_millis(min_ms + extra_ms);
        let mut schedule = Backoff::new(min, max).unwrap().schedule();
        let mut rng = SplitMix64::new(seed);
        for _ in 0..steps {
            let delay = schedule.next_delay(None, &mut rng);
            prop_assert!(delay >= min && delay <= max, "{delay:?} outside [{min:?}, {max:?}]");
        }
    }

    #[test]
    fn splitmix_units_are_in_range(seed in any::<u64>()) {
        let mut rng = SplitMix64::new(seed);
        for _ in 0..100 {
            let u = rng.unit();
            prop_assert!((0.0..1.0).contains(&u));
        }
    }
}
