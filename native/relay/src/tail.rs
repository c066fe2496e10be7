//! The tail: the most recent durable records, decoded once at ingest, held in memory for the
//! destinations, keyed by WAL sequence number.
//!
//! Ingest's WAL writer [`Tail::insert`]s each record right after the append that made it
//! durable (the fsync under `sync: always`), in seq order. Each destination reads through a
//! [`TailReader`] in seq order: [`TailReader::lookup`] answers the record itself (from
//! memory), [`Lookup::Behind`] (the record is older than anything held: read it from the
//! WAL, e.g. a replay after a restart or a destination that fell behind) or [`Lookup::Ahead`]
//! (not appended yet: [`TailReader::arrival`] waits for it).
//!
//! Invariants:
//! - the records held are exactly the seqs `first..end`, contiguous; everything below
//!   `first` is only in the WAL; `end` never moves backwards;
//! - a record leaves once every reader has moved past it, or earlier when the held bytes
//!   exceed `max_bytes` (oldest first; counted `prw_tail_evicted_total`): its readers then
//!   get [`Lookup::Behind`] and read it from the WAL, so nothing is lost, only re-decoded;
//! - with no reader registered nothing is held;
//! - records a destination read from the WAL are shared with the other destinations still
//!   behind them ([`WalShare`]), with where its WAL reader stood after the record (a
//!   [`ReadMark`], opaque here): N destinations catching up read and decode each record
//!   about once, the others take it from memory and move their WAL readers past it; such a
//!   record is dropped once every reader passed it;
//! - over the cap, what leaves first is what is least likely to be wanted soon: shared
//!   records beyond half the cap (while some reader is in the tail), then records no reader
//!   in the tail still needs (only destinations far behind could want them, after catching
//!   up through the WAL), then the other shared records, then the oldest records
//!   ([`Tail::trim`]);
//! - a record may be held as received only ([`DecodedRecord::received_only`]: ingest skipped
//!   the per-series facts) only when every reader took such a record whole when ingest
//!   asked ([`Tail::whole_limit`]); a reader that no longer does (it resharded or fell back
//!   to another protocol since) decodes it itself, so a lean record costs a second decode
//!   only around such a change, never a lost record;
//! - a gap in the seqs inserted (appends that failed part-way) moves `first` past it, so
//!   readers fetch the gap from the WAL; the tail knows nothing of WAL segments, so segment
//!   rotation does not affect it.

mod metrics;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use prometheus_client::metrics::counter::Counter;
use prw_core::Protocol;
use prw_wal::ReadMark;
use tokio::sync::Notify;

pub use metrics::TailMetrics;

use crate::record::DecodedRecord;

/// Default cap of the tail: about ten 2,000-series requests (about 0.75 MiB each decoded,
/// with facts): what destinations that keep up need, small next to the relay's other memory
/// (a destination further behind reads the WAL).
pub const DEFAULT_MAX_BYTES: usize = 8 << 20;

/// Decoded records waiting for the destinations.
#[derive(Debug)]
pub struct Tail {
    state: Mutex<State>,
    arrived: Notify,
    max_bytes: usize,
    metrics: TailMetrics,
}

#[derive(Debug)]
struct State {
    /// Seq of `records.front()` (`end` when empty).
    first: u64,
    /// One past the newest seq inserted (or skipped).
    end: u64,
    records: VecDeque<Arc<DecodedRecord>>,
    bytes: usize,
    /// Records read from the WAL by one reader, kept for the readers behind it.
    shared: BTreeMap<u64, SharedRecord>,
    shared_bytes: usize,
    /// Per reader, the next seq it wants.
    readers: BTreeMap<u64, u64>,
    /// Per reader that takes records whole, its rule.
    whole: BTreeMap<u64, Arc<dyn TakesWhole>>,
    next_reader: u64,
}

/// Where a record is, for one reader.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// In memory.
    Hit(Arc<DecodedRecord>),
    /// Older than everything held: read it from the WAL. Records from `first` on are held.
    Behind {
        /// The oldest seq held (or the next one to be appended when nothing is held).
        first: u64,
    },
    /// Not appended yet.
    Ahead,
}

impl Tail {
    /// An empty tail whose first record will be `next_seq` (the WAL's next position), holding
    /// at most `max_bytes` of records.
    pub fn new(max_bytes: usize, next_seq: u64) -> Self {
        let metrics = TailMetrics::default();
        metrics
            .max_bytes
            .set(i64::try_from(max_bytes).unwrap_or(i64::MAX));
        Tail {
            state: Mutex::new(State {
                first: next_seq,
                end: next_seq,
                records: VecDeque::new(),
                bytes: 0,
                shared: BTreeMap::new(),
                shared_bytes: 0,
                readers: BTreeMap::new(),
                whole: BTreeMap::new(),
                next_reader: 0,
            }),
            arrived: Notify::new(),
            max_bytes,
            metrics,
        }
    }

