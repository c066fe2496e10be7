//! A fault-injecting [`Storage`] for tests (feature `test-util`): the real filesystem
//! underneath, with faults switched on by the test (a full disk), scripted (the n-th next
//! operation of a kind fails) or drawn from a seeded random schedule.
//!
//! A failed fsync also simulates the "fsyncgate" behaviour of Linux: the bytes written to that
//! file since its last successful sync are overwritten with zeros, as if the kernel had dropped
//! the dirty pages and the disk never got them. A log that later trusted those bytes (for
//! example after a second, successful fsync) reads zeros and fails its CRC checks.
//!
//! Invariants: with no fault configured it behaves exactly like [`RealStorage`]; every injected
//! fault is counted ([`FaultyStorage::injected`]).

use std::collections::VecDeque;
use std::fmt;
use std::io::{self, IoSlice, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::storage::{ReadFile, RealStorage, Storage, StorageFile};

/// A kind of storage operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    /// Creating a file, or opening an existing one for writing (appending or in place).
    Create,
    /// Writing (appending or in place).
    Write,
    /// `fdatasync` / `fsync` of a file.
    Sync,
    /// fsync of a directory.
    SyncDir,
    /// Truncating a file.
    Truncate,
    /// Renaming.
    Rename,
    /// Deleting a file.
    Remove,
    /// Reading a file.
    Read,
}

/// What an injected fault does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails with `ENOSPC` (no space left on device).
    NoSpace,
    /// Fails with `EIO`.
    Eio,
    /// A write stores only the first half of what it was given (at least one byte) and
    /// reports that; not an error by itself (for other operations: `EIO`).
    ShortWrite,
}

impl Fault {
    fn error(self) -> io::Error {
        match self {
            Fault::NoSpace => io::Error::from(io::ErrorKind::StorageFull),
            Fault::Eio | Fault::ShortWrite => io::Error::other("injected I/O error (EIO)"),
        }
    }
}

#[derive(Debug, Default)]
struct Plan {
    /// A full disk: creating files and writing past a file's end fail with `ENOSPC`.
    disk_full: bool,
    /// Faults that stay on until cleared: `(op, fault)`.
    always: Vec<(Op, Fault)>,
    /// One-shot faults: `(op, operations of that kind to let pass first, fault)`.
    scripted: VecDeque<(Op, u32, Fault)>,
    /// Random schedule: `(seeded generator, probability in 1/1_000_000)`.
    random: Option<(fastrand::Rng, u32)>,
}

impl Plan {
    fn decide(&mut self, op: Op) -> Option<Fault> {
        if let Some(&(_, fault)) = self.always.iter().find(|(o, _)| *o == op) {
            return Some(fault);
        }
        let mut fired = None;
        let mut remove = None;
        for (index, (o, skip, fault)) in self.scripted.iter_mut().enumerate() {
            if *o != op {
                continue;
            }
            if *skip == 0 {
                fired = Some(*fault);
                remove = Some(index);
            } else {
                *skip -= 1;
            }
            break;
        }
        if let Some(index) = remove {
            self.scripted.remove(index);
        }
        if fired.is_some() {
            return fired;
        }
        let (rng, per_million) = self.random.as_mut()?;
        let roll = rng.u64(..);
        if roll % 1_000_000 >= u64::from(*per_million) {
            return None;
        }
        Some(match (op, (roll >> 32) % 3) {
            (Op::Write, 0) | (Op::Create, 0) => Fault::NoSpace,
            (Op::Write, 1) => Fault::ShortWrite,
            _ => Fault::Eio,
        })
    }
}

/// The real filesystem with injected faults. Clones share one plan: keep one to steer the
/// faults and hand another to `WalConfig::storage` (`Arc::new(faults.clone())`).
#[derive(Debug, Clone, Default)]
pub struct FaultyStorage {
    core: Arc<Core>,
}

#[derive(Debug, Default)]
struct Core {
    inner: RealStorage,
    plan: Mutex<Plan>,
    injected: AtomicU64,
}

impl FaultyStorage {
    /// No faults until configured.
    pub fn new() -> FaultyStorage {
        FaultyStorage::default()
    }

    fn plan(&self) -> MutexGuard<'_, Plan> {
        self.core
            .plan
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// A full disk while `full`: creating a file and every write that would grow a file fail
    /// with `ENOSPC`; overwriting bytes a file already has, truncating, deleting, renaming and
    /// syncing still work (they need no new space on ext4, XFS or tmpfs).
    pub fn set_disk_full(&self, full: bool) {
        self.plan().disk_full = full;
    }

    fn no_space(&self) -> io::Result<()> {
        if self.plan().disk_full {
            self.core.injected.fetch_add(1, Ordering::SeqCst);
            return Err(Fault::NoSpace.error());
        }
        Ok(())
    }

    /// Every operation of kind `op` fails with `fault` until [`FaultyStorage::clear`].
    pub fn fail_always(&self, op: Op, fault: Fault) {
        self.plan().always.push((op, fault));
    }

    /// The next operation of kind `op` fails with `fault`.
    pub fn fail_next(&self, op: Op, fault: Fault) {
        self.fail_nth(op, 0, fault);
    }

    /// The operation of kind `op` after the next `skip` ones fails with `fault`.
    pub fn fail_nth(&self, op: Op, skip: u32, fault: Fault) {
        self.plan().scripted.push_back((op, skip, fault));
    }

