use std::collections::HashSet;

use prw_core::validate::{Mode, Severity, validate};
use prw_core::{Limits, Protocol};

use super::*;

fn shape(protocol: Protocol) -> Shape {
    Shape {
        series: 2000,
        labels: 10,
        samples: 2,
        protocol,
        seed: 7,
    }
}

/// Decodes one v1 body through v2 -> v1 when needed, with prw-core only.
fn decode_v1(payload: &Payload, protocol: Protocol) -> v1::WriteRequest {
    let decoded = prw_core::codec::decompress(&payload.body, &Limits::default()).unwrap();
    assert_eq!(decoded.len(), payload.decoded_len);
    match protocol {
        Protocol::V1 => v1::WriteRequest::decode(decoded.as_slice()).unwrap(),
        Protocol::V2 => {
            let v2 = prw_core::proto::v2::Request::decode(decoded.as_slice()).unwrap();
            prw_core::convert::v2_to_v1(&v2).unwrap()
        }
    }
}

#[test]
fn generated_payloads_validate_without_errors_in_both_protocols() {
    for protocol in [Protocol::V1, Protocol::V2] {
        for payload in generate(&shape(protocol), 2, 1_700_000_000_000).unwrap() {
            let decoded = prw_core::codec::decompress(&payload.body, &Limits::default()).unwrap();
            let validation =
                validate(&decoded, protocol, &Limits::default(), Mode::Report).unwrap();
            let errors: Vec<_> = validation
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{protocol:?}: {errors:?}");
            assert_eq!(validation.counts.series, 2000);
            assert_eq!(validation.counts.samples, 4000);
        }
    }
}

#[test]
fn payloads_have_the_requested_shape_and_distinct_series() {
    for protocol in [Protocol::V1, Protocol::V2] {
        let payloads = generate(&shape(protocol), 1, 0).unwrap();
        let request = decode_v1(&payloads[0], protocol);
        assert_eq!(request.timeseries.len(), 2000);
        assert_eq!(payloads[0].samples, 4000);
        let mut sets = HashSet::new();
        for series in &request.timeseries {
            assert_eq!(series.labels.len(), 10);
            assert_eq!(series.samples.len(), 2);
            assert_eq!(series.labels[0].name, "__name__");
            assert!(METRIC_NAMES.contains(&series.labels[0].value.as_str()));
            let names: Vec<&str> = series.labels.iter().map(|l| l.name.as_str()).collect();
            for expected in ["namespace", "pod", "container", "instance", "job"] {
                assert!(names.contains(&expected), "{names:?}");
            }
            assert!(
                sets.insert(series.labels.clone()),
                "duplicate series {:?}",
                series.labels
            );
        }
    }
}

#[test]
fn payloads_never_share_a_timestamp() {
    let payloads = generate(&shape(Protocol::V1), 3, 1000).unwrap();
    let stamps: Vec<Vec<i64>> = payloads
        .iter()
        .map(|p| {
            decode_v1(p, Protocol::V1).timeseries[0]
                .samples
                .iter()
                .map(|s| s.timestamp)
                .collect()
        })
        .collect();
    assert_eq!(
        stamps,
        vec![vec![1000, 1001], vec![1002, 1003], vec![1004, 1005]]
    );
}

#[test]
fn same_seed_gives_the_same_bytes_and_another_seed_does_not() {
    let a = generate(&shape(Protocol::V1), 1, 5).unwrap();
    let b = generate(&shape(Protocol::V1), 1, 5).unwrap();
    let c = generate(
        &Shape {
            seed: 8,
            ..shape(Protocol::V1)
        },
        1,
        5,
    )
    .unwrap();
    assert_eq!(a[0].body, b[0].body);
    assert_ne!(a[0].body, c[0].body);
}

#[test]
fn more_labels_than_the_name_list_get_extra_labels_up_to_the_limit() {
    let s = Shape {
        series: 3,
        labels: MAX_LABELS,
        ..shape(Protocol::V1)
    };
    let request = decode_v1(&generate(&s, 1, 0).unwrap()[0], Protocol::V1);
    assert_eq!(request.timeseries[0].labels.len(), MAX_LABELS);
    assert!(
        request.timeseries[0]
            .labels
            .iter()
            .any(|l| l.name == "extra_label_12")
    );
}

#[test]
fn impossible_shapes_are_refused_with_the_reason() {
    let refuse = |s: Shape| generate(&s, 1, 0).unwrap_err();
    assert_eq!(
        refuse(Shape {
            labels: 1,
            ..shape(Protocol::V1)
        }),
        ShapeError::Labels(1)
    );
    assert_eq!(
        refuse(Shape {
            labels: 31,
            ..shape(Protocol::V1)
        }),
        ShapeError::Labels(31)
    );
    assert_eq!(
        refuse(Shape {
            series: 0,
            ..shape(Protocol::V1)
        }),
        ShapeError::Zero("series per request")
    );
    assert_eq!(
        refuse(Shape {
            samples: 0,
            ..shape(Protocol::V1)
        }),
        ShapeError::Zero("samples per series")
    );
}
