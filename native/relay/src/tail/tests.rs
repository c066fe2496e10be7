use std::time::Duration;

use bytes::Bytes;
use prw_core::Protocol;

use super::*;
use crate::record::RecordInfo;

fn record(seq: u64, body_len: usize) -> Arc<DecodedRecord> {
    let info = RecordInfo {
        seq,
        protocol: Protocol::V1,
        received_at_ms: 1_700_000_000_000,
        headers: Arc::from(Vec::new()),
    };
    Arc::new(DecodedRecord::new(info, Bytes::from(vec![0u8; body_len]), Vec::new(), 0).unwrap())
}

fn seq_of(lookup: &Lookup) -> Option<u64> {
    match lookup {
        Lookup::Hit(r) => Some(r.seq()),
        _ => None,
    }
}

#[test]
fn a_record_stays_until_every_reader_moved_past_it() {
    let tail = Arc::new(Tail::new(1 << 20, 10));
    let fast = tail.reader("fast", 10);
    let slow = tail.reader("slow", 10);
    tail.insert(record(10, 100));
    tail.insert(record(11, 100));
    assert_eq!(seq_of(&fast.lookup(10)), Some(10));
    fast.advance(12);
    assert_eq!(tail.metrics().records.get(), 2);
    assert_eq!(seq_of(&slow.lookup(10)), Some(10));
    slow.advance(11);
    assert_eq!(tail.metrics().records.get(), 1);
    drop(slow);
    assert_eq!(tail.metrics().records.get(), 0);
    assert!(matches!(fast.lookup(12), Lookup::Ahead));
}

#[test]
fn nothing_is_held_without_readers() {
    let tail = Tail::new(1 << 20, 0);
    tail.insert(record(0, 100));
    assert_eq!(tail.metrics().records.get(), 0);
    assert_eq!(tail.metrics().bytes.get(), 0);
}

#[test]
fn over_the_cap_the_oldest_records_leave_and_their_readers_are_sent_to_the_wal() {
    let one = record(0, 1000).memory_bytes();
    let tail = Arc::new(Tail::new(one * 2, 0));
    let reader = tail.reader("slow", 0);
    for seq in 0..5 {
        tail.insert(record(seq, 1000));
    }
    assert_eq!(tail.metrics().records.get(), 2);
    assert_eq!(tail.metrics().evicted.get(), 3);
    assert!(matches!(reader.lookup(0), Lookup::Behind { first: 3 }));
    assert_eq!(seq_of(&reader.lookup(3)), Some(3));
    assert_eq!(seq_of(&reader.lookup(4)), Some(4));
    assert!(matches!(reader.lookup(5), Lookup::Ahead));
}

#[test]
fn a_reader_starting_before_the_tail_reads_the_wal_first() {
    let tail = Arc::new(Tail::new(1 << 20, 100));
    let reader = tail.reader("replay", 40);
    tail.insert(record(100, 10));
    assert!(matches!(reader.lookup(40), Lookup::Behind { first: 100 }));
    assert_eq!(seq_of(&reader.lookup(100)), Some(100));
}

#[test]
fn a_gap_in_the_seqs_sends_readers_to_the_wal_for_it() {
    let tail = Arc::new(Tail::new(1 << 20, 0));
    let reader = tail.reader("d", 0);
    tail.insert(record(0, 10));
    tail.insert(record(3, 10));
    assert_eq!(seq_of(&reader.lookup(0)), None);
    assert!(matches!(reader.lookup(1), Lookup::Behind { first: 3 }));
    assert_eq!(seq_of(&reader.lookup(3)), Some(3));
    tail.skip_to(9);
    assert!(matches!(reader.lookup(4), Lookup::Behind { first: 9 }));
    assert!(matches!(reader.lookup(9), Lookup::Ahead));
}

#[tokio::test(start_paused = true)]
async fn arrival_waits_for_the_record_to_be_inserted() {
    let tail = Arc::new(Tail::new(1 << 20, 5));
    let reader = tail.reader("d", 5);
    let waiting = reader.arrival(5);
    tokio::pin!(waiting);
    tokio::select! {
        () = &mut waiting => panic!("nothing was inserted yet"),
        () = tokio::time::sleep(Duration::from_secs(60)) => {}
    }
    let inserter = Arc::clone(&tail);
    tokio::spawn(async move { inserter.insert(record(5, 10)) });
    waiting.await;
    assert_eq!(seq_of(&reader.lookup(5)), Some(5));
    assert_eq!(
        tail.metrics()
            .hits
            .get_or_create(&metrics::NameLabel {
                remote_name: "d".into()
            })
            .get(),
        1
    );
}

#[test]
fn a_record_decoded_from_the_wal_is_shared_with_the_readers_behind_it_only() {
    let tail = Arc::new(Tail::new(1 << 20, 100));
    let first = tail.reader("a", 10);
    let second = tail.reader("b", 10);
    let alone = tail.reader("c", 50);
    let record = record(20, 100);
    // "a" decoded record 20; "b" (at 10) still needs it.
    first.wal_share().offer(&record, None);
    let shared = second.wal_share().get(20).map(|r| r.record.seq());
    assert_eq!(shared, Some(20));
    assert_eq!(tail.metrics().shared.get(), 1);
    // Once both passed it, it is gone; nobody behind 60 means it is not even kept.
    first.advance(21);
    second.advance(21);
    drop(alone);
    assert!(second.wal_share().get(20).is_none());
    let late = self::record(60, 100);
    first.wal_share().offer(&late, None);
    assert!(second.wal_share().get(60).is_some(), "b at 21 is behind 60");
    second.advance(61);
    first.advance(61);
    assert_eq!(tail.metrics().bytes.get(), 0);
}