    /// The metric handles (register them once with [`TailMetrics::register`]).
    pub fn metrics(&self) -> &TailMetrics {
        &self.metrics
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds the record just made durable. Seqs must increase; a jump past `end` is a gap
    /// (those records are read from the WAL), a seq below `end` is ignored.
    pub fn insert(&self, record: Arc<DecodedRecord>) {
        {
            let mut st = self.lock();
            let seq = record.seq();
            if seq < st.end {
                return;
            }
            if seq > st.end {
                st.clear_to(seq);
            }
            st.bytes = st.bytes.saturating_add(record.memory_bytes());
            st.records.push_back(record);
            st.end = seq.saturating_add(1);
            self.trim(&mut st);
        }
        self.arrived.notify_waiters();
    }

    /// Records below `next_seq` will never be inserted (an append failed part-way): readers
    /// get them from the WAL.
    pub fn skip_to(&self, next_seq: u64) {
        {
            let mut st = self.lock();
            if next_seq <= st.end {
                return;
            }
            st.clear_to(next_seq);
            self.publish(&st);
        }
        self.arrived.notify_waiters();
    }

    /// The most samples + histograms + exemplars a record of `protocol` may carry for every
    /// reader to take it whole now (so ingest may keep it as received only); `None` when
    /// there is no reader or one of them would cut such a record.
    pub fn whole_limit(&self, protocol: Protocol) -> Option<u64> {
        let st = self.lock();
        if st.readers.is_empty() {
            return None;
        }
        st.readers.keys().try_fold(u64::MAX, |limit, id| {
            let taker = st.whole.get(id)?;
            taker.whole_limit(protocol).map(|l| l.min(limit))
        })
    }

    /// A reader for destination `name` whose next record is `next_seq`.
    pub fn reader(self: &Arc<Self>, name: &str, next_seq: u64) -> TailReader {
        let id = {
            let mut st = self.lock();
            let id = st.next_reader;
            st.next_reader = st.next_reader.wrapping_add(1);
            st.readers.insert(id, next_seq);
            self.trim(&mut st);
            id
        };
        let label = metrics::NameLabel {
            remote_name: name.to_owned(),
        };
        TailReader {
            tail: Arc::clone(self),
            id,
            hits: self.metrics.hits.get_or_create(&label).clone(),
            wal_reads: self.metrics.wal_reads.get_or_create(&label).clone(),
        }
    }

    /// Drops what every reader passed; then, while over the cap, in this order: shared WAL
    /// records beyond half the cap (the whole cap when no reader is in the tail), records
    /// no follower (a reader still in the tail) needs, the other shared WAL records, the
    /// oldest records (oldest first within each).
    ///
    /// Why this order: when destinations are behind the tail (a backlog), the newest records
    /// are useless to them until they catch up, while a record one of them just decoded from
    /// the WAL is wanted by the others within moments; so sharing gets that room first. A
    /// record a follower (a reader in the tail) has not taken is never displaced by a shared
    /// one, and while a follower exists sharing takes at most half the cap.
    fn trim(&self, st: &mut State) {
        let wanted_from = st.readers.values().copied().min().unwrap_or(u64::MAX);
        while let Some(entry) = st.shared.first_entry() {
            if *entry.key() >= wanted_from {
                break;
            }
            let shared = entry.remove();
            st.shared_bytes = st.shared_bytes.saturating_sub(shared.record.memory_bytes());
        }
        while let Some(front) = st.records.front() {
            if front.seq() >= wanted_from {
                break;
            }
            st.bytes = st.bytes.saturating_sub(front.memory_bytes());
            st.records.pop_front();
            st.first = st.first.saturating_add(1);
        }
        // Below this seq no reader in the tail needs a record (`u64::MAX`: no reader is).
        let followed_from = st
            .readers
            .values()
            .copied()
            .filter(|next| *next >= st.first)
            .min()
            .unwrap_or(u64::MAX);
        let shared_cap = if followed_from == u64::MAX {
            self.max_bytes
        } else {
            self.max_bytes / 2
        };
        while st.bytes + st.shared_bytes > self.max_bytes {
            let front_unfollowed = st
                .records
                .front()
                .is_some_and(|front| front.seq() < followed_from);
            // No record left (or only followed ones): shared records are what can go.
            let drop_shared =
                !st.shared.is_empty() && (st.shared_bytes > shared_cap || !front_unfollowed);
            if drop_shared {
                if let Some((_, shared)) = st.shared.pop_first() {
                    st.shared_bytes = st.shared_bytes.saturating_sub(shared.record.memory_bytes());
                }
            } else if let Some(front) = st.records.pop_front() {
                self.metrics.evicted.inc();
                st.bytes = st.bytes.saturating_sub(front.memory_bytes());
                st.first = st.first.saturating_add(1);
            } else {
                break;
            }
        }
        self.publish(st);
    }

    fn publish(&self, st: &State) {
        self.metrics
            .bytes
            .set(i64::try_from(st.bytes + st.shared_bytes).unwrap_or(i64::MAX));
        self.metrics
            .records
            .set(i64::try_from(st.records.len()).unwrap_or(i64::MAX));
    }
}

impl State {
    /// Forgets everything held; the next record expected is `seq`.
    fn clear_to(&mut self, seq: u64) {
        self.records.clear();
        self.bytes = 0;
        self.first = seq;
        self.end = seq;
    }

