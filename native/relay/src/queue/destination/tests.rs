//! A destination end to end against in-memory transports, in paused time.

use std::collections::BTreeMap;
use std::sync::Mutex;

use bytes::Bytes;
use prost::Message;
use tokio::time::Instant;

use super::*;
use crate::clock::TokioClock;
use crate::record::ForwardedHeader;
use crate::send::batch::{HeaderSet, MetadataItem, SeriesItem};
use crate::send::observe::AttemptOutcome;
use crate::send::scripted::{
    Answer, RecordingObserver, ScriptedDecorator, ScriptedTransport, Step,
};
use crate::send::transport::{OutgoingRequest, TransportFuture};
use prw_core::proto::v1::{Label, Sample, TimeSeries, WriteRequest};

const BASE_MS: i64 = 1_700_000_000_000;

fn settings(
    min_shards: usize,
    max_shards: usize,
    max_samples: u64,
    capacity: usize,
) -> QueueSettings {
    let mut queue = QueueSettings::relay_defaults();
    queue.min_shards = min_shards;
    queue.max_shards = max_shards;
    queue.capacity = capacity;
    queue.batch.max_samples_per_send = max_samples;
    queue.dynamic_resharding = false;
    queue
}

fn options(queue: QueueSettings) -> DestinationOptions {
    DestinationOptions {
        name: "dest".into(),
        url: "http://receiver.test/api/v1/write".parse().unwrap(),
        protocol: Protocol::V1,
        queue,
        headers: Default::default(),
        jitter_seed: None,
        v2_encoder: None,
        decorator: None,
        observers: Vec::new(),
    }
}

#[derive(Debug, Default)]
struct MemoryStore {
    saved: Mutex<Option<ShardProgress>>,
    saves: std::sync::atomic::AtomicUsize,
}

impl MemoryStore {
    fn saves(&self) -> usize {
        self.saves.load(std::sync::atomic::Ordering::SeqCst)
    }

    fn saved_shards(&self) -> Option<Vec<Option<u64>>> {
        self.saved
            .lock()
            .unwrap()
            .as_ref()
            .map(|p| p.shards.clone())
    }
}

impl ShardProgressStore for MemoryStore {
    fn load(&self) -> Result<Option<ShardProgress>, StoreError> {
        Ok(self.saved.lock().unwrap().clone())
    }
    fn save(&self, progress: &ShardProgress) -> Result<(), StoreError> {
        *self.saved.lock().unwrap() = Some(progress.clone());
        self.saves.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

fn start(
    options: DestinationOptions,
    transport: Arc<dyn Transport>,
    store: Arc<MemoryStore>,
) -> Destination {
    Destination::start(
        options,
        transport,
        DestinationMetrics::unregistered("dest", "http://receiver.test/"),
        store,
        Arc::new(TokioClock::starting_at(BASE_MS)),
    )
    .unwrap()
}

fn tenant(name: &str) -> HeaderSet {
    Arc::from(vec![ForwardedHeader::new("X-Scope-OrgID", name).unwrap()])
}

fn series_with(id: u64, seq: u64, ts: i64, headers: HeaderSet) -> QueueItem {
    let series = TimeSeries {
        labels: vec![Label {
            name: "id".into(),
            value: id.to_string(),
        }],
        samples: vec![Sample {
            value: 1.0,
            timestamp: ts,
        }],
        ..TimeSeries::default()
    };
    QueueItem::Series(SeriesItem {
        series: Bytes::from(series.encode_to_vec()),
        symbols: None,
        hash: id,
        counts: ItemCounts {
            samples: 1,
            ..ItemCounts::default()
        },
        min_timestamp_ms: ts,
        max_timestamp_ms: ts,
        record_seq: seq,
        headers,
    })
}

/// Series `id` with one sample whose timestamp is the record seq.
fn series(id: u64, seq: u64) -> QueueItem {
    series_with(id, seq, BASE_MS + seq as i64, Arc::from(Vec::new()))
}

fn decode(body: &[u8]) -> WriteRequest {
    WriteRequest::decode(
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .unwrap()
            .as_slice(),
    )
    .unwrap()
}

/// (series id, sample timestamp - BASE) of every series in a request.
fn contents(request: &OutgoingRequest) -> Vec<(u64, i64)> {
    decode(&request.body)
        .timeseries
        .iter()
        .map(|s| {
            (
                s.labels[0].value.parse().unwrap(),
                s.samples[0].timestamp - BASE_MS,
            )
        })
        .collect()
}

/// Holds requests carrying series `held` until the gate opens.
#[derive(Debug)]
struct Gated {
    inner: ScriptedTransport,
    held: u64,
    gate: watch::Receiver<bool>,
}

impl Gated {
    fn new(held: u64) -> (Arc<Self>, watch::Sender<bool>) {
        let (tx, gate) = watch::channel(false);
        let transport = Arc::new(Gated {
            inner: ScriptedTransport::new(),
            held,
            gate,
        });
        (transport, tx)
    }
}

impl Transport for Gated {
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            if contents(&request).iter().any(|(id, _)| *id == self.held) {
                let mut gate = self.gate.clone();
                let _ = gate.wait_for(|open| *open).await;
            }
            self.inner.send(request).await
        })
    }
}

