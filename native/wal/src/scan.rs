//! Sequential reading of one segment file, record by record, checking every CRC. Shared by
//! recovery, readers, `verify` and `inspect`, so they agree on what "damaged" means.
//!
//! Invariant: [`RecordScanner::next`] never allocates more than `max_record` bytes for a
//! payload, whatever the header on disk declares.

use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::error::{CorruptKind, WalError};
use crate::format::{self, RECORD_HEADER_LEN, SEGMENT_HEADER_LEN};
use crate::storage::{ReadFile, Storage};

/// One step of a scan.
#[derive(Debug)]
pub(crate) enum Step {
    /// A valid record.
    Record { seq: u64, payload: Vec<u8> },
    /// The end of the readable bytes, exactly at a record boundary.
    End,
    /// Damage at `offset`. `torn` is true when it looks like an interrupted final write: the
    /// record runs past the end of the file, or its CRC fails and it ends exactly at the end.
    Damage {
        offset: u64,
        kind: CorruptKind,
        torn: bool,
    },
}

/// Reads records of one segment from a known offset.
#[derive(Debug)]
pub(crate) struct RecordScanner {
    path: PathBuf,
    file: BufReader<Box<dyn ReadFile>>,
    offset: u64,
    /// Bytes of the file that may be read (the file length, or what the writer has written).
    pub(crate) limit: u64,
    next_seq: u64,
    max_record: u64,
}

impl RecordScanner {
    /// Opens `path`, checks its header against `first_seq` and positions at the first record.
    /// `Ok(Err(step))` reports a damaged header as a `Step::Damage` at offset 0.
    pub(crate) fn open(
        storage: &dyn Storage,
        path: &Path,
        first_seq: u64,
        max_record: u64,
    ) -> Result<Result<RecordScanner, Step>, WalError> {
        let mut file = storage
            .open_read(path)
            .map_err(WalError::io("open", path))?;
        let limit = storage.len(path).map_err(WalError::io("stat", path))?;
        let mut header = [0u8; SEGMENT_HEADER_LEN as usize];
        if limit < SEGMENT_HEADER_LEN {
            return Ok(Err(Step::Damage {
                offset: 0,
                kind: CorruptKind::Truncated,
                torn: true,
            }));
        }
        file.read_exact(&mut header)
            .map_err(WalError::io("read", path))?;
        match format::decode_segment_header(&header) {
            Ok(found) if found == first_seq => {}
            Ok(found) => {
                let kind = CorruptKind::SegmentIdMismatch {
                    expected: first_seq,
                    found,
                };
                return Ok(Err(Step::Damage {
                    offset: 0,
                    kind,
                    torn: false,
                }));
            }
            Err(kind) => {
                return Ok(Err(Step::Damage {
                    offset: 0,
                    kind,
                    torn: false,
                }));
            }
        }
        Ok(Ok(RecordScanner {
            path: path.to_path_buf(),
            file: BufReader::with_capacity(256 * 1024, file),
            offset: SEGMENT_HEADER_LEN,
            limit,
            next_seq: first_seq,
            max_record,
        }))
    }

    /// Moves to `offset`, where the record with sequence `seq` starts. A target inside what
    /// the buffer holds keeps the buffer: readers that skip past records another reader
    /// shared with them (`Reader::skip_to`) seek forward by a record or two at a time, and a
    /// seek that dropped the buffer made each of them read a whole buffer again per record.
    pub(crate) fn seek(&mut self, offset: u64, seq: u64) -> Result<(), WalError> {
        let relative = i64::try_from(offset)
            .ok()
            .zip(i64::try_from(self.offset).ok())
            .map(|(to, from)| to - from);
        match relative {
            Some(delta) => self.file.seek_relative(delta),
            None => self.file.seek(SeekFrom::Start(offset)).map(|_| ()),
        }
        .map_err(WalError::io("seek", &self.path))?;
        self.offset = offset;
        self.next_seq = seq;
        Ok(())
    }