    fn lookup(&self, seq: u64) -> Lookup {
        if seq >= self.end {
            return Lookup::Ahead;
        }
        let held = seq
            .checked_sub(self.first)
            .and_then(|offset| usize::try_from(offset).ok())
            .and_then(|index| self.records.get(index));
        match held {
            Some(record) => Lookup::Hit(Arc::clone(record)),
            None => Lookup::Behind { first: self.first },
        }
    }
}

/// How a reader takes records whole, as received (delivery's forwarding rule,
/// `crate::delivery::forward`).
pub trait TakesWhole: std::fmt::Debug + Send + Sync {
    /// The most samples + histograms + exemplars of a record of `protocol` it takes whole
    /// now; `None` when it takes no record of `protocol` whole now.
    fn whole_limit(&self, protocol: Protocol) -> Option<u64>;
}

/// One destination's view of the tail. Dropping it releases what it held back.
#[derive(Debug)]
pub struct TailReader {
    tail: Arc<Tail>,
    id: u64,
    hits: Counter,
    wal_reads: Counter,
}

impl TailReader {
    /// Where record `seq` is (a hit is counted).
    pub fn lookup(&self, seq: u64) -> Lookup {
        let found = self.tail.lock().lookup(seq);
        if let Lookup::Hit(_) = found {
            self.hits.inc();
        }
        found
    }

    /// The reader takes records whole by `rule` (see [`Tail::whole_limit`]).
    pub fn takes_whole(&self, rule: Arc<dyn TakesWhole>) {
        self.tail.lock().whole.insert(self.id, rule);
    }

    /// The reader is done with everything below `next_seq`: those records may leave.
    pub fn advance(&self, next_seq: u64) {
        let mut st = self.tail.lock();
        let moved = match st.readers.get_mut(&self.id) {
            Some(next) if *next < next_seq => {
                *next = next_seq;
                true
            }
            _ => false,
        };
        if moved {
            self.tail.trim(&mut st);
        }
    }

    /// The handle the reader's WAL reads share decoded records through.
    pub fn wal_share(&self) -> WalShare {
        WalShare {
            tail: Arc::clone(&self.tail),
            id: self.id,
        }
    }

    /// Counts `records` read from the WAL instead of the tail.
    pub fn read_from_wal(&self, records: u64) {
        self.wal_reads.inc_by(records);
    }

    /// Waits until record `seq` has been appended (or skipped), i.e. until
    /// [`TailReader::lookup`] no longer answers [`Lookup::Ahead`] for it.
    pub async fn arrival(&self, seq: u64) {
        loop {
            let notified = self.tail.arrived.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.tail.lock().end > seq {
                return;
            }
            notified.await;
        }
    }
}

/// A record one reader read from the WAL, as shared with the others.
#[derive(Debug, Clone)]
pub struct SharedRecord {
    /// The record (decoded, or as received only when the reader forwards it).
    pub record: Arc<DecodedRecord>,
    /// Where the sharing reader's WAL reader stood right after the record: a reader that
    /// takes the record moves its own WAL reader there instead of reading it again.
    pub mark: Option<ReadMark>,
}

/// One reader's side of the records read from the WAL: take what another reader already
/// read, offer what this one read to the readers behind it. Cheap to clone; usable from a
/// blocking thread.
#[derive(Debug, Clone)]
pub struct WalShare {
    tail: Arc<Tail>,
    id: u64,
}

impl WalShare {
    /// Record `seq`, if another reader read it from the WAL and kept it.
    pub fn get(&self, seq: u64) -> Option<SharedRecord> {
        let found = self.tail.lock().shared.get(&seq).cloned();
        if found.is_some() {
            self.tail.metrics.shared.inc();
        }
        found
    }

    /// Offers `record`, just read from the WAL (the reader then at `mark`), to the other
    /// readers: kept if one of them has not passed it yet (within the cap).
    pub fn offer(&self, record: &Arc<DecodedRecord>, mark: Option<ReadMark>) {
        let mut st = self.tail.lock();
        let seq = record.seq();
        let wanted = st
            .readers
            .iter()
            .any(|(id, next)| *id != self.id && *next <= seq);
        if !wanted || st.shared.contains_key(&seq) {
            return;
        }
        st.shared_bytes = st.shared_bytes.saturating_add(record.memory_bytes());
        let record = Arc::clone(record);
        st.shared.insert(seq, SharedRecord { record, mark });
        self.tail.trim(&mut st);
    }
}

impl Drop for TailReader {
    fn drop(&mut self) {
        let mut st = self.tail.lock();
        st.readers.remove(&self.id);
        st.whole.remove(&self.id);
        self.tail.trim(&mut st);
    }
}