#[tokio::test(start_paused = true)]
async fn batches_flush_at_max_samples_per_send_and_the_rest_at_the_deadline() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut dest = start(
        options(settings(1, 1, 3, 100)),
        transport.clone(),
        Arc::default(),
    );
    let began = Instant::now();
    dest.enqueue(1, (0..7).map(|id| series(id, 1)).collect())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(4900)).await;
    let requests = transport.requests();
    assert_eq!(
        requests
            .iter()
            .map(|r| contents(&r.request).len())
            .collect::<Vec<_>>(),
        vec![3, 3]
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let requests = transport.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(contents(&requests[2].request), vec![(6, 1)]);
    assert_eq!(requests[2].started - began, Duration::from_secs(5));
    assert_eq!(dest.low_watermark(), Some(1));
}

#[tokio::test(start_paused = true)]
async fn one_request_in_flight_per_shard_and_per_series_order_holds() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.set_default(Step {
        delay: Duration::from_millis(100),
        answer: Answer::status(200),
    });
    let mut dest = start(
        options(settings(4, 4, 3, 1000)),
        transport.clone(),
        Arc::default(),
    );
    for seq in 1..=50 {
        dest.enqueue(seq, (0..8).map(|id| series(id, seq)).collect())
            .await
            .unwrap();
    }
    let report = dest.shutdown(Duration::from_secs(3600)).await;
    assert!(report.drained);
    assert_eq!(report.progress.low_watermark, Some(50));
    assert_eq!(transport.max_in_flight(), 4);

    let mut requests = transport.requests();
    requests.sort_by_key(|r| r.started);
    let mut last_end_per_shard: BTreeMap<u64, Instant> = BTreeMap::new();
    let mut seen: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for request in &requests {
        let items = contents(&request.request);
        let shard = items[0].0 % 4;
        assert!(items.iter().all(|(id, _)| id % 4 == shard), "{items:?}");
        if let Some(end) = last_end_per_shard.get(&shard) {
            assert!(
                *end <= request.started,
                "two requests in flight on shard {shard}"
            );
        }
        last_end_per_shard.insert(shard, request.finished);
        for (id, ts) in items {
            seen.entry(id).or_default().push(ts);
        }
    }
    for id in 0..8 {
        assert_eq!(seen[&id], (1..=50).collect::<Vec<i64>>(), "series {id}");
    }
}

