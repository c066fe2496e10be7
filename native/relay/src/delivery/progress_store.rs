//! A file-backed [`ShardProgressStore`]: one small file per destination,
//! `<dir>/<name>.progress`, that a save never needs free space for.
//!
//! Format: a [`TwoSlotFile`] (prw-wal's file of two equal slots written alternately in place,
//! the same handling as the WAL's cursor files), each slot:
//!
//! ```text
//! offset size field
//! 0      6    magic "PRWPRG"
//! 6      2    version = 1
//! 8      4    generation (one more per save; the newer valid slot wins)
//! 12     4    length N of the JSON
//! 16     4    CRC32C of bytes 6..16, then the JSON
//! 20     N    {"version":1,"low_watermark":N|null,"shards":[N|null,...]}, then zeros
//! ```
//!
//! Slots are [`SLOT_LEN`] (4 KiB) bytes: room for the JSON of [`SHARDS_IN_A_SLOT`] shards
//! even with 20-digit positions, well above the default `max_shards` (50).
//!
//! Saves write through a handle kept open from one save to the next (opened again after the
//! file is created or removed, and after a failed save): one `fdatasync` per save, no
//! `open`/`close`.
//!
//! Invariants: a save overwrites the slot not holding the newest durable value and
//! `fdatasync`s it, so a crash or a failed write leaves the old or the new progress, never a
//! mix, and a full disk never stops a save: the file exists from the first load on (created
//! then, holding `null`, "no progress", while there is space; if there is none it is created
//! by the first save that finds some). Only progress whose JSON outgrows a slot (more shards
//! than fit) needs a larger file; when that cannot be created (a full disk) the save stores
//! the coarse progress instead: the low watermark alone, no per-shard detail, which always
//! fits. A replay with it skips nothing past the low watermark (more may be resent, nothing is
//! skipped), and the next save once there is space grows the file. A missing file loads as
//! "no progress"; an unreadable file is an error naming the path (delivery then discards it
//! and replays without skipping). A file in the older format (plain JSON) still loads.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use prw_wal::{RealStorage, Storage, StorageFile, TwoSlotFile, WalError, newest_slot};
use serde::{Deserialize, Serialize};

use crate::queue::watermark::StoreError;
use crate::queue::{ShardProgress, ShardProgressStore};

const VERSION: u32 = 1;
const MAGIC: &[u8; 6] = b"PRWPRG";
const SLOT_VERSION: u16 = 1;
const SLOT_HEADER: usize = 20;
/// Bytes of a slot of a new file.
pub const SLOT_LEN: usize = 4096;
/// Shards whose progress always fits one [`SLOT_LEN`] slot, positions of any size.
pub const SHARDS_IN_A_SLOT: usize = 190;

#[derive(Debug, Serialize, Deserialize)]
struct OnDisk {
    version: u32,
    low_watermark: Option<u64>,
    shards: Vec<Option<u64>>,
}

