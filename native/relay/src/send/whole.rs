//! The request body of whole records ([`WholeItem`]s forwarded as received):
//! - one record, in the protocol the destination sends: its body as received;
//! - several 1.0 records (the shard joins records with the same headers up to
//!   `max_samples_per_send`): their snappy blocks joined into one block, with no
//!   decompression ([`join_snappy_blocks`]);
//! - 2.0 records for a destination that fell back to 1.0 (it answered 415, or a 2xx without
//!   the Written headers): converted to one 1.0 request.
//!
//! Why joining is exact. A 1.0 `WriteRequest` has only repeated fields, so the
//! concatenation of two encoded requests is the encoded request holding both requests' series
//! and metadata, in order (protobuf merges concatenated messages). A snappy block is a varint
//! of the decompressed length followed by elements (literals, and copies whose offset points
//! back into what was already written); every copy of a block points inside that block's own
//! output, so the elements of block B still decode to B's bytes when they follow A's
//! elements. One preamble with the summed length followed by each block's elements is
//! therefore a valid block that decompresses to A's bytes then B's. No crate offers this
//! (snap and the other snappy crates compress and decompress only), hence the few lines here
//! (the preamble is read by prw-core's `codec::split_preamble`).
//!
//! The conversion is the rare path: it runs only for 2.0 records already queued, or in
//! flight, when the fallback happens; after it, the dispatch cuts 2.0 records for 1.0 (see
//! `crate::delivery::forward`). It decodes with prost and converts with prw-core's
//! `v2_to_v1`, then compresses.
//!
//! Invariant: never a panic on a body (each passed ingest's validation, but any failure is
//! an [`EncodeError`] naming the record).

use bytes::Bytes;
use prost::Message;
use prw_core::Protocol;
use prw_core::codec::split_preamble;
use prw_core::proto::{v1, v2};

use super::batch::WholeItem;
use super::encode::{Compressor, EncodeError};
use crate::record::v2_to_v1::write_varint;

/// The body to send for `items` (queue order, at least one) to a destination sending
/// `protocol`.
pub fn whole_body(items: &[WholeItem], protocol: Protocol) -> Result<Bytes, EncodeError> {
    let Some(first) = items.first() else {
        return Ok(Bytes::new());
    };
    if let Some(item) = items.iter().find(|i| i.protocol != first.protocol) {
        return Err(EncodeError::WholeRecordProtocol {
            record: item.protocol,
            destination: protocol,
        });
    }
    match (first.protocol, protocol) {
        (record, destination) if record == destination && items.len() == 1 => {
            Ok(first.body.clone())
        }
        (Protocol::V1, Protocol::V1) => join_snappy_blocks(items),
        (Protocol::V2, Protocol::V1) => as_v1(items),
        (record, destination) => Err(EncodeError::WholeRecordProtocol {
            record,
            destination,
        }),
    }
}

/// One snappy block decompressing to the concatenation of what `items`' bodies decompress
/// to (see the module docs).
pub fn join_snappy_blocks(items: &[WholeItem]) -> Result<Bytes, EncodeError> {
    let mut total: u64 = 0;
    let mut elements = Vec::with_capacity(items.len());
    for item in items {
        let (len, rest) = split_preamble(&item.body).ok_or(EncodeError::WholeRecordBody {
            record_seq: item.record_seq,
            detail: "snappy block without a valid length preamble".into(),
        })?;
        total = total.saturating_add(len);
        elements.push(rest);
    }
    if total > u64::from(u32::MAX) {
        let record_seq = items.first().map_or(0, |i| i.record_seq);
        return Err(EncodeError::WholeRecordBody {
            record_seq,
            detail: format!("joined records decompress to {total} bytes, over snappy's 4 GiB"),
        });
    }
    let mut out = Vec::with_capacity(5 + elements.iter().map(|e| e.len()).sum::<usize>());
    write_varint(&mut out, total);
    for rest in elements {
        out.extend_from_slice(rest);
    }
    Ok(Bytes::from(out))
}