#[tokio::test(start_paused = true)]
async fn low_watermark_advances_only_when_every_shard_acknowledged() {
    let (transport, gate) = Gated::new(1);
    let store = Arc::new(MemoryStore::default());
    let mut dest = start(options(settings(2, 2, 1, 100)), transport, store.clone());
    let progress = dest.progress();
    dest.enqueue(1, vec![series(0, 1), series(1, 1)])
        .await
        .unwrap();
    dest.enqueue(2, vec![series(0, 2)]).await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(dest.low_watermark(), None);
    assert_eq!(progress.borrow().shards, vec![Some(2), None]);
    assert_eq!(
        store
            .saved
            .lock()
            .unwrap()
            .as_ref()
            .map(|p| p.shards.clone()),
        Some(vec![Some(2), None])
    );
    gate.send_replace(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(dest.low_watermark(), Some(2));
    assert_eq!(progress.borrow().shards, vec![Some(2), Some(2)]);
}

#[tokio::test(start_paused = true)]
async fn progress_is_saved_at_most_once_per_interval_and_catches_up_to_the_newest() {
    let transport = Arc::new(ScriptedTransport::new());
    let store = Arc::new(MemoryStore::default());
    let mut queue = settings(1, 1, 1, 100);
    queue.progress_save_interval = Duration::from_secs(10);
    let mut dest = start(options(queue), transport.clone(), store.clone());
    let progress = dest.progress();
    // One acknowledgement every 100 ms for 2 s: one save per acknowledgement before.
    for seq in 1..=20 {
        dest.enqueue(seq, vec![series(0, seq)]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(progress.borrow().shards, vec![Some(20)]);
    assert_eq!(
        store.saves(),
        1,
        "the first acknowledgement is saved at once, then none"
    );
    assert_ne!(store.saved_shards(), Some(vec![Some(20)]));
    tokio::time::sleep(Duration::from_secs(9)).await;
    assert_eq!(store.saves(), 2);
    assert_eq!(store.saved_shards(), Some(vec![Some(20)]));
    // Nothing changed since: no further save.
    tokio::time::sleep(Duration::from_secs(30)).await;
    assert_eq!(store.saves(), 2);
    assert_eq!(transport.requests().len(), 20);
}

#[tokio::test(start_paused = true)]
async fn replay_skips_items_their_shard_delivered_before_the_restart() {
    let store = Arc::new(MemoryStore::default());
    *store.saved.lock().unwrap() = Some(ShardProgress {
        low_watermark: Some(10),
        shards: vec![Some(12), Some(10)],
    });
    let transport = Arc::new(ScriptedTransport::new());
    // min_shards is 1, but the saved progress was made with 2 shards: that count is kept.
    let mut dest = start(
        options(settings(1, 4, 1, 100)),
        transport.clone(),
        store.clone(),
    );
    assert_eq!(dest.shard_count(), 2);
    assert!(dest.should_skip(12, 0));
    assert!(!dest.should_skip(11, 1));
    // A cursor older than the saved low watermark replays records 9 and 10: skipped whole.
    for seq in 9..=13 {
        dest.enqueue(seq, vec![series(0, seq), series(1, seq)])
            .await
            .unwrap();
    }
    let report = dest.shutdown(Duration::from_secs(60)).await;
    let mut sent: Vec<_> = transport
        .requests()
        .iter()
        .flat_map(|r| contents(&r.request))
        .collect();
    sent.sort();
    assert_eq!(sent, vec![(0, 13), (1, 11), (1, 12), (1, 13)]);
    assert_eq!(report.progress.low_watermark, Some(13));
    assert_eq!(
        store.saved.lock().unwrap().as_ref(),
        Some(&ShardProgress {
            low_watermark: Some(13),
            shards: vec![Some(13), Some(13)],
        })
    );
}

#[tokio::test(start_paused = true)]
async fn reshard_drains_every_shard_before_the_mapping_changes() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.set_default(Step {
        delay: Duration::from_secs(1),
        answer: Answer::status(200),
    });
    let mut dest = start(
        options(settings(1, 4, 1, 100)),
        transport.clone(),
        Arc::default(),
    );
    for seq in 1..=3 {
        dest.enqueue(seq, (0..4).map(|id| series(id, seq)).collect())
            .await
            .unwrap();
    }
    dest.reshard(4).await.unwrap();
    let resharded_at = Instant::now();
    let before = transport.requests();
    assert_eq!(before.len(), 12);
    assert!(before.iter().all(|r| r.finished <= resharded_at));
    assert_eq!(dest.low_watermark(), Some(3));
    assert_eq!(dest.shard_count(), 4);
    assert_eq!(dest.progress().borrow().shards, vec![Some(3); 4]);
    for seq in 4..=5 {
        dest.enqueue(seq, (0..4).map(|id| series(id, seq)).collect())
            .await
            .unwrap();
    }
    assert!(dest.shutdown(Duration::from_secs(60)).await.drained);
    let mut requests = transport.requests();
    requests.sort_by_key(|r| r.started);
    let mut seen: BTreeMap<u64, Vec<i64>> = BTreeMap::new();
    for r in &requests {
        for (id, ts) in contents(&r.request) {
            seen.entry(id).or_default().push(ts);
        }
    }
    for id in 0..4 {
        assert_eq!(seen[&id], vec![1, 2, 3, 4, 5]);
    }
    assert_eq!(transport.max_in_flight(), 4);
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_retrying_at_the_deadline_and_keeps_the_batch_unacknowledged() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.set_default(Step {
        delay: Duration::ZERO,
        answer: Answer::status(503),
    });
    let store = Arc::new(MemoryStore::default());
    let mut dest = start(
        options(settings(1, 1, 10, 100)),
        transport.clone(),
        store.clone(),
    );
    dest.enqueue(1, vec![series(0, 1)]).await.unwrap();
    let began = Instant::now();
    let report = dest.shutdown(Duration::from_secs(10)).await;
    assert_eq!(began.elapsed(), Duration::from_secs(10));
    assert!(!report.drained);
    assert_eq!(report.progress.low_watermark, None);
    let attempts = transport.requests().len();
    assert!(attempts > 1);
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(transport.requests().len(), attempts);
    assert_eq!(
        store
            .saved
            .lock()
            .unwrap()
            .as_ref()
            .map(|p| p.low_watermark),
        Some(None)
    );
}

#[tokio::test(start_paused = true)]
async fn shutdown_sends_partial_batches_at_once_and_saves_progress() {
    let transport = Arc::new(ScriptedTransport::new());
    let store = Arc::new(MemoryStore::default());
    let mut dest = start(
        options(settings(2, 2, 100, 100)),
        transport.clone(),
        store.clone(),
    );
    let began = Instant::now();
    for seq in 1..=3 {
        dest.enqueue(seq, vec![series(0, seq), series(1, seq)])
            .await
            .unwrap();
    }
    let report = dest.shutdown(Duration::from_secs(30)).await;
    assert!(report.drained);
    assert!(transport.requests().iter().all(|r| r.started == began));
    assert_eq!(
        store
            .saved
            .lock()
            .unwrap()
            .as_ref()
            .and_then(|p| p.low_watermark),
        Some(3)
    );
}

#[tokio::test(start_paused = true)]
async fn full_shard_queue_makes_enqueue_wait_and_nothing_is_dropped() {
    let (transport, gate) = Gated::new(0);
    let mut dest = start(
        options(settings(1, 1, 1, 2)),
        transport.clone(),
        Arc::default(),
    );
    // One in flight (held), two queued: the queue is full.
    for seq in 1..=3 {
        dest.enqueue(seq, vec![series(0, seq)]).await.unwrap();
    }
    {
        let blocked = dest.enqueue(4, vec![series(0, 4)]);
        tokio::pin!(blocked);
        tokio::select! {
            _ = &mut blocked => panic!("enqueue must wait while the shard queue is full"),
            () = tokio::time::sleep(Duration::from_secs(60)) => {}
        }
        gate.send_replace(true);
        blocked.await.unwrap();
    }
    assert!(dest.shutdown(Duration::from_secs(60)).await.drained);
    let sent: Vec<_> = transport
        .inner
        .requests()
        .iter()
        .flat_map(|r| contents(&r.request))
        .collect();
    assert_eq!(sent, vec![(0, 1), (0, 2), (0, 3), (0, 4)]);
}

#[tokio::test(start_paused = true)]
async fn items_of_different_tenants_never_share_a_request() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut dest = start(
        options(settings(1, 1, 100, 100)),
        transport.clone(),
        Arc::default(),
    );
    let ts = BASE_MS;
    dest.enqueue(
        1,
        vec![
            series_with(0, 1, ts, tenant("a")),
            series_with(1, 1, ts, tenant("a")),
        ],
    )
    .await
    .unwrap();
    dest.enqueue(2, vec![series_with(2, 2, ts, tenant("b"))])
        .await
        .unwrap();
    dest.enqueue(3, vec![series_with(3, 3, ts, tenant("a"))])
        .await
        .unwrap();
    assert!(dest.shutdown(Duration::from_secs(60)).await.drained);
    let got: Vec<_> = transport
        .requests()
        .iter()
        .map(|r| {
            (
                r.request.headers["x-scope-orgid"]
                    .to_str()
                    .unwrap()
                    .to_owned(),
                contents(&r.request)
                    .iter()
                    .map(|(id, _)| *id)
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("a".to_owned(), vec![0, 1]),
            ("b".to_owned(), vec![2]),
            ("a".to_owned(), vec![3]),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn metadata_item_is_sent_in_a_request_of_its_own() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut dest = start(
        options(settings(1, 1, 100, 100)),
        transport.clone(),
        Arc::default(),
    );
    let metadata = QueueItem::Metadata(MetadataItem {
        entries: vec![Bytes::from_static(b"\x08\x01\x12\x02up")],
        record_seq: 1,
        headers: Arc::from(Vec::new()),
    });
    dest.enqueue(1, vec![series(0, 1), metadata, series(1, 1)])
        .await
        .unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report.progress.low_watermark, Some(1));
    let shapes: Vec<_> = transport
        .requests()
        .iter()
        .map(|r| {
            let decoded = decode(&r.request.body);
            (decoded.timeseries.len(), decoded.metadata.len())
        })
        .collect();
    assert_eq!(shapes, vec![(1, 0), (0, 1), (1, 0)]);
}

#[tokio::test(start_paused = true)]
async fn too_old_data_is_dropped_at_enqueue_and_its_record_still_acknowledged() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut queue = settings(1, 1, 1, 100);
    queue.retry.sample_age_limit = Some(Duration::from_secs(60));
    let mut dest = start(options(queue), transport.clone(), Arc::default());
    let old = series_with(0, 1, BASE_MS - 61_000, Arc::from(Vec::new()));
    dest.enqueue(1, vec![old, series(1, 1)]).await.unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report.progress.low_watermark, Some(1));
    let sent: Vec<_> = transport
        .requests()
        .iter()
        .flat_map(|r| contents(&r.request))
        .collect();
    assert_eq!(sent, vec![(1, 1)]);
}

#[tokio::test(start_paused = true)]
async fn controller_adds_shards_when_one_cannot_keep_up() {
    let transport = Arc::new(ScriptedTransport::new());
    // Every request takes 1 s: one shard sends 10 samples/s, far below 100/s coming in.
    transport.set_default(Step {
        delay: Duration::from_secs(1),
        answer: Answer::status(200),
    });
    let mut queue = settings(1, 10, 10, 100_000);
    queue.dynamic_resharding = true;
    let mut dest = start(options(queue), transport, Arc::default());
    let mut seq = 0;
    while dest.shard_count() == 1 && seq < 60 {
        seq += 1;
        dest.reshard_if_wanted().await.unwrap();
        dest.enqueue(seq, (0..100).map(|id| series(id, seq)).collect())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    assert_eq!(dest.shard_count(), 10);
    // The first computation happens at 10 s; the reshard at the next record after it (the
    // one at 10 s or at 11 s, depending on which task tokio runs first at the 10 s instant).
    assert!((11..=12).contains(&seq), "resharded at record {seq}");
}

fn decode_v2(body: &[u8]) -> prw_core::proto::v2::Request {
    prw_core::proto::v2::Request::decode(
        snap::raw::Decoder::new()
            .decompress_vec(body)
            .unwrap()
            .as_slice(),
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn v2_destination_sends_v2_bodies_with_a_symbol_table() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.set_default(Step {
        delay: Duration::ZERO,
        answer: Answer::with_headers(204, &[("x-prometheus-remote-write-samples-written", "2")]),
    });
    let mut opts = options(settings(1, 1, 100, 100));
    opts.protocol = Protocol::V2;
    let mut dest = start(opts, transport.clone(), Arc::default());
    dest.enqueue(1, vec![series(0, 1), series(1, 1)])
        .await
        .unwrap();
    assert!(dest.shutdown(Duration::from_secs(60)).await.drained);
    let requests = transport.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].request.headers["content-type"],
        "application/x-protobuf;proto=io.prometheus.write.v2.Request"
    );
    let body = decode_v2(&requests[0].request.body);
    assert_eq!(body.symbols, vec!["", "id", "0", "1"]);
    assert_eq!(body.timeseries.len(), 2);
    assert_eq!(body.timeseries[1].labels_refs, vec![1, 3]);
    assert_eq!(body.timeseries[1].samples[0].timestamp, BASE_MS + 1);
}

#[tokio::test(start_paused = true)]
async fn v2_destination_answering_415_is_switched_to_v1_and_gets_the_same_series() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.push([Answer::status(415)]);
    let mut opts = options(settings(1, 1, 100, 100));
    opts.protocol = Protocol::V2;
    let mut dest = start(opts, transport.clone(), Arc::default());
    dest.enqueue(1, vec![series(0, 1), series(1, 1)])
        .await
        .unwrap();
    dest.enqueue(2, vec![series(0, 2)]).await.unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report.progress.low_watermark, Some(2));
    let requests = transport.requests();
    let types: Vec<_> = requests
        .iter()
        .map(|r| {
            r.request.headers["content-type"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(
        types,
        vec![
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "application/x-protobuf",
        ]
    );
    assert_eq!(contents(&requests[1].request), vec![(0, 1), (1, 1), (0, 2)]);
}

#[tokio::test(start_paused = true)]
async fn the_options_decorator_and_observers_reach_every_shard() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.push([Answer::status(500)]);
    let decorator = Arc::new(ScriptedDecorator::new("x-signature"));
    let observer = Arc::new(RecordingObserver::default());
    let mut opts = options(settings(2, 2, 100, 100));
    opts.decorator = Some(decorator.clone());
    opts.observers = vec![observer.clone()];
    let mut dest = start(opts, transport.clone(), Arc::default());
    dest.enqueue(1, vec![series(0, 1), series(1, 1)])
        .await
        .unwrap();
    assert!(dest.shutdown(Duration::from_secs(60)).await.drained);
    let requests = transport.requests();
    assert_eq!(requests.len(), 3, "two shards, one retry");
    assert!(
        requests
            .iter()
            .all(|r| r.request.headers.contains_key("x-signature"))
    );
    let outcomes = observer.attempts();
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().all(|a| a.destination == "dest"));
    assert_eq!(
        outcomes
            .iter()
            .filter(|a| a.outcome == AttemptOutcome::Delivered)
            .count(),
        2
    );
}

