//! Cursor files: `cursors/NAME.cursor`, two 24-byte slots (see the crate docs), handled as a
//! [`TwoSlotFile`]: created once, atomically; after that every commit overwrites one slot in
//! place and `fdatasync`s it, alternating slots, so a commit never needs free space and a
//! torn write can only damage the slot being written while the other still holds the
//! previous value.
//!
//! Invariant: the slot holding the newest value known durable is never overwritten; after a
//! failed store the next store targets the same slot again.

use std::path::{Path, PathBuf};

use crate::error::{CorruptKind, WalError};
use crate::format::{self, CURSOR_SLOT_LEN, CURSOR_SUFFIX, CursorValue};
use crate::storage::{Storage, read_all};
use crate::two_slot::{self, TwoSlotFile};

/// Name of the cursor directory inside the WAL directory.
pub(crate) const CURSOR_DIR: &str = "cursors";

/// Checks a consumer name: 1..=128 of `[A-Za-z0-9_.-]`, not starting with `.`.
pub(crate) fn validate_name(name: &str) -> Result<(), WalError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(WalError::InvalidConsumerName(name.to_owned()))
    }
}

/// Path of the cursor file of `name`.
pub(crate) fn cursor_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(CURSOR_DIR).join(format!("{name}{CURSOR_SUFFIX}"))
}

/// Creates (or replaces) the cursor file of `name` holding `next_seq` as generation 0, with
/// both slots allocated. Needs a little free space: done when a consumer is added, or at open
/// to replace an unreadable file.
pub(crate) fn create(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    next_seq: u64,
) -> Result<CursorValue, WalError> {
    let path = cursor_path(dir, name);
    TwoSlotFile::new(storage, &path)
        .create(&format::encode_cursor_slot(next_seq, 0), CURSOR_SLOT_LEN)?;
    Ok(CursorValue {
        next: next_seq,
        generation: 0,
    })
}

/// Stores `next_seq` as `generation` (one more than the newest durable slot) into slot
/// `generation % 2` in place, and `fdatasync`s it. Needs no free space.
pub(crate) fn store(
    storage: &dyn Storage,
    dir: &Path,
    name: &str,
    next_seq: u64,
    generation: u32,
) -> Result<(), WalError> {
    let path = cursor_path(dir, name);
    TwoSlotFile::new(storage, &path)
        .with_kill_point("wal-cursor-commit")
        .overwrite(
            generation,
            &format::encode_cursor_slot(next_seq, generation),
            CURSOR_SLOT_LEN,
        )
}

/// Deletes the cursor file of `name`.
pub(crate) fn remove(storage: &dyn Storage, dir: &Path, name: &str) -> Result<(), WalError> {
    let path = cursor_path(dir, name);
    TwoSlotFile::new(storage, &path).remove()
}

/// Every cursor file: `(name, path, parsed value or why not)`, sorted by name. Leftover `.tmp`
/// files from an interrupted create are deleted (the rename never happened).
pub(crate) fn load_all(storage: &dyn Storage, dir: &Path) -> Result<Loaded, WalError> {
    load(storage, dir, true)
}

/// Like [`load_all`] but leaves `.tmp` files alone.
pub(crate) fn load_all_read_only(storage: &dyn Storage, dir: &Path) -> Result<Loaded, WalError> {
    load(storage, dir, false)
}

type Loaded = Vec<(String, PathBuf, Result<CursorValue, CorruptKind>)>;

fn load(storage: &dyn Storage, dir: &Path, clean_tmp: bool) -> Result<Loaded, WalError> {
    let cdir = dir.join(CURSOR_DIR);
    let mut out = Vec::new();
    for path in storage
        .list(&cdir)
        .map_err(WalError::io("read_dir", &cdir))?
    {
        let Some(file_name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            continue;
        };
        if file_name.contains(CURSOR_SUFFIX) && two_slot::is_temporary(&file_name) {
            if clean_tmp {
                let _ = storage.remove(&path);
            }
            continue;
        }
        let Some(name) = file_name.strip_suffix(CURSOR_SUFFIX) else {
            continue;
        };
        if validate_name(name).is_err() {
            continue;
        }
        let bytes = read_all(storage, &path).map_err(WalError::io("read", &path))?;
        out.push((name.to_owned(), path, format::decode_cursor_file(&bytes)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
