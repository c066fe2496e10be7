use bytes::Bytes;

use super::*;
use crate::config::{Overrides, parse};

fn forwarding(max_samples: u64, shards: usize, protocol: Protocol) -> Forwarding {
    Forwarding {
        max_samples,
        shards: Arc::new(AtomicUsize::new(shards)),
        protocol: Arc::new(ProtocolState::new(protocol)),
    }
}

fn received(samples: u32, histograms: u32, exemplars: u32) -> ReceivedBody {
    ReceivedBody {
        body: Bytes::from_static(b"as received"),
        samples,
        histograms,
        exemplars,
        max_timestamp_ms: Some(42),
    }
}

fn destination(extra: &str) -> config::Destination {
    let text = format!("remote_write:\n  - url: http://127.0.0.1:1/\n{extra}");
    parse(&text, &Overrides::default())
        .unwrap()
        .config
        .destinations
        .remove(0)
}

#[test]
fn a_v1_record_within_max_samples_per_send_is_forwarded_by_a_one_shard_v1_destination() {
    let f = forwarding(10, 1, Protocol::V1);
    assert!(f.allows(Protocol::V1, &received(4, 3, 3)));
    assert!(f.allows(Protocol::V1, &received(0, 0, 0)), "metadata only");
}

#[test]
fn samples_histograms_and_exemplars_together_over_max_samples_per_send_are_cut() {
    let f = forwarding(10, 1, Protocol::V1);
    assert!(!f.allows(Protocol::V1, &received(4, 4, 3)));
    assert!(!f.allows(Protocol::V1, &received(u32::MAX, u32::MAX, u32::MAX)));
}

#[test]
fn with_more_than_one_shard_records_are_cut_and_forwarding_resumes_at_one() {
    let f = forwarding(10, 2, Protocol::V1);
    assert!(!f.allows(Protocol::V1, &received(1, 0, 0)));
    f.shards.store(1, Ordering::SeqCst);
    assert!(f.allows(Protocol::V1, &received(1, 0, 0)));
}

#[test]
fn the_rule_the_tail_holds_follows_the_destinations_shards_and_protocol() {
    // `Feed::forwarding` hands the tail a clone: it must see reshards and fallbacks, or
    // ingest would keep records as received only for a destination that cuts them.
    let f = forwarding(10, 1, Protocol::V2);
    let held: Arc<dyn TakesWhole> = Arc::new(f.clone());
    assert_eq!(held.whole_limit(Protocol::V2), Some(10));
    f.shards.store(3, Ordering::SeqCst);
    assert_eq!(held.whole_limit(Protocol::V2), None);
    f.shards.store(1, Ordering::SeqCst);
    assert!(f.protocol.fall_back());
    assert_eq!(held.whole_limit(Protocol::V2), None);
    assert_eq!(held.whole_limit(Protocol::V1), Some(10));
}

#[test]
fn a_record_is_forwarded_only_in_the_protocol_the_destination_sends_now() {
    let v2_destination = forwarding(10, 1, Protocol::V2);
    assert!(!v2_destination.allows(Protocol::V1, &received(1, 0, 0)));
    assert!(v2_destination.allows(Protocol::V2, &received(1, 0, 0)));
    assert!(v2_destination.protocol.fall_back());
    assert!(!v2_destination.allows(Protocol::V2, &received(1, 0, 0)));
    assert!(v2_destination.allows(Protocol::V1, &received(1, 0, 0)));
    let v1_destination = forwarding(10, 1, Protocol::V1);
    assert!(!v1_destination.allows(Protocol::V2, &received(1, 0, 0)));
}

#[test]
fn relabelling_an_age_limit_or_the_key_turned_off_rule_forwarding_out() {
    assert!(settings_allow(&destination("")));
    assert!(!settings_allow(&destination(
        "    forward_as_received: false\n"
    )));
    assert!(!settings_allow(&destination(
        "    write_relabel_configs:\n      - action: keep\n        source_labels: [job]\n        regex: a\n"
    )));
    assert!(!settings_allow(&destination(
        "    queue_config:\n      sample_age_limit: 5m\n"
    )));
}

#[test]
fn the_whole_item_carries_the_body_as_received_and_the_head_counts() {
    let headers: Arc<[ForwardedHeader]> =
        Arc::from(vec![ForwardedHeader::new("X-Scope-OrgID", "t").unwrap()]);
    let item = whole_item(7, Protocol::V1, Arc::clone(&headers), &received(2, 1, 1));
    assert_eq!(item.body, Bytes::from_static(b"as received"));
    assert_eq!(item.record_seq, 7);
    assert_eq!(
        item.counts,
        ItemCounts {
            samples: 2,
            histograms: 1,
            exemplars: 1
        }
    );
    assert_eq!(item.max_timestamp_ms, 42);
    assert_eq!(item.headers, headers);
    let none = ReceivedBody {
        max_timestamp_ms: None,
        ..received(0, 0, 0)
    };
    assert_eq!(
        whole_item(1, Protocol::V1, headers, &none).max_timestamp_ms,
        i64::MIN
    );
}
