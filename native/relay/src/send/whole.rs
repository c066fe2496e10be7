//! The request body of a whole record ([`WholeItem`]): the body as received when the
//! destination sends the record's protocol; for a v2 record whose destination fell back to
//! v1 (it answered 415, or a 2xx without the Written headers), the record converted to v1.
//!
//! The conversion is the rare path: it runs only for v2 records already queued, or in
//! flight, when the fallback happens; after it, the dispatch cuts v2 records for v1 (see
//! `crate::delivery::forward`). It decodes with prost and converts with prw-core's
//! `v2_to_v1`, as the relay's v2 fixtures are checked, then compresses.
//!
//! Invariant: never a panic on the body (it passed ingest's validation, but any failure is
//! an [`EncodeError`] naming the record).

use bytes::Bytes;
use prost::Message;
use prw_core::Protocol;
use prw_core::proto::v2;

use super::batch::WholeItem;
use super::encode::{Compressor, EncodeError};

/// The body to send for `item` to a destination sending `protocol`.
pub fn whole_body(item: &WholeItem, protocol: Protocol) -> Result<Bytes, EncodeError> {
    match (item.protocol, protocol) {
        (record, destination) if record == destination => Ok(item.body.clone()),
        (Protocol::V2, Protocol::V1) => as_v1(item),
        (record, destination) => Err(EncodeError::WholeRecordProtocol {
            record,
            destination,
        }),
    }
}

fn as_v1(item: &WholeItem) -> Result<Bytes, EncodeError> {
    let undecodable = |detail: String| EncodeError::WholeRecordBody {
        record_seq: item.record_seq,
        detail,
    };
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&item.body)
        .map_err(|e| undecodable(format!("snappy: {e}")))?;
    let request =
        v2::Request::decode(raw.as_slice()).map_err(|e| undecodable(format!("protobuf: {e}")))?;
    let v1 =
        prw_core::convert::v2_to_v1(&request).map_err(|e| undecodable(format!("v2 to v1: {e}")))?;
    Compressor::default().compress(&v1.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use prw_core::proto::v1;

    use super::*;
    use crate::send::batch::ItemCounts;

    fn item(protocol: Protocol, body: Vec<u8>) -> WholeItem {
        WholeItem {
            body: Bytes::from(body),
            protocol,
            counts: ItemCounts::default(),
            max_timestamp_ms: 0,
            record_seq: 5,
            headers: Arc::from(Vec::new()),
        }
    }

    fn request() -> v1::WriteRequest {
        v1::WriteRequest {
            timeseries: vec![v1::TimeSeries {
                labels: vec![v1::Label {
                    name: "__name__".into(),
                    value: "up".into(),
                }],
                samples: vec![v1::Sample {
                    value: 1.0,
                    timestamp: 1_700_000_000_000,
                }],
                ..Default::default()
            }],
            metadata: vec![],
        }
    }

    #[test]
    fn the_same_protocol_sends_the_body_as_received() {
        let whole = item(Protocol::V2, b"not even snappy".to_vec());
        let body = whole_body(&whole, Protocol::V2).unwrap();
        assert_eq!(body, whole.body);
    }

    #[test]
    fn a_v2_record_for_a_destination_that_fell_back_is_converted_to_v1() {
        let v2 = prw_core::convert::v1_to_v2(&request()).encode_to_vec();
        let whole = item(Protocol::V2, prw_core::codec::compress(&v2).unwrap());
        let body = whole_body(&whole, Protocol::V1).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(v1::WriteRequest::decode(raw.as_slice()).unwrap(), request());
    }

    #[test]
    fn a_body_that_does_not_convert_is_an_error_naming_the_record() {
        let whole = item(Protocol::V2, b"\xff\xff garbage".to_vec());
        let error = whole_body(&whole, Protocol::V1).unwrap_err();
        assert!(error.to_string().contains("record 5"), "{error}");
        let v1_record = item(Protocol::V1, Vec::new());
        assert!(whole_body(&v1_record, Protocol::V2).is_err());
    }
}
