//! A consumer's reader: iterates records from its committed cursor, waits for new appends on a
//! condition variable (no busy loop), and commits positions.
//!
//! Invariants: records come out in position order with no gaps, except when
//! `FullPolicy::DropOldest` deleted records this consumer had not committed (then the reader
//! jumps to the oldest record left; the loss is counted in the stats). Under
//! `SyncPolicy::Always` only durable records are returned.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::WalError;
use crate::position::Position;
use crate::scan::{RecordScanner, Step};
use crate::shared::{Shared, locate_plan};

/// A record read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its position.
    pub position: Position,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Reads the log for one consumer. Obtain with [`Wal::reader`](crate::Wal::reader).
#[derive(Debug)]
pub struct Reader {
    shared: Arc<Shared>,
    name: String,
    next_seq: u64,
    /// The open segment: `(segment id, scanner)`.
    scanner: Option<(u64, RecordScanner)>,
    /// The log's `cut_epoch` this reader's position belongs to.
    cut_epoch: u64,
    /// `(seq, segment, end offset)` of records returned and not yet committed.
    returned: VecDeque<(u64, u64, u64)>,
}

impl Reader {
    pub(crate) fn new(shared: Arc<Shared>, name: &str) -> Result<Reader, WalError> {
        let (next_seq, cut_epoch) = {
            let st = shared.lock();
            let next = st
                .consumers
                .get(name)
                .map(|c| c.next_seq)
                .ok_or_else(|| WalError::UnknownConsumer(name.to_owned()))?;
            (next, st.cut_epoch)
        };
        Ok(Reader {
            shared,
            name: name.to_owned(),
            next_seq,
            cut_epoch,
            scanner: None,
            returned: VecDeque::new(),
        })
    }

    /// The consumer name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The next record if one is readable now, without waiting.
    pub fn try_next(&mut self) -> Result<Option<Record>, WalError> {
        self.next_timeout(Duration::ZERO)
    }

    /// The next record, waiting up to `timeout` for one to be appended. `Ok(None)` on timeout
    /// or when the WAL is being dropped, so callers can check for shutdown and call again.
    pub fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Record>, WalError> {
        let deadline = Instant::now().checked_add(timeout);
        let mut st = self.shared.lock();
        let (segment, id, path, limit) = loop {
            let Some(consumer) = st.consumers.get(&self.name) else {
                return Err(WalError::UnknownConsumer(self.name.clone()));
            };
            // Records this reader may have returned were cut after a failed fsync (interval
            // policy): start again from the committed cursor.
            if self.cut_epoch != st.cut_epoch {
                self.cut_epoch = st.cut_epoch;
                self.next_seq = consumer.next_seq;
                self.scanner = None;
                self.returned.clear();
            }
            // Records deleted under us by DropOldest: jump to where the consumer was moved.
            if self.next_seq < st.first_seq() {
                self.next_seq = st.first_seq().max(consumer.next_seq);
                self.scanner = None;
                self.returned.clear();
            }
            if self.next_seq < self.shared.readable_seq(&st) {
                let Some(seg) = st
                    .segment_index(self.next_seq)
                    .and_then(|i| st.segments.get(i))
                else {
                    return Err(WalError::CommitBeyondEnd {
                        position: self.next_seq,
                        end: st.next_seq,
                    });
                };
                break (seg.first_seq, seg.id, seg.path.clone(), seg.len);
            }
            if st.is_shutdown() {
                return Ok(None);
            }
            let now = Instant::now();
            let remaining = match deadline {
                Some(d) if d > now => d - now,
                Some(_) => return Ok(None),
                None => Duration::from_secs(3600),
            };
            let (guard, _) = self
                .shared
                .appended
                .wait_timeout(st, remaining)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            st = guard;
        };
        let plan = match &self.scanner {
            Some((open, s)) if *open == id && s.next_seq() == self.next_seq => None,
            _ => Some(locate_plan(&st, self.next_seq)),
        };
        drop(st);
        let locate = match plan {
            Some(plan) => Some(self.shared.resolve(plan, self.next_seq)?),
            None => None,
        };
        if let Some((_, offset)) = locate {
            let max = self.shared.config.max_record_bytes;
            let storage = self.shared.storage.as_ref();
            let mut scanner = match RecordScanner::open(storage, &path, segment, max)? {
                Ok(s) => s,
                Err(Step::Damage { offset, kind, .. }) => {
                    return Err(WalError::Corrupt { path, offset, kind });
                }
                Err(_) => {
                    return Err(WalError::Corrupt {
                        path,
                        offset: 0,
                        kind: crate::CorruptKind::Truncated,
                    });
                }
            };
            scanner.seek(offset, self.next_seq)?;
            self.scanner = Some((id, scanner));
        }
        let Some((_, scanner)) = self.scanner.as_mut() else {
            return Ok(None);
        };
        scanner.limit = limit;
        match scanner.next(true)? {
            Step::Record { seq, payload, .. } => {
                self.next_seq = seq + 1;
                self.returned.push_back((seq, segment, scanner.offset()));
                Ok(Some(Record {
                    position: Position(seq),
                    data: payload,
                }))
            }
            Step::End => Err(WalError::Corrupt {
                path,
                offset: scanner.offset(),
                kind: crate::CorruptKind::Truncated,
            }),
            Step::Damage { offset, kind, .. } => {
                self.scanner = None;
                Err(WalError::Corrupt { path, offset, kind })
            }
        }
    }

    /// Persists that every record up to and including `position` is done for this consumer
    /// (atomically: temp file, rename, directory fsync). Commits never move backwards.
    pub fn commit(&mut self, position: Position) -> Result<(), WalError> {
        let mut location = None;
        while let Some(&(seq, segment, end)) = self.returned.front() {
            if seq > position.0 {
                break;
            }
            if seq == position.0 {
                location = Some((segment, end));
            }
            self.returned.pop_front();
        }
        self.shared
            .commit(&self.name, position.0.saturating_add(1), location)
    }

    /// Moves the reader back to the committed cursor (e.g. to resend after a failure).
    pub fn rewind(&mut self) {
        let st = self.shared.lock();
        if let Some(c) = st.consumers.get(&self.name) {
            self.next_seq = c.next_seq;
        }
        self.returned.clear();
    }
}