#[tokio::test(start_paused = true)]
async fn a_whole_record_is_sent_alone_as_received_between_batches_in_record_order() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut dest = start(
        options(settings(1, 1, 100, 100)),
        transport.clone(),
        Arc::default(),
    );
    let body = Bytes::from_static(b"the body as received");
    let whole = QueueItem::Whole(crate::send::WholeItem {
        body: body.clone(),
        protocol: Protocol::V1,
        counts: ItemCounts {
            samples: 3,
            ..ItemCounts::default()
        },
        max_timestamp_ms: BASE_MS,
        record_seq: 2,
        headers: tenant("a"),
    });
    dest.enqueue(1, vec![series(0, 1), series(1, 1)])
        .await
        .unwrap();
    dest.enqueue(2, vec![whole]).await.unwrap();
    dest.enqueue(3, vec![series(0, 3)]).await.unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert!(report.drained);
    assert_eq!(report.progress.low_watermark, Some(3));
    let requests = transport.requests();
    assert_eq!(
        requests.len(),
        3,
        "series of 1, the whole record, series of 3"
    );
    assert_eq!(contents(&requests[0].request), vec![(0, 1), (1, 1)]);
    assert_eq!(requests[1].request.body, body);
    assert_eq!(contents(&requests[2].request), vec![(0, 3)]);
}

