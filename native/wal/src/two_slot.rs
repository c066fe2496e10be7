//! Small files of two equal slots, overwritten alternately in place: the WAL's cursor files
//! and, through the public [`TwoSlotFile`], the relay's shard progress files. Each user
//! encodes its own slots (magic, version, generation, CRC, value); this module owns the file
//! handling they share.
//!
//! A file is created once, atomically: a temporary `<name>.tmpN` holding the first slot and a
//! zeroed second one (both slots allocated now), `fsync`, rename over `<name>`, `fsync` of the
//! directory. After that a save writes the slot the newest durable value is *not* in
//! (`generation % 2`), in place, and `fdatasync`s it: no new block, no rename, so a save needs
//! no free space, and a torn or failed write can only damage the slot being written while the
//! other still holds the previous value. Readers take the valid slot with the newer
//! generation ([`newest_slot`], generations wrap).
//!
//! Invariants: a caller never overwrites the slot holding its newest durable value (after a
//! failed save it writes the same slot again); `<name>` only ever holds a complete file: a
//! create that fails before its rename removes its temporary and leaves the previous file
//! (or none); one that fails after it (the directory sync) leaves the new, complete file,
//! which a crash may still undo.

use std::io::{self, IoSlice};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::WalError;
use crate::failpoint::failpoint;
use crate::storage::{Storage, StorageFile, append_all, read_all, write_all_at};

/// One two-slot file on a [`Storage`].
#[derive(Debug, Clone, Copy)]
pub struct TwoSlotFile<'a> {
    storage: &'a dyn Storage,
    path: &'a Path,
    /// A kill point between a slot write and its `fdatasync` (the soak's cursor commits).
    kill_point: Option<&'static str>,
}

impl<'a> TwoSlotFile<'a> {
    /// The file at `path` on `storage` (nothing is touched yet).
    pub fn new(storage: &'a dyn Storage, path: &'a Path) -> Self {
        TwoSlotFile {
            storage,
            path,
            kill_point: None,
        }
    }

    /// The same file with a kill point between each slot write and its sync.
    pub(crate) fn with_kill_point(mut self, name: &'static str) -> Self {
        self.kill_point = Some(name);
        self
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.path
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }

    /// The whole file; `None` when it does not exist.
    pub fn read(&self) -> Result<Option<Vec<u8>>, WalError> {
        match read_all(self.storage, self.path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(WalError::Io {
                op: "read",
                path: self.path.to_path_buf(),
                source,
            }),
        }
    }

    /// Creates (or replaces) the file atomically with `first` in slot 0 (generation 0 by
    /// convention) and both slots of `slot_len` bytes allocated. Needs a little free space.
    pub fn create(&self, first: &[u8], slot_len: usize) -> Result<(), WalError> {
        static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut tmp_name = self.path.file_name().unwrap_or_default().to_os_string();
        tmp_name.push(format!(".tmp{n}"));
        let tmp = self.dir().join(tmp_name);
        let mut bytes = vec![0u8; 2 * slot_len.max(first.len())];
        if let Some(head) = bytes.get_mut(..first.len()) {
            head.copy_from_slice(first);
        }
        let written = self
            .storage
            .create(&tmp)
            .map_err(WalError::io("create", &tmp))
            .and_then(|file| {
                append_all(file.as_ref(), &mut [IoSlice::new(&bytes)])
                    .map_err(WalError::io("write", &tmp))?;
                file.sync_all().map_err(WalError::io("fsync", &tmp))
            });
        if let Err(err) = written {
            let _ = self.storage.remove(&tmp);
            return Err(err);
        }
        if let Err(source) = self.storage.rename(&tmp, self.path) {
            let _ = self.storage.remove(&tmp);
            return Err(WalError::Io {
                op: "rename",
                path: self.path.to_path_buf(),
                source,
            });
        }
        // After the rename the new file is complete and valid: if the directory sync fails
        // it stays (a crash may bring back the old file or none; the caller retries).
        self.storage
            .sync_dir(self.dir())
            .map_err(WalError::io("fsync dir", self.dir()))?;
        Ok(())
    }

    /// Writes `slot` (at most `slot_len` bytes) into slot `generation % 2` in place and
    /// `fdatasync`s it. Needs no free space once the file exists.
    pub fn overwrite(&self, generation: u32, slot: &[u8], slot_len: usize) -> Result<(), WalError> {
        let file = self.open_for_overwrite()?;
        self.overwrite_in(file.as_ref(), generation, slot, slot_len)
    }

