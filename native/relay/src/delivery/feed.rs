//! One destination's source of records, in seq order: the tail when the record is there
//! (decoded once at ingest, shared by every destination), else the WAL.
//!
//! The WAL is read when the destination is behind the tail: on a replay after a restart
//! (its cursor is older than anything the tail holds), when it fell so far behind that the
//! tail evicted what it still needed, and always when delivery runs without a tail. WAL
//! records are read and decoded on the blocking pool, in batches, and come out exactly as
//! tail records do ([`DecodedRecord::from_stored`] gives what ingest gave), so both paths
//! yield the same items.
//!
//! Destinations behind the tail at the same time share the reading and the decoding: a
//! record one of them read from the WAL is kept for the others still behind it, with where
//! its WAL reader stood after it (`crate::tail::WalShare`, a [`prw_wal::ReadMark`]). A feed
//! that finds its next record there takes it from memory, with no trip to the blocking pool,
//! and moves its own WAL reader to the mark before it reads the WAL again, so N destinations
//! draining a backlog together read each record about once, not N times.
//!
//! A destination that forwards records as received ([`super::forward`]) gets a WAL record it
//! would forward as a record held as received only ([`DecodedRecord::received_only`]): its
//! head and body as received, not decoded (a destination that cuts it after all decodes it
//! then, as it does such a record from the tail).
//!
//! Invariants: records come out in seq order, each once per run; a record that cannot be
//! decoded comes out as [`Fed::Undecodable`] (it is acknowledged, not retried for ever); the
//! WAL reader is re-created at the committed cursor when the feed goes back to the WAL after
//! tail hits, and records before the feed's position are skipped (read, not decoded), unless
//! a mark moved it there; a mark only moves a reader forward; waits end at once when the stop
//! token fires.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prw_core::Limits;
use prw_wal::{Position, ReadMark, Reader, Wal, WalError};
use tokio_util::sync::CancellationToken;

use bytes::Bytes;

use super::cursor::NOTHING_COMMITTED;
use super::forward::Forwarding;
use crate::record::{DecodedRecord, ReceivedBody, RecordInfo, UndecodableRecord};
use crate::tail::{Lookup, SharedRecord, Tail, TailReader, WalShare};

/// How long one wait for a new WAL record lasts before the feed looks again.
pub const POLL: Duration = Duration::from_millis(100);

/// Pause after a WAL read error before trying again.
const READ_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Most records read from the WAL in one trip to the blocking pool.
const WAL_BATCH: usize = 4;

/// What the feed hands out.
#[derive(Debug)]
pub enum Fed {
    /// A record, decoded.
    Record(Arc<DecodedRecord>),
    /// WAL record `seq` could not be decoded.
    Undecodable {
        /// Its position.
        seq: u64,
        /// Why.
        error: UndecodableRecord,
    },
}

impl Fed {
    /// The record's WAL position.
    pub fn seq(&self) -> u64 {
        match self {
            Fed::Record(record) => record.seq(),
            Fed::Undecodable { seq, .. } => *seq,
        }
    }
}

/// One destination's feed.
#[derive(Debug)]
pub struct Feed {
    name: String,
    wal: Arc<Wal>,
    tail: Option<TailReader>,
    /// Present while the feed reads the WAL (and between trips to the blocking pool).
    reader: Option<Reader>,
    /// The next seq to hand out.
    next: u64,
    limits: Limits,
    /// The cursor's committed position (published by the cursor task).
    committed: Arc<AtomicU64>,
    /// Decoded from the WAL, not handed out yet.
    ready: VecDeque<Fed>,
    /// Whether the destination forwards records as received.
    forwarding: Option<Forwarding>,
    /// Where the WAL reader may skip to: the mark of the last record taken from the share.
    mark: Option<ReadMark>,
}

impl Feed {
    /// A feed for consumer `name` starting at its committed cursor, reading through `tail`
    /// when there is one.
    pub fn new(
        wal: Arc<Wal>,
        tail: Option<&Arc<Tail>>,
        name: &str,
        limits: Limits,
        committed: Arc<AtomicU64>,
    ) -> Result<Self, WalError> {
        let reader = wal.reader(name)?;
        let next = wal
            .stats()
            .consumers
            .iter()
            .find(|c| c.name == name)
            .map(|c| c.next.0)
            .ok_or_else(|| WalError::UnknownConsumer(name.to_owned()))?;
        Ok(Feed {
            name: name.to_owned(),
            tail: tail.map(|t| t.reader(name, next)),
            wal,
            reader: Some(reader),
            next,
            limits,
            committed,
            ready: VecDeque::new(),
            forwarding: None,
            mark: None,
        })
    }

    /// The same feed, not decoding the WAL records `forwarding` forwards, and telling the
    /// tail which records it takes whole (ingest may then keep those as received only).
    pub fn forwarding(mut self, forwarding: Option<Forwarding>) -> Self {
        if let (Some(tail), Some(rule)) = (&self.tail, &forwarding) {
            tail.takes_whole(Arc::new(rule.clone()));
        }
        self.forwarding = forwarding;
        self
    }

