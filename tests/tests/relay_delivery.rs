//! Delivery from a real WAL (in a temp dir) to real receivers (the workspace test receiver on
//! 127.0.0.1:0) through `prw_relay::delivery::Delivery`, over real sockets.
//!
//! Waits poll a condition (every 20 ms, failing after 30 s); nothing asserts a duration.

// Test-only helpers outside `#[test]` functions: clippy.toml's in-test allowances do not
// reach them, so allow the same lints for this test file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::registry::Registry;
use prost::Message;
use prw_core::Protocol;
use prw_core::proto::{v1, v2};
use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig};
use prw_relay::config::{Destination, Overrides, parse};
use prw_relay::delivery::{Delivery, DeliverySettings, FileProgressStore};
use prw_relay::queue::ShardProgressStore;
use prw_relay::record::Record;
use prw_wal::{StartAt, Wal, WalConfig};

const GRACE: Duration = Duration::from_secs(5);

fn open_wal(dir: &Path) -> Arc<Wal> {
    let (wal, _) = Wal::open(dir.join("wal"), WalConfig::default()).unwrap();
    Arc::new(wal)
}

fn settings(dir: &Path) -> DeliverySettings {
    let mut settings = DeliverySettings::for_wal_dir(&dir.join("wal"));
    settings.commit_interval = Duration::from_millis(50);
    settings
}

/// Destinations from `remote_write` stanzas (YAML list items, already indented).
fn destinations(stanzas: &str) -> Vec<Destination> {
    let text = format!("remote_write:\n{stanzas}");
    parse(&text, &Overrides::default())
        .unwrap()
        .config
        .destinations
}

fn stanza(name: &str, url: &str, extra: &str) -> String {
    format!(
        "  - name: {name}\n    url: {url}\n    queue_config: {{min_backoff: 10ms, max_backoff: 100ms, batch_send_deadline: 50ms, max_shards: 2}}\n{extra}"
    )
}

fn ts(name: &str, instance: &str, t: i64) -> v1::TimeSeries {
    v1::TimeSeries {
        labels: vec![
            v1::Label {
                name: "__name__".into(),
                value: name.into(),
            },
            v1::Label {
                name: "instance".into(),
                value: instance.into(),
            },
        ],
        samples: vec![v1::Sample {
            value: 1.0,
            timestamp: t,
        }],
        ..Default::default()
    }
}

fn append(wal: &Wal, protocol: Protocol, body: &[u8]) -> u64 {
    let record = Record {
        protocol,
        received_at_ms: 1_700_000_000_000,
        max_timestamp_ms: None,
        samples: 1,
        histograms: 0,
        exemplars: 0,
        headers: vec![],
        body: prw_core::codec::compress(body).unwrap(),
    };
    wal.append(&record.encode().unwrap()).unwrap().0
}

/// Appends one v1 record with one sample of `up{instance=i}` per i in `instances` at `t`.
fn append_v1(wal: &Wal, instances: &[&str], t: i64) -> u64 {
    let body = v1::WriteRequest {
        timeseries: instances.iter().map(|i| ts("up", i, t)).collect(),
        metadata: vec![],
    }
    .encode_to_vec();
    append(wal, Protocol::V1, &body)
}

type Pairs = BTreeSet<(String, i64)>;

fn pair(name: &str, instance: &str, t: i64) -> (String, i64) {
    (format!("{name}{{instance={instance}}}"), t)
}

/// Every (series, timestamp) the receiver got in 2xx-answered v1 requests, and how many
/// sample entries it got in total (repeats included).
fn received(receiver: &Receiver) -> (Pairs, usize) {
    let mut pairs = BTreeSet::new();
    let mut total = 0;
    for request in receiver.recorded() {
        let body =
            prw_core::codec::decompress(&request.body, &prw_core::Limits::default()).unwrap();
        let Ok(req) = v1::WriteRequest::decode(body.as_slice()) else {
            continue;
        };
        for series in req.timeseries {
            let get = |n: &str| {
                series
                    .labels
                    .iter()
                    .find(|l| l.name == n)
                    .map(|l| l.value.clone())
                    .unwrap_or_default()
            };
            for s in &series.samples {
                total += 1;
                pairs.insert(pair(&get("__name__"), &get("instance"), s.timestamp));
            }
        }
    }
    (pairs, total)
}

async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    for _ in 0..1500 {
        if condition() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting until {what}");
}

fn cursor_of(wal: &Wal, name: &str) -> u64 {
    wal.stats()
        .consumers
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.next.0)
        .unwrap()
}