    /// Opens the file for [`TwoSlotFile::overwrite_in`]: a caller that saves often keeps the
    /// handle, one `open` instead of one per save. The handle is of the file as it is now:
    /// open again after [`TwoSlotFile::create`] or [`TwoSlotFile::remove`] (and after a
    /// failed save, to start afresh).
    pub fn open_for_overwrite(&self) -> Result<Arc<dyn StorageFile>, WalError> {
        self.storage
            .open_write(self.path)
            .map_err(WalError::io("open", self.path))
    }

    /// [`TwoSlotFile::overwrite`] through `file`, a handle from
    /// [`TwoSlotFile::open_for_overwrite`].
    pub fn overwrite_in(
        &self,
        file: &dyn StorageFile,
        generation: u32,
        slot: &[u8],
        slot_len: usize,
    ) -> Result<(), WalError> {
        if slot.len() > slot_len {
            return Err(WalError::Io {
                op: "write",
                path: self.path.to_path_buf(),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("a {} byte slot value in a {slot_len} byte slot", slot.len()),
                ),
            });
        }
        let offset = u64::from(generation % 2) * slot_len as u64;
        write_all_at(file, slot, offset).map_err(WalError::io("write", self.path))?;
        if let Some(name) = self.kill_point {
            failpoint(name);
        }
        file.sync_data()
            .map_err(WalError::io("fdatasync", self.path))
    }

    /// Deletes the file (a missing one is fine) and makes that durable.
    pub fn remove(&self) -> Result<(), WalError> {
        match self.storage.remove(self.path) {
            Ok(()) => self
                .storage
                .sync_dir(self.dir())
                .map_err(WalError::io("fsync dir", self.dir())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(WalError::Io {
                op: "remove",
                path: self.path.to_path_buf(),
                source,
            }),
        }
    }

    /// Deletes temporaries a crash during [`TwoSlotFile::create`] left beside the file
    /// (best effort; a leftover is never read).
    pub fn remove_leftovers(&self) {
        for leftover in leftovers(self.storage, self.path) {
            let _ = self.storage.remove(&leftover);
        }
    }
}

/// Whether `file_name` is a temporary of a two-slot file create (`<name>.tmpN`).
pub(crate) fn is_temporary(file_name: &str) -> bool {
    file_name
        .rsplit_once(".tmp")
        .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn leftovers(storage: &dyn Storage, path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name().and_then(|n| n.to_str())) else {
        return Vec::new();
    };
    let prefix = format!("{name}.tmp");
    storage
        .list(dir)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix) && is_temporary(n))
        })
        .collect()
}

/// The valid slot with the newer generation among the `slot_len`-byte slots of `bytes` (a
/// shorter, one-slot file is read as its first slot). `decode` returns a valid slot's
/// generation and value, `None` for a damaged or empty one.
pub fn newest_slot<'a, T>(
    bytes: &'a [u8],
    slot_len: usize,
    decode: impl Fn(&'a [u8]) -> Option<(u32, T)>,
) -> Option<(u32, T)> {
    if slot_len == 0 {
        return None;
    }
    bytes
        .chunks(slot_len)
        .take(2)
        .filter_map(decode)
        .reduce(|a, b| if newer(b.0, a.0) { b } else { a })
}

/// True when generation `a` is after `b` (wrapping: generations count up by one per save).
pub fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < u32::MAX / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(slot: &[u8]) -> Option<(u32, u8)> {
        match slot {
            [b'V', generation, value, ..] => Some((u32::from(*generation), *value)),
            _ => None,
        }
    }

    #[test]
    fn the_newer_valid_slot_wins_and_a_damaged_one_falls_back() {
        assert_eq!(newest_slot(b"V\x05aV\x06b", 3, decode), Some((6, b'b')));
        assert_eq!(newest_slot(b"V\x07aV\x06b", 3, decode), Some((7, b'a')));
        assert_eq!(newest_slot(b"V\x05a\0\0\0", 3, decode), Some((5, b'a')));
        assert_eq!(newest_slot(b"XXXV\x01b", 3, decode), Some((1, b'b')));
        assert_eq!(
            newest_slot(b"V\x05a", 3, decode),
            Some((5, b'a')),
            "one slot"
        );
        assert_eq!(newest_slot(b"XXXXXX", 3, decode), None);
        assert!(newer(0, u32::MAX), "generations wrap");
    }

    #[test]
    fn temporaries_are_recognised_by_their_numbered_suffix() {
        assert!(is_temporary("a.cursor.tmp0"));
        assert!(is_temporary("dest.progress.tmp17"));
        assert!(!is_temporary("a.cursor"));
        assert!(!is_temporary("a.tmp"));
        assert!(!is_temporary("a.tmpx"));
    }
}