    /// The next record in seq order; `None` once `stop` fired.
    pub async fn next(&mut self, stop: &CancellationToken) -> Option<Fed> {
        loop {
            if stop.is_cancelled() {
                return None;
            }
            if let Some(fed) = self.ready.pop_front() {
                self.moved_past(fed.seq());
                return Some(fed);
            }
            let upto = match self.tail.as_ref().map(|t| t.lookup(self.next)) {
                Some(Lookup::Hit(record)) => {
                    // Back on the tail: the WAL reader's position is stale from now on.
                    self.reader = None;
                    self.moved_past(record.seq());
                    return Some(Fed::Record(record));
                }
                Some(Lookup::Ahead) => {
                    let tail = self.tail.as_ref()?;
                    tokio::select! {
                        biased;
                        () = stop.cancelled() => return None,
                        () = tail.arrival(self.next) => continue,
                    }
                }
                Some(Lookup::Behind { first }) => {
                    if let Some(shared) = self.shared(self.next) {
                        self.mark = shared.mark;
                        self.moved_past(shared.record.seq());
                        return Some(Fed::Record(shared.record));
                    }
                    Some(first)
                }
                None => None,
            };
            let read = self.read_wal(upto);
            let batch = tokio::select! {
                biased;
                () = stop.cancelled() => return None,
                batch = read => batch,
            };
            if let Some(tail) = &self.tail {
                tail.read_from_wal(u64::try_from(batch.len()).unwrap_or(u64::MAX));
            }
            self.ready.extend(batch);
        }
    }

    /// Record `seq`, if another destination just read it from the WAL.
    fn shared(&self, seq: u64) -> Option<SharedRecord> {
        self.tail.as_ref()?.wal_share().get(seq)
    }

    fn moved_past(&mut self, seq: u64) {
        self.next = self.next.max(seq.saturating_add(1));
        if let Some(tail) = &self.tail {
            tail.advance(self.next);
        }
    }

    /// Reads and decodes up to [`WAL_BATCH`] records from `next` (stopping before `upto`)
    /// on the blocking pool.
    async fn read_wal(&mut self, upto: Option<u64>) -> Vec<Fed> {
        let reader = match self.reader.take() {
            Some(reader) => Ok(reader),
            None => self.wal.reader(&self.name),
        };
        let mut reader = match reader {
            Ok(reader) => reader,
            Err(error) => {
                tracing::error!(destination = %self.name, %error, "opening a WAL reader failed; retrying");
                tokio::time::sleep(READ_ERROR_PAUSE).await;
                return Vec::new();
            }
        };
        // Past what the feed took from the share: skip it unread.
        if let Some(mark) = self.mark.take()
            && mark.next() == Position(self.next)
        {
            reader.skip_to(&mark);
        }
        let job = WalRead {
            share: self.tail.as_ref().map(TailReader::wal_share),
            name: self.name.clone(),
            from: self.next,
            upto,
            limits: self.limits,
            committed: self.committed.load(Ordering::SeqCst),
            forwarding: self.forwarding.clone(),
        };
        match tokio::task::spawn_blocking(move || {
            let batch = job.run(&mut reader);
            (reader, batch)
        })
        .await
        {
            Ok((reader, batch)) => {
                self.reader = Some(reader);
                batch
            }
            Err(error) => {
                tracing::error!(destination = %self.name, %error, "WAL read task failed");
                Vec::new()
            }
        }
    }
}

/// One trip to the blocking pool.
struct WalRead {
    /// Records read by the other destinations, shared.
    share: Option<WalShare>,
    name: String,
    from: u64,
    upto: Option<u64>,
    limits: Limits,
    committed: u64,
    forwarding: Option<Forwarding>,
}

impl WalRead {
    /// WAL record `seq` (the reader then at `mark`): as received when the destination
    /// forwards it, else decoded (or taken from another destination that just decoded it);
    /// offered to the destinations behind.
    fn read(&self, seq: u64, stored: Bytes, mark: Option<ReadMark>) -> Fed {
        let (head, received) = match ReceivedBody::read(&stored) {
            Ok(parts) => parts,
            Err(error) => {
                return Fed::Undecodable {
                    seq,
                    error: error.into(),
                };
            }
        };
        let record = if self
            .forwarding
            .as_ref()
            .is_some_and(|f| f.allows(head.protocol, &received))
        {
            let info = RecordInfo {
                seq,
                protocol: head.protocol,
                received_at_ms: head.received_at_ms,
                headers: Arc::from(head.headers),
            };
            DecodedRecord::received_only(info, received, self.limits)
        } else if let Some(shared) = self.share.as_ref().and_then(|s| s.get(seq)) {
            return Fed::Record(shared.record);
        } else {
            match DecodedRecord::from_received(seq, head, received, &self.limits) {
                Ok(decoded) => decoded,
                Err(error) => return Fed::Undecodable { seq, error },
            }
        };
        let record = Arc::new(record);
        if let Some(share) = &self.share {
            share.offer(&record, mark);
        }
        Fed::Record(record)
    }

    fn run(&self, reader: &mut Reader) -> Vec<Fed> {
        if self.committed != NOTHING_COMMITTED
            && let Err(error) = reader.commit(Position(self.committed))
        {
            // Already committed by the cursor task: this only drops the reader's bookkeeping.
            tracing::warn!(destination = %self.name, %error, "releasing committed records failed");
        }
        let mut out = Vec::new();
        while out.len() < WAL_BATCH {
            let wait = if out.is_empty() { POLL } else { Duration::ZERO };
            let record = match reader.next_timeout(wait) {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(error) => {
                    tracing::error!(destination = %self.name, %error, "reading the WAL failed; retrying");
                    std::thread::sleep(READ_ERROR_PAUSE);
                    break;
                }
            };
            let seq = record.position.0;
            if seq < self.from {
                // Handed out from the tail already (the reader restarted at the cursor).
                continue;
            }
            out.push(self.read(seq, Bytes::from(record.data), reader.mark()));
            if self.upto.is_some_and(|upto| seq.saturating_add(1) >= upto) {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