/// Why progress could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProgressFileError {
    /// I/O on the file or its directory.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// Creating, reading or writing the two-slot file.
    #[error(transparent)]
    File(#[from] WalError),
    /// The file is not progress of a known version.
    #[error("{path}: not a progress file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Where the newest durable value is: its slot generation and the slot size.
#[derive(Debug, Clone, Copy)]
struct Slots {
    generation: u32,
    slot_len: usize,
}

/// Progress of one destination in `<dir>/<name>.progress`.
#[derive(Debug, Clone)]
pub struct FileProgressStore {
    dir: PathBuf,
    path: PathBuf,
    storage: Arc<dyn Storage>,
    /// Learnt from the file on the first save (`None`: not read yet).
    slots: Arc<Mutex<Option<Slots>>>,
    /// The file open for overwriting, kept between saves (one `open` per file, not per
    /// save); dropped when the file is created again or removed, and after a failed save.
    handle: Arc<Mutex<Option<Arc<dyn StorageFile>>>>,
}

impl FileProgressStore {
    /// The store of destination `name` in `dir` (created on first load or save).
    pub fn new(dir: &Path, name: &str) -> Self {
        Self::with_storage(dir, name, RealStorage::shared())
    }

    /// Like [`FileProgressStore::new`], on the given storage (tests inject faults there).
    fn with_storage(dir: &Path, name: &str, storage: Arc<dyn Storage>) -> Self {
        FileProgressStore {
            dir: dir.to_path_buf(),
            path: dir.join(format!("{name}.progress")),
            storage,
            slots: Arc::new(Mutex::new(None)),
            handle: Arc::new(Mutex::new(None)),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self) -> TwoSlotFile<'_> {
        TwoSlotFile::new(self.storage.as_ref(), &self.path)
    }

    fn forget_handle(&self) {
        *self.handle.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// Deletes the file (a removed destination); a missing file is fine.
    pub fn remove(&self) -> Result<(), ProgressFileError> {
        *self.slots.lock().unwrap_or_else(PoisonError::into_inner) = None;
        self.forget_handle();
        Ok(self.file().remove()?)
    }

    fn format_err(&self, reason: impl Into<String>) -> ProgressFileError {
        ProgressFileError::Format {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// The newest progress in the file (`None`: no progress) and where it is; `None` for a
    /// missing file.
    #[allow(clippy::type_complexity)]
    fn read(&self) -> Result<Option<(Option<ShardProgress>, Option<Slots>)>, ProgressFileError> {
        let Some(bytes) = self.file().read()? else {
            return Ok(None);
        };
        if bytes.first() == Some(&b'{') {
            // The older format: the JSON alone, replaced by the slot format on the next save.
            return Ok(Some((self.parse_json(&bytes)?, None)));
        }
        let slot_len = bytes.len() / 2;
        if slot_len < SLOT_HEADER || bytes.len() % 2 != 0 {
            return Err(self.format_err(format!("{} bytes", bytes.len())));
        }
        let Some((generation, json)) = newest_slot(&bytes, slot_len, decode_slot) else {
            return Err(self.format_err("no valid slot"));
        };
        let slots = Slots {
            generation,
            slot_len,
        };
        Ok(Some((self.parse_json(json)?, Some(slots))))
    }

    fn parse_json(&self, json: &[u8]) -> Result<Option<ShardProgress>, ProgressFileError> {
        let disk: Option<OnDisk> =
            serde_json::from_slice(json).map_err(|e| self.format_err(e.to_string()))?;
        let Some(disk) = disk else {
            return Ok(None);
        };
        if disk.version != VERSION {
            return Err(self.format_err(format!(
                "version {} (this relay reads {VERSION})",
                disk.version
            )));
        }
        Ok(Some(ShardProgress {
            low_watermark: disk.low_watermark,
            shards: disk.shards,
        }))
    }

    fn json(
        &self,
        low_watermark: Option<u64>,
        shards: &[Option<u64>],
    ) -> Result<Vec<u8>, ProgressFileError> {
        serde_json::to_vec(&OnDisk {
            version: VERSION,
            low_watermark,
            shards: shards.to_vec(),
        })
        .map_err(|e| self.format_err(e.to_string()))
    }

    fn write(&self, progress: &ShardProgress) -> Result<(), ProgressFileError> {
        let json = self.json(progress.low_watermark, &progress.shards)?;
        let mut known = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if known.is_none() {
            // A file that cannot be read is replaced (at worst more is resent).
            *known = self.read().ok().flatten().and_then(|(_, slots)| slots);
        }
        let Some(slots) = *known else {
            *known = Some(self.create(&json)?);
            return Ok(());
        };
        if SLOT_HEADER + json.len() <= slots.slot_len {
            *known = Some(self.overwrite(&json, slots)?);
            return Ok(());
        }
        // More shards than the slots hold: a larger file, when there is space for one.
        match self.create(&json) {
            Ok(grown) => *known = Some(grown),
            Err(error) => {
                let coarse = self.json(progress.low_watermark, &[])?;
                tracing::warn!(path = %self.path.display(), shards = progress.shards.len(), %error, "shard progress outgrew its file and a larger one cannot be created; saving the low watermark alone until there is space");
                *known = Some(self.overwrite(&coarse, slots)?);
            }
        }
        Ok(())
    }

    /// Writes `json` as the next generation into the slot not holding the newest one: needs
    /// no free space.
    fn overwrite(&self, json: &[u8], slots: Slots) -> Result<Slots, ProgressFileError> {
        let generation = slots.generation.wrapping_add(1);
        // Only header and JSON: the length field bounds what is read of the slot.
        let slot = encode_slot(json, generation);
        let file = self.file();
        let mut handle = self.handle.lock().unwrap_or_else(PoisonError::into_inner);
        let open = match handle.take() {
            Some(open) => open,
            None => file.open_for_overwrite()?,
        };
        file.overwrite_in(open.as_ref(), generation, &slot, slots.slot_len)?;
        *handle = Some(open);
        Ok(Slots {
            generation,
            slot_len: slots.slot_len,
        })
    }

    /// Writes a new file (both slots, the first holding `json`) and renames it into place.
    fn create(&self, json: &[u8]) -> Result<Slots, ProgressFileError> {
        let slot_len = ((SLOT_HEADER + json.len()) * 2)
            .next_power_of_two()
            .max(SLOT_LEN);
        self.storage
            .create_dir_all(&self.dir)
            .map_err(|source| ProgressFileError::Io {
                path: self.dir.clone(),
                source,
            })?;
        let file = self.file();
        file.remove_leftovers();
        // A handle kept open is of the file being replaced.
        self.forget_handle();
        file.create(&encode_slot(json, 0), slot_len)?;
        Ok(Slots {
            generation: 0,
            slot_len,
        })
    }
}

/// A slot holding `json` as `generation` (header and JSON; the rest of the slot is left).
fn encode_slot(json: &[u8], generation: u32) -> Vec<u8> {
    let mut slot = Vec::with_capacity(SLOT_HEADER + json.len());
    slot.extend_from_slice(MAGIC);
    slot.extend_from_slice(&SLOT_VERSION.to_le_bytes());
    slot.extend_from_slice(&generation.to_le_bytes());
    slot.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_le_bytes());
    let crc = slot_crc(&slot[6..16], json);
    slot.extend_from_slice(&crc.to_le_bytes());
    slot.extend_from_slice(json);
    slot
}

/// The generation and JSON of a valid slot.
fn decode_slot(slot: &[u8]) -> Option<(u32, &[u8])> {
    let word = |at: usize| {
        slot.get(at..at + 4)
            .and_then(|b| <[u8; 4]>::try_from(b).ok())
            .map(u32::from_le_bytes)
    };
    if slot.get(..6)? != MAGIC || slot.get(6..8)? != SLOT_VERSION.to_le_bytes() {
        return None;
    }
    let generation = word(8)?;
    let len = usize::try_from(word(12)?).ok()?;
    let json = slot.get(SLOT_HEADER..SLOT_HEADER.checked_add(len)?)?;
    (word(16)? == slot_crc(slot.get(6..16)?, json)).then_some((generation, json))
}

fn slot_crc(header: &[u8], json: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header), json)
}

impl ShardProgressStore for FileProgressStore {
    fn load(&self) -> Result<Option<ShardProgress>, StoreError> {
        match self.read()? {
            Some((progress, _)) => Ok(progress),
            None => {
                // Allocate the file now, while there is space, so saves never need any.
                if let Err(error) = self.write_null() {
                    tracing::warn!(path = %self.path.display(), %error, "cannot create the shard progress file yet; the first save will");
                }
                Ok(None)
            }
        }
    }

    fn save(&self, progress: &ShardProgress) -> Result<(), StoreError> {
        Ok(self.write(progress)?)
    }
}

impl FileProgressStore {
    /// Creates the file holding `null` ("no progress").
    fn write_null(&self) -> Result<(), ProgressFileError> {
        let mut known = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        *known = Some(self.create(b"null")?);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prw_wal::{Fault, FaultyStorage, Op};

    fn progress(low: u64, shards: usize) -> ShardProgress {
        ShardProgress {
            low_watermark: Some(low),
            shards: (0..shards as u64).map(|s| Some(low + s)).collect(),
        }
    }

    #[test]
    fn saved_progress_loads_back_and_a_missing_file_is_no_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileProgressStore::new(&dir.path().join("delivery"), "a");
        assert_eq!(store.load().unwrap(), None);
        assert!(store.path().exists(), "allocated by the first load");
        assert_eq!(store.load().unwrap(), None);
        let first = ShardProgress {
            low_watermark: Some(7),
            shards: vec![Some(9), None, Some(7)],
        };
        store.save(&first).unwrap();
        assert_eq!(store.load().unwrap(), Some(first.clone()));
        for low in 10..14 {
            store.save(&progress(low, 3)).unwrap();
            assert_eq!(store.load().unwrap(), Some(progress(low, 3)));
            // A fresh store (a restart) reads the same.
            let again = FileProgressStore::new(&dir.path().join("delivery"), "a");
            assert_eq!(again.load().unwrap(), Some(progress(low, 3)));
        }
        let names: Vec<String> = std::fs::read_dir(dir.path().join("delivery"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.progress"], "no temporary left");
        store.remove().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }

    /// A store of destination `a` in a temporary directory, on storage with injectable faults.
    fn on_faulty_storage() -> (tempfile::TempDir, FaultyStorage, FileProgressStore) {
        let dir = tempfile::tempdir().unwrap();
        let faults = FaultyStorage::new();
        let storage = Arc::new(faults.clone()) as Arc<dyn Storage>;
        let store = FileProgressStore::with_storage(dir.path(), "a", storage);
        (dir, faults, store)
    }

    fn full(shards: usize) -> ShardProgress {
        ShardProgress {
            low_watermark: Some(u64::MAX - 1),
            shards: vec![Some(u64::MAX); shards],
        }
    }

    #[test]
    fn saves_need_no_free_space_once_the_file_exists() {
        let (_dir, faults, store) = on_faulty_storage();
        assert_eq!(store.load().unwrap(), None);
        faults.set_disk_full(true);
        store.save(&progress(1, 4)).unwrap();
        for low in 2..6 {
            store.save(&progress(low, 4)).unwrap();
        }
        assert_eq!(store.load().unwrap(), Some(progress(5, 4)));
        // The default max_shards (50) and more, with the longest positions, fit the slots
        // allocated at the first load.
        for shards in [50, SHARDS_IN_A_SLOT] {
            store.save(&full(shards)).unwrap();
            assert_eq!(store.load().unwrap(), Some(full(shards)));
        }
        assert_eq!(
            std::fs::metadata(store.path()).unwrap().len(),
            2 * SLOT_LEN as u64
        );
    }

    #[test]
    fn progress_that_outgrows_its_slots_keeps_the_low_watermark_on_a_full_disk_and_grows_later() {
        let (dir, faults, store) = on_faulty_storage();
        assert_eq!(store.load().unwrap(), None);
        faults.set_disk_full(true);
        let many = full(SHARDS_IN_A_SLOT * 3);
        store.save(&many).unwrap();
        let coarse = ShardProgress {
            low_watermark: many.low_watermark,
            shards: Vec::new(),
        };
        assert_eq!(
            store.load().unwrap(),
            Some(coarse.clone()),
            "the low watermark alone"
        );
        assert!(faults.injected() > 0, "growing was tried and refused");
        // A restart on the still full disk reads the same.
        let again = FileProgressStore::new(dir.path(), "a");
        assert_eq!(again.load().unwrap(), Some(coarse));
        faults.set_disk_full(false);
        store.save(&many).unwrap();
        assert_eq!(store.load().unwrap(), Some(many));
        assert!(std::fs::metadata(store.path()).unwrap().len() > 2 * SLOT_LEN as u64);
    }

    #[test]
    fn a_failed_save_leaves_the_previous_progress() {
        let (_dir, faults, store) = on_faulty_storage();
        store.save(&progress(1, 2)).unwrap();
        store.save(&progress(2, 2)).unwrap();
        // The failed fsync zeroes the slot being written; the other still holds 2.
        faults.fail_next(Op::Sync, Fault::Eio);
        assert!(store.save(&progress(3, 2)).is_err());
        assert_eq!(store.load().unwrap(), Some(progress(2, 2)));
        faults.fail_next(Op::Write, Fault::ShortWrite);
        faults.fail_nth(Op::Write, 0, Fault::Eio);
        assert!(store.save(&progress(4, 2)).is_err());
        assert_eq!(store.load().unwrap(), Some(progress(2, 2)));
        store.save(&progress(5, 2)).unwrap();
        assert_eq!(store.load().unwrap(), Some(progress(5, 2)));
    }

    #[test]
    fn saves_keep_the_file_open_and_open_it_again_after_a_failure_or_a_new_file() {
        let (_dir, faults, store) = on_faulty_storage();
        // The first save creates the file, the second opens it.
        store.save(&progress(1, 2)).unwrap();
        store.save(&progress(2, 2)).unwrap();
        // Opening for writing fails from now on: saves go through the handle kept open.
        faults.fail_always(Op::Create, Fault::Eio);
        store.save(&progress(3, 2)).unwrap();
        assert_eq!(store.load().unwrap(), Some(progress(3, 2)));
        // A failed save drops the handle: the next one opens the file again.
        faults.fail_next(Op::Sync, Fault::Eio);
        assert!(store.save(&progress(4, 2)).is_err());
        assert!(store.save(&progress(5, 2)).is_err(), "opening fails");
        faults.clear();
        store.save(&progress(6, 2)).unwrap();
        assert_eq!(store.load().unwrap(), Some(progress(6, 2)));
        // A larger file replaces the one open: later saves write the new file.
        let many = full(SHARDS_IN_A_SLOT * 3);
        store.save(&many).unwrap();
        let more = ShardProgress {
            low_watermark: Some(99),
            ..many.clone()
        };
        store.save(&more).unwrap();
        assert_eq!(store.load().unwrap(), Some(more));
    }

    #[test]
    fn the_older_plain_json_format_still_loads_and_is_replaced_on_save() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileProgressStore::new(dir.path(), "old");
        std::fs::write(
            store.path(),
            br#"{"version":1,"low_watermark":3,"shards":[3,4]}"#,
        )
        .unwrap();
        let want = ShardProgress {
            low_watermark: Some(3),
            shards: vec![Some(3), Some(4)],
        };
        assert_eq!(store.load().unwrap(), Some(want));
        store.save(&progress(8, 2)).unwrap();
        assert_eq!(store.load().unwrap(), Some(progress(8, 2)));
        assert_ne!(std::fs::read(store.path()).unwrap().first(), Some(&b'{'));
    }

    #[test]
    fn garbage_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileProgressStore::new(dir.path(), "b");
        std::fs::write(store.path(), b"{not json").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("b.progress"), "{err}");
        std::fs::write(store.path(), [7u8; 64]).unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("no valid slot"), "{err}");
    }
}