#[test]
fn with_every_reader_behind_the_tail_shared_records_displace_the_newest_ones() {
    let one = record(0, 1000).memory_bytes();
    let tail = Arc::new(Tail::new(one * 4, 100));
    let ahead = tail.reader("ahead", 10);
    let behind = tail.reader("behind", 10);
    for seq in 100..104 {
        tail.insert(record(seq, 1000));
    }
    assert_eq!(tail.metrics().records.get(), 4);
    // "ahead" decodes 10..14 from the WAL; "behind" will need them next, the tail's records
    // only once both caught up through the WAL: the tail's records make room.
    for seq in 10..14 {
        ahead.wal_share().offer(&record(seq, 1000), None);
    }
    for seq in 10..14 {
        assert!(behind.wal_share().get(seq).is_some(), "record {seq}");
    }
    assert_eq!(tail.metrics().records.get(), 0);
    assert_eq!(tail.metrics().evicted.get(), 4);
    assert!(tail.metrics().bytes.get() <= i64::try_from(one * 4).unwrap());
}

/// A tail capped at four 1,000-byte records holding `records`, with a reader at its first
/// record and two readers behind it at seq 10.
fn follower_and_two_behind(records: std::ops::Range<u64>) -> (Arc<Tail>, [TailReader; 3]) {
    let one = record(0, 1000).memory_bytes();
    let tail = Arc::new(Tail::new(one * 4, records.start));
    let readers = [
        tail.reader("follower", records.start),
        tail.reader("ahead", 10),
        tail.reader("behind", 10),
    ];
    for seq in records {
        tail.insert(record(seq, 1000));
    }
    (tail, readers)
}

#[test]
fn records_a_follower_still_needs_are_never_displaced_by_shared_ones() {
    let (tail, [follower, ahead, behind]) = follower_and_two_behind(100..104);
    for seq in 10..12 {
        ahead.wal_share().offer(&record(seq, 1000), None);
    }
    assert_eq!(tail.metrics().records.get(), 4);
    assert_eq!(tail.metrics().evicted.get(), 0);
    assert_eq!(seq_of(&follower.lookup(100)), Some(100));
    assert!(behind.wal_share().get(10).is_none());
    assert!(behind.wal_share().get(11).is_none());
}

#[test]
fn records_no_follower_needs_make_room_for_shared_ones_up_to_half_the_cap() {
    let (tail, [follower, ahead, behind]) = follower_and_two_behind(100..103);
    // The follower took 100 and 101; only the readers behind could still want them.
    follower.advance(102);
    ahead.wal_share().offer(&record(10, 1000), None);
    ahead.wal_share().offer(&record(11, 1000), None);
    assert_eq!(tail.metrics().records.get(), 2);
    assert_eq!(seq_of(&follower.lookup(102)), Some(102));
    assert!(behind.wal_share().get(10).is_some());
    assert!(behind.wal_share().get(11).is_some());
    // A third shared record would pass half the cap: the oldest shared one leaves.
    ahead.wal_share().offer(&record(12, 1000), None);
    assert_eq!(tail.metrics().records.get(), 2);
    assert!(behind.wal_share().get(10).is_none());
    assert!(behind.wal_share().get(11).is_some());
    assert!(behind.wal_share().get(12).is_some());
}

/// A forwarding rule for tests: takes records of `protocol` whole up to `limit`.
#[derive(Debug)]
struct Whole {
    protocol: Protocol,
    limit: u64,
}

impl TakesWhole for Whole {
    fn whole_limit(&self, protocol: Protocol) -> Option<u64> {
        (protocol == self.protocol).then_some(self.limit)
    }
}

fn whole(protocol: Protocol, limit: u64) -> Arc<dyn TakesWhole> {
    Arc::new(Whole { protocol, limit })
}

#[test]
fn records_are_kept_as_received_only_while_every_reader_takes_them_whole() {
    let tail = Arc::new(Tail::new(1 << 20, 0));
    assert_eq!(
        tail.whole_limit(Protocol::V1),
        None,
        "no reader: nothing is lean"
    );
    let a = tail.reader("a", 0);
    assert_eq!(
        tail.whole_limit(Protocol::V1),
        None,
        "a reader without a rule cuts"
    );
    a.takes_whole(whole(Protocol::V1, 500));
    assert_eq!(tail.whole_limit(Protocol::V1), Some(500));
    assert_eq!(
        tail.whole_limit(Protocol::V2),
        None,
        "the rule is per protocol"
    );
    let b = tail.reader("b", 0);
    assert_eq!(tail.whole_limit(Protocol::V1), None, "b has no rule yet");
    b.takes_whole(whole(Protocol::V1, 200));
    assert_eq!(
        tail.whole_limit(Protocol::V1),
        Some(200),
        "the smallest limit holds"
    );
    let c = tail.reader("c", 0);
    c.takes_whole(whole(Protocol::V2, 900));
    assert_eq!(tail.whole_limit(Protocol::V1), None, "c cuts 1.0 records");
    drop(c);
    drop(b);
    assert_eq!(
        tail.whole_limit(Protocol::V1),
        Some(500),
        "a dropped reader's rule leaves"
    );
    drop(a);
    assert_eq!(tail.whole_limit(Protocol::V1), None);
}
