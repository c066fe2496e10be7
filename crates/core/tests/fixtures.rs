//! prw-core on the fixtures of `testdata/`: negotiation from the captured headers, and the
//! borrowed view agreeing with prost on real bodies.

#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use prost::Message;
use prw_core::negotiate::negotiate;
use prw_core::proto::{v1, v2};
use prw_core::validate::{Mode, validate};
use prw_core::{Limits, Protocol, codec};

fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[test]
fn captured_headers_negotiate_to_the_fixture_protocol_and_gzip_is_415() {
    let cases = [
        ("prometheus-2.42/samples.headers", Some(Protocol::V1)),
        ("v1/valid.headers", Some(Protocol::V1)),
        ("v2/valid.headers", Some(Protocol::V2)),
        ("v1/gzip.headers", None),
    ];
    for (file, want) in cases {
        let h = std::fs::read_to_string(testdata(file)).unwrap();
        let got = negotiate(header(&h, "content-type"), header(&h, "content-encoding"));
        match want {
            Some(p) => assert_eq!(got.unwrap().protocol(), p, "{file}"),
            None => assert_eq!(got.unwrap_err().status(), 415, "{file}"),
        }
    }
}

#[test]
fn view_counts_match_prost_on_real_prometheus_bodies() {
    for file in [
        "prometheus-2.42/samples.bin",
        "prometheus-2.42/metadata.bin",
    ] {
        let body = std::fs::read(testdata(file)).unwrap();
        let decoded = codec::decompress(&body, &Limits::default()).unwrap();
        let v = validate(&decoded, Protocol::V1, &Limits::default(), Mode::Report).unwrap();
        let owned = v1::WriteRequest::decode(decoded.as_slice()).unwrap();
        assert_eq!(v.counts.series, owned.timeseries.len() as u64, "{file}");
        assert_eq!(v.counts.metadata, owned.metadata.len() as u64, "{file}");
        assert!(!v.has_errors(), "{file}: {:?}", v.findings);
    }
}

#[test]
fn independent_v2_encoding_round_trips_through_prost_byte_for_byte() {
    // Python's protobuf serialises deterministically in field order, packed: so does prost.
    let pb = std::fs::read(testdata("v2/valid.pb")).unwrap();
    let req = v2::Request::decode(pb.as_slice()).unwrap();
    assert_eq!(req.symbols.first().map(String::as_str), Some(""));
    assert_eq!(req.encode_to_vec(), pb);
}