#[tokio::test(start_paused = true)]
async fn a_whole_v2_record_is_sent_as_received_then_converted_after_a_415() {
    let transport = Arc::new(ScriptedTransport::new());
    transport.push([
        Answer::with_headers(204, &[("x-prometheus-remote-write-samples-written", "1")]),
        Answer::status(415),
    ]);
    let mut opts = options(settings(1, 1, 100, 100));
    opts.protocol = Protocol::V2;
    let mut dest = start(opts, transport.clone(), Arc::default());
    let v1_request = WriteRequest {
        timeseries: vec![TimeSeries {
            labels: vec![Label {
                name: "id".into(),
                value: "7".into(),
            }],
            samples: vec![Sample {
                value: 1.0,
                timestamp: BASE_MS + 3,
            }],
            ..TimeSeries::default()
        }],
        metadata: vec![],
    };
    let v2_body = Bytes::from(
        prw_core::codec::compress(&prw_core::convert::v1_to_v2(&v1_request).encode_to_vec())
            .unwrap(),
    );
    let whole = |seq| {
        QueueItem::Whole(crate::send::WholeItem {
            body: v2_body.clone(),
            protocol: Protocol::V2,
            counts: ItemCounts {
                samples: 1,
                ..ItemCounts::default()
            },
            max_timestamp_ms: BASE_MS + 3,
            record_seq: seq,
            headers: Arc::from(Vec::new()),
        })
    };
    dest.enqueue(1, vec![whole(1)]).await.unwrap();
    dest.enqueue(2, vec![whole(2)]).await.unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report.progress.low_watermark, Some(2));
    let requests = transport.requests();
    assert_eq!(
        requests.len(),
        3,
        "v2 as received, v2 refused with 415, then v1"
    );
    assert_eq!(requests[0].request.body, v2_body);
    assert_eq!(requests[1].request.body, v2_body);
    assert_eq!(
        requests[2].request.headers["content-type"],
        "application/x-protobuf"
    );
    assert_eq!(contents(&requests[2].request), vec![(7, 3)]);
}

