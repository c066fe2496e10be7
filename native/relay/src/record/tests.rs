use super::*;
use proptest::prelude::*;

fn sample_record() -> Record {
    Record {
        protocol: Protocol::V2,
        received_at_ms: 1_700_000_000_000,
        max_timestamp_ms: Some(1_699_999_999_000),
        samples: 2000,
        histograms: 3,
        exemplars: 1,
        headers: vec![ForwardedHeader::new("X-Scope-OrgID", "tenant-a").unwrap()],
        body: vec![0x05, 0x10, 1, 2, 3, 4, 5],
    }
}

#[test]
fn record_round_trips() {
    let record = sample_record();
    assert_eq!(Record::decode(&record.encode().unwrap()), Ok(record));
}

#[test]
fn record_without_timestamp_round_trips_as_none() {
    let record = Record {
        max_timestamp_ms: None,
        ..sample_record()
    };
    let decoded = Record::decode(&record.encode().unwrap()).unwrap();
    assert_eq!(decoded.max_timestamp_ms, None);
}

#[test]
fn header_names_are_stored_lower_case() {
    let header = ForwardedHeader::new("X-Scope-OrgID", "a").unwrap();
    assert_eq!(header.name(), "x-scope-orgid");
}

#[test]
fn invalid_headers_are_refused() {
    assert!(ForwardedHeader::new("", "v").is_none());
    assert!(ForwardedHeader::new("bad name", "v").is_none());
    assert!(ForwardedHeader::new("x", "line\nbreak").is_none());
}

#[test]
fn unknown_version_is_rejected() {
    let mut bytes = sample_record().encode().unwrap();
    bytes[0] = 9;
    assert_eq!(Record::decode(&bytes), Err(RecordError::UnknownVersion(9)));
}

#[test]
fn unknown_protocol_is_rejected() {
    let mut bytes = sample_record().encode().unwrap();
    bytes[1] = 3;
    assert_eq!(Record::decode(&bytes), Err(RecordError::UnknownProtocol(3)));
}

#[test]
fn truncated_record_names_offset() {
    let bytes = sample_record().encode().unwrap();
    let err = Record::decode(&bytes[..20]).unwrap_err();
    assert_eq!(
        err,
        RecordError::Truncated {
            offset: 18,
            needed: 4,
            available: 2
        }
    );
}

#[test]
fn header_length_past_the_end_is_truncation_not_panic() {
    let mut bytes = sample_record().encode().unwrap();
    // First header's name length -> 60000.
    bytes[32] = 0x60;
    bytes[33] = 0xEA;
    assert!(matches!(
        Record::decode(&bytes),
        Err(RecordError::Truncated { offset: 34, .. })
    ));
}

fn header_strategy() -> impl Strategy<Value = ForwardedHeader> {
    ("[a-z0-9-]{1,20}", "[ -~]{0,40}").prop_map(|(n, v)| ForwardedHeader::new(&n, &v).unwrap())
}

proptest! {
    #[test]
    fn any_record_round_trips(
        v2 in any::<bool>(),
        received in any::<i64>(),
        max_ts in proptest::option::of(any::<i64>().prop_filter("MIN encodes None", |t| *t != i64::MIN)),
        counts in any::<(u32, u32, u32)>(),
        headers in proptest::collection::vec(header_strategy(), 0..4),
        body in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let record = Record {
            protocol: if v2 { Protocol::V2 } else { Protocol::V1 },
            received_at_ms: received,
            max_timestamp_ms: max_ts,
            samples: counts.0,
            histograms: counts.1,
            exemplars: counts.2,
            headers,
            body,
        };
        prop_assert_eq!(Record::decode(&record.encode().unwrap()), Ok(record));
    }

    #[test]
    fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..128)) {
        let _ = Record::decode(&bytes);
    }
}
