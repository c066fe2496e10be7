//! Field numbers pinned against hand-written bytes (an encoder independent of prost and
//! of our view): one comment per field, numbers from remote-write.md section 3.

use prost::Message;

use super::{v1, v2};

#[rustfmt::skip]
const V2_REQUEST: &[u8] = &[
    0x22, 0x00,                                     // symbols[0] = ""            (4, LEN)
    0x22, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_', // symbols[1] = "__name__"
    0x22, 0x02, b'u', b'p',                         // symbols[2] = "up"
    0x22, 0x04, b'h', b'e', b'l', b'p',             // symbols[3] = "help"
    0x2a, 0x2a,                                     // timeseries[0]             (5, LEN 42)
        0x0a, 0x02, 0x01, 0x02,                     //   labels_refs = [1, 2]    (1, packed)
        0x12, 0x0d,                                 //   samples[0]              (2, LEN 13)
            0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,     //     value = 1.0           (1, I64)
            0x10, 0x64,                             //     timestamp = 100       (2, VARINT)
            0x18, 0x32,                             //     start_timestamp = 50  (3, VARINT)
        0x22, 0x0f,                                 //   exemplars[0]            (4, LEN 15)
            0x0a, 0x02, 0x01, 0x02,                 //     labels_refs = [1, 2]  (1, packed)
            0x11, 0, 0, 0, 0, 0, 0, 0, 0x40,        //     value = 2.0           (2, I64)
            0x18, 0x05,                             //     timestamp = 5         (3, VARINT)
        0x2a, 0x04,                                 //   metadata                (5, LEN 4)
            0x08, 0x01,                             //     type = COUNTER        (1)
            0x18, 0x03,                             //     help_ref = 3          (3)
    0x2a, 0x5f,                                     // timeseries[1]             (5, LEN 95)
        0x0a, 0x02, 0x01, 0x02,                     //   labels_refs = [1, 2]
        0x1a, 0x59,                                 //   histograms[0]           (3, LEN 89)
            0x08, 0x03,                             //     count_int = 3         (1)
            0x19, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f,     //     sum = 1.5             (3, I64)
            0x20, 0x69,                             //     schema = -53 (zigzag) (4, sint32)
            0x29, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f,     //     zero_threshold = 0.5  (5, I64)
            0x30, 0x01,                             //     zero_count_int = 1    (6)
            0x42, 0x04, 0x08, 0x01, 0x10, 0x01,     //     negative_spans[0] = {offset -1, length 1} (8)
            0x4a, 0x01, 0x03,                       //     negative_deltas = [-2] (9, packed sint64)
            0x52, 0x08, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, //   negative_counts = [1.0] (10, packed double)
            0x5a, 0x04, 0x08, 0x00, 0x10, 0x02,     //     positive_spans[0] = {offset 0, length 2} (11)
            0x62, 0x02, 0x02, 0x01,                 //     positive_deltas = [1, -1] (12)
            0x6a, 0x08, 0, 0, 0, 0, 0, 0, 0xd0, 0x3f, //   positive_counts = [0.25] (13)
            0x70, 0x02,                             //     reset_hint = NO       (14)
            0x78, 0x07,                             //     timestamp = 7         (15)
            0x82, 0x01, 0x10,                       //     custom_values         (16, LEN 16)
                0, 0, 0, 0, 0, 0, 0xf0, 0x3f,       //       1.0
                0, 0, 0, 0, 0, 0, 0, 0x40,          //       2.0
            0x88, 0x01, 0x04,                       //     start_timestamp = 4   (17, VARINT)
];