    /// Each operation fails with probability `per_million / 1_000_000`, with a fault that fits
    /// its kind, drawn from a schedule seeded by `seed` (the same seed gives the same faults
    /// for the same sequence of operations).
    pub fn random(&self, seed: u64, per_million: u32) {
        self.plan().random = Some((fastrand::Rng::with_seed(seed), per_million));
    }

    /// Removes every configured fault.
    pub fn clear(&self) {
        *self.plan() = Plan::default();
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.core.injected.load(Ordering::SeqCst)
    }

    fn check(&self, op: Op) -> Option<Fault> {
        let fault = self.plan().decide(op);
        if fault.is_some() {
            self.core.injected.fetch_add(1, Ordering::SeqCst);
        }
        fault
    }

    fn fail(&self, op: Op) -> io::Result<()> {
        match self.check(op) {
            Some(fault) => Err(fault.error()),
            None => Ok(()),
        }
    }

    fn wrap(&self, path: &Path, file: Arc<dyn StorageFile>) -> Arc<dyn StorageFile> {
        Arc::new(FaultyFile {
            storage: self.clone(),
            path: path.to_path_buf(),
            inner: file,
            dirty: Mutex::new(Vec::new()),
        })
    }
}

impl Storage for FaultyStorage {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        self.no_space()?;
        self.fail(Op::Create)?;
        let file = self.core.inner.create(path)?;
        Ok(self.wrap(path, file))
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        self.fail(Op::Create)?;
        let file = self.core.inner.open_append(path)?;
        Ok(self.wrap(path, file))
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        self.fail(Op::Create)?;
        let file = self.core.inner.open_write(path)?;
        Ok(self.wrap(path, file))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        self.fail(Op::Read)?;
        Ok(Box::new(FaultyRead {
            storage: self.clone(),
            inner: self.core.inner.open_read(path)?,
        }))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        self.core.inner.len(path)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        self.fail(Op::Rename)?;
        self.core.inner.rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        self.fail(Op::Remove)?;
        self.core.inner.remove(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        self.core.inner.create_dir_all(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        self.core.inner.list(dir)
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        self.fail(Op::SyncDir)?;
        self.core.inner.sync_dir(dir)
    }

    fn capacity(&self, dir: &Path) -> io::Result<Option<u64>> {
        self.core.inner.capacity(dir)
    }
}

/// A file whose operations consult the plan. Remembers the byte ranges written since the last
/// successful sync, to zero them when a sync fails.
struct FaultyFile {
    storage: FaultyStorage,
    path: PathBuf,
    inner: Arc<dyn StorageFile>,
    dirty: Mutex<Vec<(u64, usize)>>,
}

impl fmt::Debug for FaultyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultyFile")
            .field("path", &self.path)
            .finish()
    }
}

impl FaultyFile {
    fn dirty(&self) -> MutexGuard<'_, Vec<(u64, usize)>> {
        self.dirty.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn sync_with(&self, sync: impl FnOnce() -> io::Result<()>) -> io::Result<()> {
        if let Some(fault) = self.storage.check(Op::Sync) {
            // The kernel dropped the dirty pages: what was written since the last good sync
            // never reaches the disk (zeros here), and a later sync will not bring it back.
            let ranges = std::mem::take(&mut *self.dirty());
            if let Ok(writer) = self.storage.core.inner.open_write(&self.path) {
                let len = self.storage.core.inner.len(&self.path).unwrap_or(0);
                for (offset, n) in ranges {
                    let end = (offset + n as u64).min(len);
                    if end > offset {
                        let zeros = vec![0u8; (end - offset) as usize];
                        let _ = crate::storage::write_all_at(writer.as_ref(), &zeros, offset);
                    }
                }
            }
            return Err(fault.error());
        }
        sync()?;
        self.dirty().clear();
        Ok(())
    }
}

impl StorageFile for FaultyFile {
    fn append(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let offset = self.storage.core.inner.len(&self.path)?;
        self.storage.no_space()?;
        let written = match self.storage.check(Op::Write) {
            Some(Fault::ShortWrite) => {
                let total: usize = bufs.iter().map(|b| b.len()).sum();
                let want = (total / 2).max(1);
                let mut flat = Vec::with_capacity(want);
                for buf in bufs {
                    let take = (want - flat.len()).min(buf.len());
                    flat.extend_from_slice(buf.get(..take).unwrap_or_default());
                }
                self.inner.append(&[IoSlice::new(&flat)])?
            }
            Some(fault) => return Err(fault.error()),
            None => self.inner.append(bufs)?,
        };
        self.dirty().push((offset, written));
        Ok(written)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        if offset + buf.len() as u64 > self.storage.core.inner.len(&self.path)? {
            self.storage.no_space()?;
        }
        let written = match self.storage.check(Op::Write) {
            Some(Fault::ShortWrite) => {
                let half = buf.get(..(buf.len() / 2).max(1)).unwrap_or(buf);
                self.inner.write_at(half, offset)?
            }
            Some(fault) => return Err(fault.error()),
            None => self.inner.write_at(buf, offset)?,
        };
        self.dirty().push((offset, written));
        Ok(written)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.sync_with(|| self.inner.sync_data())
    }

    fn sync_all(&self) -> io::Result<()> {
        self.sync_with(|| self.inner.sync_all())
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.storage.fail(Op::Truncate)?;
        self.inner.set_len(len)
    }
}

/// A reader whose reads consult the plan.
#[derive(Debug)]
struct FaultyRead {
    storage: FaultyStorage,
    inner: Box<dyn ReadFile>,
}

impl Read for FaultyRead {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.storage.fail(Op::Read)?;
        self.inner.read(buf)
    }
}

impl Seek for FaultyRead {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}