/// A whole v1 record of series `ids` (one sample each, at `BASE_MS + seq`), as received.
fn whole_v1(seq: u64, ids: &[u64], headers: HeaderSet) -> QueueItem {
    let request = WriteRequest {
        timeseries: ids
            .iter()
            .map(|id| TimeSeries {
                labels: vec![Label {
                    name: "id".into(),
                    value: id.to_string(),
                }],
                samples: vec![Sample {
                    value: 1.0,
                    timestamp: BASE_MS + seq as i64,
                }],
                ..TimeSeries::default()
            })
            .collect(),
        metadata: vec![],
    };
    QueueItem::Whole(crate::send::WholeItem {
        body: Bytes::from(prw_core::codec::compress(&request.encode_to_vec()).unwrap()),
        protocol: Protocol::V1,
        counts: ItemCounts {
            samples: ids.len() as u64,
            ..ItemCounts::default()
        },
        max_timestamp_ms: BASE_MS + seq as i64,
        record_seq: seq,
        headers,
    })
}

#[tokio::test(start_paused = true)]
async fn whole_v1_records_are_joined_up_to_max_samples_per_send_per_tenant() {
    let transport = Arc::new(ScriptedTransport::new());
    let mut dest = start(
        options(settings(1, 1, 3, 100)),
        transport.clone(),
        Arc::default(),
    );
    let a = tenant("a");
    dest.enqueue(1, vec![whole_v1(1, &[0], Arc::clone(&a))])
        .await
        .unwrap();
    dest.enqueue(2, vec![whole_v1(2, &[1], Arc::clone(&a))])
        .await
        .unwrap();
    dest.enqueue(3, vec![whole_v1(3, &[2, 3], Arc::clone(&a))])
        .await
        .unwrap();
    dest.enqueue(4, vec![whole_v1(4, &[4], tenant("b"))])
        .await
        .unwrap();
    dest.enqueue(5, vec![whole_v1(5, &[5], Arc::clone(&a))])
        .await
        .unwrap();
    let report = dest.shutdown(Duration::from_secs(60)).await;
    assert!(report.drained);
    assert_eq!(report.progress.low_watermark, Some(5));
    let requests: Vec<_> = transport
        .requests()
        .iter()
        .map(|r| contents(&r.request))
        .collect();
    assert_eq!(
        requests,
        vec![
            vec![(0, 1), (1, 2)], // 1 + 1 samples; record 3's 2 more would pass 3
            vec![(2, 3), (3, 3)], // tenant b's record ends the batch
            vec![(4, 4)],         // tenant b alone
            vec![(5, 5)],         // drained at shutdown
        ]
    );
}