#[test]
fn v2_field_numbers_match_hand_written_bytes() {
    let req = v2::Request::decode(V2_REQUEST).unwrap();
    assert_eq!(req.symbols, ["", "__name__", "up", "help"]);
    let ts = &req.timeseries[0];
    assert_eq!(ts.labels_refs, [1, 2]);
    assert_eq!(
        ts.samples,
        [v2::Sample {
            value: 1.0,
            timestamp: 100,
            start_timestamp: 50
        }]
    );
    assert_eq!(
        ts.exemplars[0],
        v2::Exemplar {
            labels_refs: vec![1, 2],
            value: 2.0,
            timestamp: 5
        }
    );
    assert_eq!(
        ts.metadata,
        Some(v2::Metadata {
            r#type: 1,
            help_ref: 3,
            unit_ref: 0
        })
    );
    let h = &req.timeseries[1].histograms[0];
    assert_eq!(h.count, Some(v2::Count::CountInt(3)));
    assert_eq!((h.sum, h.schema, h.zero_threshold), (1.5, -53, 0.5));
    assert_eq!(h.zero_count, Some(v2::ZeroCount::ZeroCountInt(1)));
    assert_eq!(
        h.negative_spans,
        [v2::BucketSpan {
            offset: -1,
            length: 1
        }]
    );
    assert_eq!(
        (h.negative_deltas.as_slice(), h.negative_counts.as_slice()),
        (&[-2i64][..], &[1.0][..])
    );
    assert_eq!(
        h.positive_spans,
        [v2::BucketSpan {
            offset: 0,
            length: 2
        }]
    );
    assert_eq!(
        (h.positive_deltas.as_slice(), h.positive_counts.as_slice()),
        (&[1i64, -1][..], &[0.25][..])
    );
    assert_eq!((h.reset_hint, h.timestamp, h.start_timestamp), (2, 7, 4));
    assert_eq!(h.custom_values, [1.0, 2.0]);
}

#[test]
fn v2_view_reads_the_hand_written_bytes_like_prost() {
    use crate::validate::{Mode, validate};
    let v = validate(
        V2_REQUEST,
        crate::Protocol::V2,
        &crate::Limits::default(),
        Mode::Report,
    )
    .unwrap();
    assert_eq!(
        (v.counts.series, v.counts.samples, v.counts.histograms),
        (2, 1, 1)
    );
    assert_eq!((v.counts.exemplars, v.counts.metadata), (1, 1));
}

#[rustfmt::skip]
const V1_REQUEST: &[u8] = &[
    0x0a, 0x2c,                                     // timeseries[0]              (1, LEN 44)
        0x0a, 0x0c,                                 //   labels[0]                (1, LEN 12)
            0x0a, 0x08, b'_', b'_', b'n', b'a', b'm', b'e', b'_', b'_', // name (1)
            0x12, 0x00,                             //     value = ""          (2)
        0x12, 0x0b,                                 //   samples[0]               (2, LEN 11)
            0x09, 0, 0, 0, 0, 0, 0, 0x08, 0x40,     //     value = 3.0            (1, I64)
            0x10, 0x09,                             //     timestamp = 9          (2)
        0x1a, 0x0b,                                 //   exemplars[0]             (3, LEN 11)
            0x11, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f,     //     value = 1.0            (2, I64)
            0x18, 0x08,                             //     timestamp = 8          (3)
        0x22, 0x02,                                 //   histograms[0]            (4, LEN 2)
            0x78, 0x06,                             //     timestamp = 6          (15)
    0x1a, 0x0e,                                     // metadata[0]                (3, LEN 14)
        0x08, 0x02,                                 //   type = GAUGE             (1)
        0x12, 0x02, b'u', b'p',                     //   metric_family_name = "up" (2)
        0x22, 0x02, b'h', b'i',                     //   help = "hi"              (4)
        0x2a, 0x02, b'm', b's',                     //   unit = "ms"              (5)
];

#[test]
fn v1_field_numbers_match_hand_written_bytes() {
    let req = v1::WriteRequest::decode(V1_REQUEST).unwrap();
    let ts = &req.timeseries[0];
    assert_eq!(
        ts.labels,
        [v1::Label {
            name: "__name__".into(),
            value: String::new()
        }]
    );
    assert_eq!(
        ts.samples,
        [v1::Sample {
            value: 3.0,
            timestamp: 9
        }]
    );
    assert_eq!(
        ts.exemplars,
        [v1::Exemplar {
            labels: vec![],
            value: 1.0,
            timestamp: 8
        }]
    );
    assert_eq!(ts.histograms[0].timestamp, 6);
    assert_eq!(
        req.metadata,
        [v1::MetricMetadata {
            r#type: 2,
            metric_family_name: "up".into(),
            help: "hi".into(),
            unit: "ms".into()
        }]
    );
}

#[test]
fn v1_and_v2_bodies_decode_empty_in_the_other_schema() {
    let as_v1 = v1::WriteRequest::decode(V2_REQUEST).unwrap();
    assert!(as_v1.timeseries.is_empty() && as_v1.metadata.is_empty());
    let as_v2 = v2::Request::decode(V1_REQUEST).unwrap();
    assert!(as_v2.timeseries.is_empty() && as_v2.symbols.is_empty());
}
