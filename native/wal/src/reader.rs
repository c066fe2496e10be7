//! A consumer's reader: iterates records from its committed cursor, waits for new appends on a
//! condition variable (no busy loop), and commits positions.
//!
//! Invariants: records come out in position order with no gaps, except when
//! `FullPolicy::DropOldest` deleted records this consumer had not committed (then the reader
//! jumps to the oldest record left; the loss is counted in the stats). Under
//! `SyncPolicy::Always` only durable records are returned.
//!
//! Readers of one log may pass each other where they stand ([`ReadMark`]): a consumer that
//! got records from another consumer's reads (decoded once, shared in memory) moves its
//! reader past them with [`Reader::skip_to`], without reading them again. A mark is only a
//! hint: the record found there is still checked (sequence number and CRC) when read, and a
//! mark from before a cut (`cut_epoch`) is ignored.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::WalError;
use crate::position::Position;
use crate::scan::{RecordScanner, Step};
use crate::shared::{Locate, Shared, locate_plan};

/// A record read from the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Its position.
    pub position: Position,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// Where a reader stands after a record: the next record's sequence number and where it
/// starts. Obtain with [`Reader::mark`]; hand it to another reader of the same log with
/// [`Reader::skip_to`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadMark {
    next_seq: u64,
    segment: u64,
    offset: u64,
    cut_epoch: u64,
}

impl ReadMark {
    /// The position of the record the mark is in front of.
    pub fn next(&self) -> Position {
        Position(self.next_seq)
    }
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
    /// Where record `next_seq` starts, when known from a [`ReadMark`]: `(segment, offset)`.
    hint: Option<(u64, u64)>,
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
            hint: None,
        })
    }

    /// Where this reader stands: in front of the record after the last one it returned
    /// (`None` before it returned any since it was created or moved).
    pub fn mark(&self) -> Option<ReadMark> {
        let (segment, scanner) = self.scanner.as_ref()?;
        (scanner.next_seq() == self.next_seq).then(|| ReadMark {
            next_seq: self.next_seq,
            segment: *segment,
            offset: scanner.offset(),
            cut_epoch: self.cut_epoch,
        })
    }

    /// Moves the reader forward to `mark` (another reader's [`Reader::mark`] of the same
    /// log), skipping the records before it unread: they do not count as returned, so a
    /// commit among them records no location. A mark at or behind the reader, or from before
    /// a cut, changes nothing. Returns whether the reader moved.
    pub fn skip_to(&mut self, mark: &ReadMark) -> bool {
        if mark.next_seq <= self.next_seq || mark.cut_epoch != self.cut_epoch {
            return false;
        }
        self.next_seq = mark.next_seq;
        self.hint = Some((mark.segment, mark.offset));
        true
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
                self.hint = None;
            }
            // Records deleted under us by DropOldest: jump to where the consumer was moved.
            if self.next_seq < st.first_seq() {
                self.next_seq = st.first_seq().max(consumer.next_seq);
                self.scanner = None;
                self.returned.clear();
                self.hint = None;
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
        let plan = match (&self.scanner, self.hint.take()) {
            (Some((open, s)), _) if *open == id && s.next_seq() == self.next_seq => None,
            (_, Some((segment, offset))) if segment == id => Some(Locate::Known((id, offset))),
            _ => Some(locate_plan(&st, self.next_seq)),
        };
        drop(st);
        let locate = match plan {
            Some(plan) => Some(self.shared.resolve(plan, self.next_seq)?),
            None => None,
        };
        if let Some((_, offset)) = locate {
            if let Some((open, scanner)) = self.scanner.as_mut()
                && *open == id
            {
                // Same segment (e.g. after `skip_to`): move the open scanner.
                scanner.seek(offset, self.next_seq)?;
            } else {
                self.open_scanner(&path, segment, id, offset)?;
            }
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

    /// Opens segment `id` (whose first record is `first_seq`) at `offset`, where record
    /// `next_seq` starts.
    fn open_scanner(
        &mut self,
        path: &std::path::Path,
        first_seq: u64,
        id: u64,
        offset: u64,
    ) -> Result<(), WalError> {
        let max = self.shared.config.max_record_bytes;
        let storage = self.shared.storage.as_ref();
        let mut scanner = match RecordScanner::open(storage, path, first_seq, max)? {
            Ok(s) => s,
            Err(Step::Damage { offset, kind, .. }) => {
                let path = path.to_path_buf();
                return Err(WalError::Corrupt { path, offset, kind });
            }
            Err(_) => {
                return Err(WalError::Corrupt {
                    path: path.to_path_buf(),
                    offset: 0,
                    kind: crate::CorruptKind::Truncated,
                });
            }
        };
        scanner.seek(offset, self.next_seq)?;
        self.scanner = Some((id, scanner));
        Ok(())
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
        self.hint = None;
    }
}
