//! Opening a WAL directory: lock it, recover the segments (see `recovery`), load and repair
//! the cursors, pick the segment size for this filesystem, and build the shared state.
//!
//! Invariants: the directory lock is taken before anything in it is read or changed; a
//! directory whose segments are all gone (delivered and deleted) resumes at the highest
//! cursor, so positions are never reused while a cursor exists; a full disk at open does not
//! stop the open (the first append creates the segment once there is room).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};

use crate::config::{RecoveryMode, WalConfig};
use crate::cursor::{self, CURSOR_DIR};
use crate::error::WalError;
use crate::format::{CursorValue, SEGMENT_HEADER_LEN};
use crate::lock::DirLock;
use crate::recovery::{RecoveryReport, recover_segments};
use crate::segment::{self, SegmentMeta};
use crate::shared::{Active, Consumer, Shared, State};

/// The smallest segment size the filesystem cap lowers to.
const MIN_FS_SEGMENT_BYTES: u64 = 64 * 1024;

/// Opens the log in `dir` (see [`crate::Wal::open`]).
pub(crate) fn open(dir: &Path, config: WalConfig) -> Result<(Shared, RecoveryReport), WalError> {
    config.validate()?;
    let storage = Arc::clone(&config.storage);
    let dir = dir.to_path_buf();
    storage
        .create_dir_all(&dir)
        .map_err(WalError::io("create_dir", &dir))?;
    let lock = DirLock::acquire(&dir)?;
    let cursor_dir = dir.join(CURSOR_DIR);
    storage
        .create_dir_all(&cursor_dir)
        .map_err(WalError::io("create_dir", &cursor_dir))?;
    let mut report = RecoveryReport::default();
    let mut metas = recover_segments(
        storage.as_ref(),
        &dir,
        config.recovery,
        config.max_record_bytes,
        &mut report,
    )?;
    let loaded = cursor::load_all(storage.as_ref(), &dir)?;
    let highest_cursor = loaded
        .iter()
        .filter_map(|(_, _, v)| v.as_ref().ok().map(|v| v.next))
        .max()
        .unwrap_or(0);
    let end = metas.last().map_or(highest_cursor, SegmentMeta::end_seq);
    let first = metas.first().map_or(end, |m| m.first_seq);

    // Cursors: parse, reset or refuse, clamp into [first, end].
    let mut consumers = BTreeMap::new();
    for (name, path, value) in loaded {
        let mut value = match value {
            Ok(v) => v,
            Err(kind) => {
                if config.recovery == RecoveryMode::Strict {
                    return Err(WalError::CorruptCursor { path, kind });
                }
                report.cursors_reset.push(name.clone());
                cursor::create(storage.as_ref(), &dir, &name, first)?
            }
        };
        if value.next > end || value.next < first {
            report.cursors_clamped.push(name.clone());
            let next = value.next.clamp(first, end);
            let generation = value.generation.wrapping_add(1);
            cursor::store(storage.as_ref(), &dir, &name, next, generation)?;
            value = CursorValue { next, generation };
        }
        consumers.insert(
            name,
            Consumer::new(value.next, first, SEGMENT_HEADER_LEN, value.generation),
        );
    }

    let active = match metas.last() {
        // Records that survived a process crash may still be only in the page cache: make
        // them durable before calling them so.
        Some(meta) => {
            let file = segment::open_for_append(storage.as_ref(), meta)?;
            file.sync_data()
                .map_err(WalError::io("fdatasync", &meta.path))?;
            Some(Active {
                file,
                durable_len: meta.len,
            })
        }
        None => match segment::create_segment(storage.as_ref(), &dir, end) {
            Ok((file, meta)) => {
                let durable_len = meta.len;
                metas.push(meta);
                Some(Active { file, durable_len })
            }
            Err(err) if err.is_out_of_space() => None,
            Err(err) => return Err(err),
        },
    };
    let segment_bytes = segment_bytes_for(&config, storage.capacity(&dir).ok().flatten());
    let state = State {
        segments: metas.into_iter().collect(),
        active,
        next_seq: end,
        synced_seq: end,
        syncing: false,
        broken: false,
        generation: 0,
        discard_floors: Vec::new(),
        cut_epoch: 0,
        last_failure: None,
        poisoned: false,
        shutdown: false,
        consumers,
        unconsumed_dropped_records: 0,
        unconsumed_dropped_bytes: 0,
        pending_removals: std::collections::VecDeque::new(),
    };
    let shared = Shared {
        dir,
        config,
        storage,
        segment_bytes,
        state: Mutex::new(state),
        synced: Condvar::new(),
        appended: Condvar::new(),
        cursor_io: Mutex::new(()),
        removal_io: Mutex::new(()),
        _lock: lock,
    };
    {
        let mut st = shared.lock();
        let names: Vec<(String, u64)> = st
            .consumers
            .iter()
            .map(|(n, c)| (n.clone(), c.next_seq))
            .collect();
        for (name, next) in names {
            let loc = shared.locate(&st, next)?;
            if let Some(c) = st.consumers.get_mut(&name) {
                (c.segment, c.offset) = loc;
            }
        }
        shared.apply_retention(&mut st);
        shared.unlock(st);
    }
    Ok((shared, report))
}

/// `config.segment_bytes`, lowered to an eighth of a filesystem of `capacity` bytes when that
/// is smaller (never below 64 KiB, nor raised): on a small disk retention then frees space in
/// steps of an eighth of it instead of waiting for one segment as large as the disk.
fn segment_bytes_for(config: &WalConfig, capacity: Option<u64>) -> u64 {
    match capacity {
        Some(total) if total > 0 => config
            .segment_bytes
            .min((total / 8).max(MIN_FS_SEGMENT_BYTES)),
        _ => config.segment_bytes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_shrink_to_an_eighth_of_a_small_filesystem_only() {
        let mut config = WalConfig {
            segment_bytes: 64 << 20,
            ..WalConfig::default()
        };
        assert_eq!(segment_bytes_for(&config, Some(24 << 20)), 3 << 20);
        assert_eq!(segment_bytes_for(&config, Some(1 << 40)), 64 << 20);
        assert_eq!(
            segment_bytes_for(&config, Some(1 << 10)),
            MIN_FS_SEGMENT_BYTES
        );
        assert_eq!(segment_bytes_for(&config, None), 64 << 20);
        config.segment_bytes = 4096;
        assert_eq!(segment_bytes_for(&config, Some(24 << 20)), 4096);
    }
}