async fn recording() -> Receiver {
    Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap()
}

fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn appended_records_reach_the_receiver_with_the_same_series_and_timestamps() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let url = receiver.url("/api/v1/write");
    let dests = destinations(&stanza("a", &url, ""));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    let mut expected = BTreeSet::new();
    for t in 0..20 {
        append_v1(&wal, &["x", "y", "z"], 1000 + t);
        for i in ["x", "y", "z"] {
            expected.insert(pair("up", i, 1000 + t));
        }
    }
    wait_until("every pair arrived", || received(&receiver).0 == expected).await;
    wait_until("the cursor passed every record", || {
        cursor_of(&wal, "a") == 20
    })
    .await;
    let stopped = delivery.shutdown(GRACE).await;
    assert_eq!(stopped[0].committed, Some(19));
    assert_eq!(received(&receiver).1, 60, "no sample sent twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v2_records_reach_a_v1_destination_converted() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    let body = v2::Request {
        symbols: vec![
            "".into(),
            "__name__".into(),
            "up".into(),
            "instance".into(),
            "v2".into(),
        ],
        timeseries: vec![v2::TimeSeries {
            labels_refs: vec![1, 2, 3, 4],
            samples: vec![v2::Sample {
                value: 1.0,
                timestamp: 4242,
                start_timestamp: 0,
            }],
            ..Default::default()
        }],
    }
    .encode_to_vec();
    append(&wal, Protocol::V2, &body);
    let expected: Pairs = [pair("up", "v2", 4242)].into();
    wait_until("the converted series arrived", || {
        received(&receiver).0 == expected
    })
    .await;
    let first = &receiver.recorded()[0];
    assert_eq!(first.header("content-type"), Some("application/x-protobuf"));
    delivery.shutdown(GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_destination_does_not_hold_up_a_healthy_one_and_keeps_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let dead = format!("http://{}/api/v1/write", refused_addr());
    let stanzas =
        stanza("healthy", &receiver.url("/api/v1/write"), "") + &stanza("dead", &dead, "");
    let delivery = Delivery::start(
        wal.clone(),
        &destinations(&stanzas),
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    let mut expected = BTreeSet::new();
    for t in 0..30 {
        append_v1(&wal, &["x"], t);
        expected.insert(pair("up", "x", t));
    }
    wait_until("the healthy destination got everything", || {
        received(&receiver).0 == expected
    })
    .await;
    wait_until("the healthy cursor passed everything", || {
        cursor_of(&wal, "healthy") == 30
    })
    .await;
    assert_eq!(
        cursor_of(&wal, "dead"),
        0,
        "the dead destination's cursor must not move"
    );
    let stopped = delivery.shutdown(Duration::from_millis(200)).await;
    let dead = stopped.iter().find(|s| s.name == "dead").unwrap();
    assert_eq!(dead.committed, None);
    assert_eq!(cursor_of(&wal, "dead"), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_down_then_up_gets_everything() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let addr = refused_addr();
    let url = format!("http://{addr}/api/v1/write");
    let mut registry = Registry::default();
    let delivery = Delivery::start(
        wal.clone(),
        &destinations(&stanza("a", &url, "")),
        settings(dir.path()),
        &mut registry,
    )
    .unwrap();
    let mut expected = BTreeSet::new();
    for t in 0..10 {
        append_v1(&wal, &["x", "y"], t);
        expected.insert(pair("up", "x", t));
        expected.insert(pair("up", "y", t));
    }
    wait_until("a send attempt failed to connect", || {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text.contains("status=\"transport_error\"")
    })
    .await;
    assert_eq!(cursor_of(&wal, "a"), 0, "nothing acknowledged while down");
    let receiver = Receiver::start_on(addr, ReceiverConfig::default().recording())
        .await
        .unwrap();
    wait_until("everything arrived once the receiver is up", || {
        received(&receiver).0 == expected
    })
    .await;
    wait_until("the cursor passed everything", || {
        cursor_of(&wal, "a") == 10
    })
    .await;
    delivery.shutdown(GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_resumes_from_the_cursor_and_skips_what_shards_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    // A second consumer that never commits keeps every segment on disk.
    wal.add_consumer("keeper", StartAt::Oldest).unwrap();
    let receiver = recording().await;
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    for t in 0..10 {
        append_v1(&wal, &["x", "y", "z"], t);
    }
    wait_until("the first ten records were delivered", || {
        received(&receiver).1 == 30
    })
    .await;
    delivery.shutdown(GRACE).await;
    assert_eq!(cursor_of(&wal, "a"), 10);
    let store = FileProgressStore::new(&settings(dir.path()).progress_dir, "a");
    let saved = store.load().unwrap().unwrap();
    assert_eq!(saved.low_watermark, Some(9));

    // Simulate a crash that lost the cursor commit: the cursor goes back to the oldest record
    // while the shard progress says everything up to 9 was delivered.
    wal.remove_consumer("a").unwrap();
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    assert_eq!(cursor_of(&wal, "a"), 0);
    for t in 10..15 {
        append_v1(&wal, &["x", "y", "z"], t);
    }
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    wait_until("the five new records were delivered", || {
        received(&receiver).0.len() == 45
    })
    .await;
    wait_until("the cursor passed everything", || {
        cursor_of(&wal, "a") == 15
    })
    .await;
    delivery.shutdown(GRACE).await;
    assert_eq!(
        received(&receiver).1,
        45,
        "nothing delivered before the restart was resent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answered_400_is_never_resent() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_script([Answer::status(400)]),
    )
    .await
    .unwrap();
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    append_v1(&wal, &["poison"], 1);
    wait_until("the 400 batch is acknowledged (dropped)", || {
        cursor_of(&wal, "a") == 1
    })
    .await;
    append_v1(&wal, &["good"], 2);
    wait_until("the next record is delivered", || cursor_of(&wal, "a") == 2).await;
    delivery.shutdown(GRACE).await;
    assert_eq!(
        receiver.requests(),
        2,
        "one 400-answered request, one good one, no resend"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn write_relabel_configs_keep_only_matching_series() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let relabel = "    write_relabel_configs:\n      - source_labels: [instance]\n        regex: keep-.*\n        action: keep\n";
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), relabel));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    append_v1(&wal, &["keep-1", "drop-1", "keep-2"], 7);
    wait_until("the record is acknowledged", || cursor_of(&wal, "a") == 1).await;
    delivery.shutdown(GRACE).await;
    let expected: Pairs = [pair("up", "keep-1", 7), pair("up", "keep-2", 7)].into();
    assert_eq!(received(&receiver).0, expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_adds_and_removes_a_destination() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let first = recording().await;
    let second = recording().await;
    let a = stanza("a", &first.url("/api/v1/write"), "");
    let b = stanza("b", &second.url("/api/v1/write"), "");
    let mut delivery = Delivery::start(
        wal.clone(),
        &destinations(&a),
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    append_v1(&wal, &["x"], 1);
    wait_until("a delivered the first record", || cursor_of(&wal, "a") == 1).await;

    let report = delivery
        .apply(&destinations(&(a.clone() + &b)), GRACE)
        .await;
    assert_eq!(report.added, vec!["b".to_owned()]);
    assert!(report.removed.is_empty() && report.restarted.is_empty());
    append_v1(&wal, &["x"], 2);
    wait_until("b delivered the record appended after it was added", || {
        received(&second).0 == [pair("up", "x", 2)].into()
    })
    .await;

    let report = delivery.apply(&destinations(&b), GRACE).await;
    assert_eq!(report.removed, vec!["a".to_owned()]);
    assert_eq!(delivery.destinations(), vec!["b".to_owned()]);
    assert_eq!(wal.consumers(), vec!["b".to_owned()]);
    let progress_a = FileProgressStore::new(&settings(dir.path()).progress_dir, "a");
    assert!(!progress_a.path().exists());
    append_v1(&wal, &["x"], 3);
    wait_until("b keeps delivering", || cursor_of(&wal, "b") == 3).await;

    // A changed stanza under the same name restarts the destination on its cursor.
    let b_changed = stanza(
        "b",
        &second.url("/api/v1/write"),
        "    headers: {X-Changed: yes}\n",
    );
    let report = delivery.apply(&destinations(&b_changed), GRACE).await;
    assert_eq!(report.restarted, vec!["b".to_owned()]);
    assert_eq!(cursor_of(&wal, "b"), 3);
    append_v1(&wal, &["x"], 4);
    wait_until("the restarted b delivers new records", || {
        cursor_of(&wal, "b") == 4
    })
    .await;
    delivery.shutdown(GRACE).await;
    let (pairs, total) = received(&second);
    assert_eq!(
        pairs,
        (2..=4).map(|t| pair("up", "x", t)).collect::<Pairs>()
    );
    assert_eq!(total, 3, "the restart resent nothing");
    let latest = second.recorded().pop().unwrap();
    assert_eq!(latest.header("x-changed"), Some("yes"));
    assert_eq!(
        received(&first).0,
        [pair("up", "x", 1), pair("up", "x", 2)].into(),
        "a got nothing after it was removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_record_is_counted_and_acknowledged_and_lag_metrics_are_exposed() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    let mut registry = Registry::default();
    let delivery =
        Delivery::start(wal.clone(), &dests, settings(dir.path()), &mut registry).unwrap();
    wal.append(b"not a relay record").unwrap();
    append_v1(&wal, &["x"], 5);
    wait_until("both records are acknowledged", || {
        cursor_of(&wal, "a") == 2
    })
    .await;
    assert_eq!(delivery.metrics().undecodable_total("a"), 1);
    assert_eq!(received(&receiver).0, [pair("up", "x", 5)].into());
    let exposition = || {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        text
    };
    wait_until("lag metrics show the destination caught up", || {
        let text = exposition();
        text.contains("prw_delivery_lag_records{remote_name=\"a\"} 0")
            && text.contains("prw_delivery_lag_seconds{remote_name=\"a\"} 0")
            && text.contains("prw_delivery_undecodable_records_total{remote_name=\"a\"} 1")
    })
    .await;
    delivery.shutdown(GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_the_persisted_shard_count() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let url = receiver.url("/api/v1/write");
    let two = format!(
        "  - name: a\n    url: {url}\n    queue_config: {{min_shards: 2, max_shards: 2, batch_send_deadline: 50ms}}\n"
    );
    let delivery = Delivery::start(
        wal.clone(),
        &destinations(&two),
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    append_v1(&wal, &["x", "y", "z", "w"], 1);
    wait_until("the record is acknowledged", || cursor_of(&wal, "a") == 1).await;
    delivery.shutdown(GRACE).await;

    let one = format!(
        "  - name: a\n    url: {url}\n    queue_config: {{min_shards: 1, max_shards: 4, batch_send_deadline: 50ms}}\n"
    );
    let delivery = Delivery::start(
        wal.clone(),
        &destinations(&one),
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    assert_eq!(delivery.progress("a").unwrap().shards.len(), 2);
    delivery.shutdown(GRACE).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_only_records_are_forwarded() {
    let dir = tempfile::tempdir().unwrap();
    let wal = open_wal(dir.path());
    let receiver = recording().await;
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    let meta = v1::MetricMetadata {
        r#type: 1,
        metric_family_name: "up".into(),
        help: "1 if the target is up".into(),
        unit: String::new(),
    };
    let body = v1::WriteRequest {
        timeseries: vec![],
        metadata: vec![meta.clone()],
    }
    .encode_to_vec();
    append(&wal, Protocol::V1, &body);
    wait_until("the metadata request arrived", || receiver.requests() == 1).await;
    delivery.shutdown(GRACE).await;
    let request = &receiver.recorded()[0];
    let body = prw_core::codec::decompress(&request.body, &prw_core::Limits::default()).unwrap();
    let got = v1::WriteRequest::decode(body.as_slice()).unwrap();
    assert_eq!(got.metadata, vec![meta]);
    assert!(got.timeseries.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn progress_left_from_a_replaced_wal_never_skips_new_records() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = recording().await;
    let dests = destinations(&stanza("a", &receiver.url("/api/v1/write"), ""));
    {
        let wal = open_wal(dir.path());
        let delivery = Delivery::start(
            wal.clone(),
            &dests,
            settings(dir.path()),
            &mut Registry::default(),
        )
        .unwrap();
        for t in 0..5 {
            append_v1(&wal, &["old"], t);
        }
        wait_until("the old records were delivered", || {
            cursor_of(&wal, "a") == 5
        })
        .await;
        delivery.shutdown(GRACE).await;
    }
    // The WAL directory is replaced (wiped); the progress directory beside it is not.
    std::fs::remove_dir_all(dir.path().join("wal")).unwrap();
    let wal = open_wal(dir.path());
    let delivery = Delivery::start(
        wal.clone(),
        &dests,
        settings(dir.path()),
        &mut Registry::default(),
    )
    .unwrap();
    for t in 100..103 {
        append_v1(&wal, &["new"], t);
    }
    wait_until("the new records were delivered", || {
        cursor_of(&wal, "a") == 3
    })
    .await;
    delivery.shutdown(GRACE).await;
    let (pairs, _) = received(&receiver);
    assert!((100..103).all(|t| pairs.contains(&pair("up", "new", t))));
}