    /// Offset of the next record.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Sequence number the next record must carry.
    pub(crate) fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Skips the payload of the next record without reading it into memory when `read` is
    /// false (the CRC is then not checked). Used by `locate`.
    pub(crate) fn next(&mut self, read_payload: bool) -> Result<Step, WalError> {
        let offset = self.offset;
        let remaining = self.limit.saturating_sub(offset);
        if remaining == 0 {
            return Ok(Step::End);
        }
        if remaining < RECORD_HEADER_LEN {
            return Ok(Step::Damage {
                offset,
                kind: CorruptKind::Truncated,
                torn: true,
            });
        }
        let mut raw = [0u8; RECORD_HEADER_LEN as usize];
        self.file
            .read_exact(&mut raw)
            .map_err(WalError::io("read", &self.path))?;
        let header = format::decode_record_header(&raw);
        let len = u64::from(header.len);
        let end = offset + RECORD_HEADER_LEN + len;
        if len > self.max_record {
            let kind = CorruptKind::LengthTooLarge {
                len,
                max: self.max_record,
            };
            return Ok(Step::Damage {
                offset,
                kind,
                torn: end > self.limit,
            });
        }
        if end > self.limit {
            return Ok(Step::Damage {
                offset,
                kind: CorruptKind::Truncated,
                torn: true,
            });
        }
        let mut payload = Vec::new();
        if read_payload || header.seq != self.next_seq {
            read_payload_into(&mut self.file, len, &mut payload)
                .map_err(WalError::io("read", &self.path))?;
            let computed = format::record_crc(header.len, header.seq, &payload);
            if computed != header.crc {
                let kind = CorruptKind::Checksum {
                    stored: header.crc,
                    computed,
                };
                return Ok(Step::Damage {
                    offset,
                    kind,
                    torn: end == self.limit,
                });
            }
        } else {
            self.file
                .seek_relative(len as i64)
                .map_err(WalError::io("seek", &self.path))?;
        }
        if header.seq != self.next_seq {
            let kind = CorruptKind::Sequence {
                expected: self.next_seq,
                found: header.seq,
            };
            return Ok(Step::Damage {
                offset,
                kind,
                torn: false,
            });
        }
        self.offset = end;
        self.next_seq += 1;
        Ok(Step::Record {
            seq: header.seq,
            payload,
        })
    }
}

/// Reads exactly `len` bytes into `payload` (empty), without zero-filling it first: every
/// destination behind the tail reads each record, so a `resize` would write each payload
/// twice.
fn read_payload_into(file: &mut impl Read, len: u64, payload: &mut Vec<u8>) -> std::io::Result<()> {
    payload.reserve_exact(usize::try_from(len).unwrap_or(usize::MAX));
    let read = file.take(len).read_to_end(payload)?;
    if u64::try_from(read).ok() == Some(len) {
        Ok(())
    } else {
        Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            format!("record payload: {read} of {len} bytes"),
        ))
    }
}

/// Result of scanning a whole segment.
#[derive(Debug)]
pub(crate) struct SegmentScan {
    /// Records before the end or the damage.
    pub(crate) records: u64,
    /// Bytes up to the end of the last valid record (or the file length when clean).
    pub(crate) valid_len: u64,
    /// Payload bytes of the valid records.
    pub(crate) payload_bytes: u64,
    /// Length of the file.
    pub(crate) file_len: u64,
    /// Damage, if any: `(offset, kind, torn)`.
    pub(crate) damage: Option<(u64, CorruptKind, bool)>,
}

/// Scans every record of a segment, checking CRCs.
pub(crate) fn scan_segment(
    storage: &dyn Storage,
    path: &Path,
    first_seq: u64,
    max_record: u64,
) -> Result<SegmentScan, WalError> {
    let file_len = storage.len(path).map_err(WalError::io("stat", path))?;
    let mut scan = SegmentScan {
        records: 0,
        valid_len: 0,
        payload_bytes: 0,
        file_len,
        damage: None,
    };
    let mut scanner = match RecordScanner::open(storage, path, first_seq, max_record)? {
        Ok(s) => s,
        Err(Step::Damage { offset, kind, torn }) => {
            scan.damage = Some((offset, kind, torn));
            return Ok(scan);
        }
        Err(_) => return Ok(scan),
    };
    scan.valid_len = SEGMENT_HEADER_LEN;
    loop {
        match scanner.next(true)? {
            Step::Record { payload, .. } => {
                scan.records += 1;
                scan.payload_bytes += payload.len() as u64;
                scan.valid_len = scanner.offset();
            }
            Step::End => return Ok(scan),
            Step::Damage { offset, kind, torn } => {
                scan.damage = Some((offset, kind, torn));
                return Ok(scan);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::read_payload_into;

    #[test]
    fn a_payload_is_read_exactly_and_a_short_one_is_an_error() {
        let bytes: Vec<u8> = (0..=255).collect();
        let mut payload = Vec::new();
        read_payload_into(&mut bytes.as_slice(), 200, &mut payload).unwrap();
        assert_eq!(payload, &bytes[..200]);
        let mut short = Vec::new();
        let error = read_payload_into(&mut &bytes[..10], 11, &mut short).unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::UnexpectedEof);
    }
}
