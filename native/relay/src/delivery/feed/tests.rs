//! Feeds of destinations behind the tail: one reads each record from the WAL, the others
//! take it from memory and move their WAL readers past it.

use prometheus_client::registry::Registry;
use prost::Message;
use prw_core::proto::v1;
use prw_core::{Limits, Protocol};
use prw_wal::{StartAt, WalConfig};

use super::*;
use crate::ingest::{PrepareSettings, prepare};

/// Request `i`: one series, one sample; snappy-compressed as a sender sends it.
fn request(i: u64) -> Bytes {
    let series = v1::TimeSeries {
        labels: vec![
            v1::Label {
                name: "__name__".into(),
                value: "m".into(),
            },
            v1::Label {
                name: "id".into(),
                value: i.to_string(),
            },
        ],
        samples: vec![v1::Sample {
            value: i as f64,
            timestamp: 1_700_000_000_000 + i as i64,
        }],
        ..Default::default()
    };
    let body = v1::WriteRequest {
        timeseries: vec![series],
        ..Default::default()
    }
    .encode_to_vec();
    Bytes::from(prw_core::codec::compress(&body).unwrap())
}

/// The WAL record ingest writes for request `i`.
fn stored(i: u64) -> Vec<u8> {
    let settings = PrepareSettings {
        protocol: Protocol::V1,
        limits: Limits::default(),
        headers: Vec::new(),
        received_at_ms: 1_700_000_000_000,
        max_record_bytes: u64::from(u32::MAX),
        whole_limit: None,
    };
    prepare(&request(i), &settings).unwrap().record()
}

/// The value of series `series` (name and labels) in the tail's metrics.
fn counter(tail: &Tail, series: &str) -> u64 {
    let mut registry = Registry::default();
    tail.metrics().register(&mut registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    let prefix = format!("{series} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .map_or(0, |value| value.parse().unwrap())
}

/// Takes `n` records from `feed`, checking each is the next request in order.
async fn take(feed: &mut Feed, seqs: std::ops::Range<u64>) {
    let stop = CancellationToken::new();
    for seq in seqs {
        let Some(Fed::Record(record)) = feed.next(&stop).await else {
            panic!("record {seq} missing");
        };
        assert_eq!(record.seq(), seq);
        assert_eq!(record.received().unwrap().body, request(seq));
        assert_eq!(record.series().len(), 1);
    }
}

#[tokio::test]
async fn destinations_behind_the_tail_read_each_wal_record_once_between_them() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = WalConfig::default();
    // Small segments: the readers cross segment boundaries.
    config.segment_bytes = 512;
    let (wal, _) = Wal::open(dir.path(), config).unwrap();
    let wal = Arc::new(wal);
    for name in ["a", "b"] {
        wal.add_consumer(name, StartAt::Oldest).unwrap();
    }
    for i in 0..40 {
        wal.append(&stored(i)).unwrap();
    }
    assert!(wal.stats().segments > 2, "segments rotate");
    // Both destinations are behind the tail (it starts at the WAL's end, as after a restart).
    let tail = Arc::new(Tail::new(1 << 20, wal.stats().next.0));
    let feed = |name: &str| {
        let committed = Arc::new(AtomicU64::new(NOTHING_COMMITTED));
        Feed::new(
            Arc::clone(&wal),
            Some(&tail),
            name,
            Limits::default(),
            committed,
        )
        .unwrap()
    };
    let (mut a, mut b) = (feed("a"), feed("b"));

    // `a` leads and reads from the WAL; `b` follows from memory, then leads (its WAL reader
    // picks up where `a`'s stood); `a` follows.
    take(&mut a, 0..15).await;
    take(&mut b, 0..15).await;
    take(&mut b, 15..40).await;
    take(&mut a, 15..40).await;

    let reads = |d| {
        counter(
            &tail,
            &format!("prw_tail_wal_reads_total{{remote_name=\"{d}\"}}"),
        )
    };
    assert_eq!(
        reads("a") + reads("b"),
        40,
        "each record read from the WAL once: a {} b {}",
        reads("a"),
        reads("b")
    );
    assert!(reads("a") >= 15 && reads("b") >= 20, "each led for a while");
    // The other 40 of the 80 records handed out came from memory.
    assert_eq!(counter(&tail, "prw_tail_wal_reads_shared_total"), 40);
}