fn as_v1(items: &[WholeItem]) -> Result<Bytes, EncodeError> {
    let mut joined = v1::WriteRequest::default();
    for item in items {
        let undecodable = |detail: String| EncodeError::WholeRecordBody {
            record_seq: item.record_seq,
            detail,
        };
        let raw = snap::raw::Decoder::new()
            .decompress_vec(&item.body)
            .map_err(|e| undecodable(format!("snappy: {e}")))?;
        let request = v2::Request::decode(raw.as_slice())
            .map_err(|e| undecodable(format!("protobuf: {e}")))?;
        let v1 = prw_core::convert::v2_to_v1(&request)
            .map_err(|e| undecodable(format!("v2 to v1: {e}")))?;
        joined.timeseries.extend(v1.timeseries);
        joined.metadata.extend(v1.metadata);
    }
    Compressor::default().compress(&joined.encode_to_vec())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use proptest::prelude::*;

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
        let body = whole_body(std::slice::from_ref(&whole), Protocol::V2).unwrap();
        assert_eq!(body, whole.body);
    }

    #[test]
    fn a_v2_record_for_a_destination_that_fell_back_is_converted_to_v1() {
        let v2 = prw_core::convert::v1_to_v2(&request()).encode_to_vec();
        let whole = item(Protocol::V2, prw_core::codec::compress(&v2).unwrap());
        let body = whole_body(std::slice::from_ref(&whole), Protocol::V1).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        assert_eq!(v1::WriteRequest::decode(raw.as_slice()).unwrap(), request());
    }

    #[test]
    fn a_body_that_does_not_convert_is_an_error_naming_the_record() {
        let whole = item(Protocol::V2, b"\xff\xff garbage".to_vec());
        let error = whole_body(std::slice::from_ref(&whole), Protocol::V1).unwrap_err();
        assert!(error.to_string().contains("record 5"), "{error}");
        let v1_record = item(Protocol::V1, Vec::new());
        assert!(whole_body(std::slice::from_ref(&v1_record), Protocol::V2).is_err());
    }

    fn compressible(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| seed.wrapping_add((i % 7) as u8)).collect()
    }

    proptest! {
        #[test]
        fn joined_blocks_decompress_to_the_concatenation(
            parts in proptest::collection::vec((any::<u8>(), 0usize..5000, any::<bool>()), 1..6),
        ) {
            let raws: Vec<Vec<u8>> = parts
                .iter()
                .map(|&(seed, len, random)| {
                    if random {
                        (0..len).map(|i| (i as u8).wrapping_mul(seed) ^ (i >> 3) as u8).collect()
                    } else {
                        compressible(seed, len)
                    }
                })
                .collect();
            let items: Vec<WholeItem> = raws
                .iter()
                .map(|raw| item(Protocol::V1, prw_core::codec::compress(raw).unwrap()))
                .collect();
            let joined = join_snappy_blocks(&items).unwrap();
            let decoded = snap::raw::Decoder::new().decompress_vec(&joined).unwrap();
            prop_assert_eq!(decoded, raws.concat());
        }
    }

    #[test]
    fn joined_v1_requests_are_one_request_with_every_series_in_order() {
        let mut second = request();
        second.timeseries[0].labels[0].value = "down".into();
        second.metadata.push(v1::MetricMetadata {
            metric_family_name: "down".into(),
            ..Default::default()
        });
        let items = [request(), second.clone()].map(|r| {
            item(
                Protocol::V1,
                prw_core::codec::compress(&r.encode_to_vec()).unwrap(),
            )
        });
        let body = whole_body(&items, Protocol::V1).unwrap();
        let raw = prw_core::codec::decompress(&body, &prw_core::Limits::default()).unwrap();
        let joined = v1::WriteRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(
            joined.timeseries,
            [request().timeseries, second.timeseries].concat()
        );
        assert_eq!(joined.metadata, second.metadata);
    }

    #[test]
    fn a_block_without_a_valid_preamble_is_an_error_naming_the_record() {
        let good = item(Protocol::V1, prw_core::codec::compress(b"abc").unwrap());
        for bad in [vec![], vec![0x80; 5], vec![0xff, 0xff, 0xff, 0xff, 0x7f]] {
            let error = join_snappy_blocks(&[good.clone(), item(Protocol::V1, bad)]).unwrap_err();
            assert!(error.to_string().contains("record 5"), "{error}");
        }
    }

    #[test]
    fn v2_records_after_a_fallback_become_one_v1_request() {
        let v2 = prw_core::convert::v1_to_v2(&request()).encode_to_vec();
        let whole = item(Protocol::V2, prw_core::codec::compress(&v2).unwrap());
        let body = whole_body(&[whole.clone(), whole], Protocol::V1).unwrap();
        let raw = snap::raw::Decoder::new().decompress_vec(&body).unwrap();
        let joined = v1::WriteRequest::decode(raw.as_slice()).unwrap();
        assert_eq!(
            joined.timeseries,
            [request().timeseries, request().timeseries].concat()
        );
    }
}
