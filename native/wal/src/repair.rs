//! Repairing the active segment after a failed fsync or a failed write that could not be
//! undone ("broken"), without a restart.
//!
//! After a failed fsync the kernel may have dropped the dirty pages, and a later fsync would
//! report success without writing them ("fsyncgate"), so nothing written before the failure
//! and not yet durable is trusted:
//! - under `SyncPolicy::Always` those records were already discarded (never acknowledged);
//!   the file is cut back to its durable length;
//! - under `SyncPolicy::Interval` they were acknowledged: each is read back and CRC-checked,
//!   and the ones that verify are written again in place (so the pages are dirty again and a
//!   new fsync really writes them); the file is cut after the last one that verified.
//!
//! Then the cut is made durable (`fsync`) and the segment is sealed: the next append starts a
//! new file, whose pages never saw the failed writeback. A segment left with no record is
//! deleted instead. Every step that fails leaves the segment broken, and the next append (or
//! interval sync) tries again, so the log resumes by itself once the disk works.

use std::io::{Read, Seek, SeekFrom};

use crate::error::WalError;
use crate::scan::{RecordScanner, Step};
use crate::segment::sync_dir;
use crate::shared::{Shared, State};
use crate::storage::write_all_at;

impl Shared {
    /// Repairs a broken active segment (see the module docs); a no-op when not broken.
    pub(crate) fn repair(&self, st: &mut State) -> Result<(), WalError> {
        if !st.broken {
            return Ok(());
        }
        let (Some(active), Some(meta)) = (st.active.as_ref(), st.segments.back().cloned()) else {
            st.broken = false;
            return Ok(());
        };
        let durable_len = active.durable_len;
        let durable_end = st.synced_seq;
        // Records in doubt (interval policy only: under `always` they were discarded).
        let (keep_len, keep_end) = if meta.len > durable_len {
            self.rewrite_verified(&meta, durable_len, durable_end)?
        } else {
            (durable_len, durable_end)
        };
        let file = &active.file;
        file.set_len(keep_len)
            .and_then(|()| file.sync_all())
            .map_err(WalError::io("truncate", &meta.path))?;
        let lost = st.next_seq.saturating_sub(keep_end);
        if lost > 0 {
            if st.consumers.values().any(|c| c.next_seq > keep_end) {
                st.poisoned = true;
                tracing::error!(path = %meta.path.display(), lost, "WAL: acknowledged records failed re-verification after a failed fsync and a consumer already committed past them; appends are refused until the WAL is reopened");
                return Err(WalError::Poisoned);
            }
            st.cut_epoch += 1;
            st.next_seq = keep_end;
        }
        if let Some(seg) = st.segments.back_mut() {
            seg.records = keep_end.saturating_sub(seg.first_seq);
            seg.len = keep_len;
            seg.cut_index();
        }
        if keep_end == meta.first_seq {
            self.storage
                .remove(&meta.path)
                .map_err(WalError::io("remove", &meta.path))?;
            sync_dir(self.storage.as_ref(), &self.dir)?;
            st.segments.pop_back();
        }
        st.synced_seq = st.next_seq;
        st.active = None;
        st.broken = false;
        tracing::warn!(
            path = %meta.path.display(),
            kept_records = keep_end.saturating_sub(meta.first_seq),
            cut_bytes = meta.len.saturating_sub(keep_len),
            lost_acknowledged = lost,
            "WAL repaired after a failed write or fsync: segment cut to its durable records and sealed; appends continue in a new segment"
        );
        Ok(())
    }

    /// Reads the records of `meta` from `offset` (where record `seq` starts), stops at the
    /// first that fails its checks, and writes the valid bytes again in place. Returns the
    /// length and the record end to keep.
    fn rewrite_verified(
        &self,
        meta: &crate::segment::SegmentMeta,
        offset: u64,
        seq: u64,
    ) -> Result<(u64, u64), WalError> {
        let storage = self.storage.as_ref();
        let max = self.config.max_record_bytes;
        let mut scanner = match RecordScanner::open(storage, &meta.path, meta.first_seq, max)? {
            Ok(scanner) => scanner,
            Err(_) => return Ok((offset, seq)),
        };
        scanner.limit = meta.len;
        scanner.seek(offset, seq)?;
        while scanner.next_seq() < meta.end_seq() {
            match scanner.next(true)? {
                Step::Record { .. } => {}
                Step::End | Step::Damage { .. } => break,
            }
        }
        let (end, end_seq) = (scanner.offset(), scanner.next_seq());
        let mut bytes = vec![0u8; usize::try_from(end - offset).unwrap_or(0)];
        let mut reader = storage
            .open_read(&meta.path)
            .map_err(WalError::io("open", &meta.path))?;
        reader
            .seek(SeekFrom::Start(offset))
            .and_then(|_| reader.read_exact(&mut bytes))
            .map_err(WalError::io("read", &meta.path))?;
        let writer = storage
            .open_write(&meta.path)
            .map_err(WalError::io("open", &meta.path))?;
        write_all_at(writer.as_ref(), &bytes, offset).map_err(WalError::io("write", &meta.path))?;
        Ok((end, end_seq))
    }
}
