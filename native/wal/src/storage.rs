//! The storage seam: every file operation of the log (create, append, write in place, fsync,
//! fdatasync, truncate, rename, unlink, directory fsync, read, list) goes through [`Storage`],
//! so tests can put a fault-injecting implementation (`FaultyStorage`, feature `test-util`)
//! under the same code that runs in production ([`RealStorage`]).
//!
//! Hand-written: no crate offers a filesystem abstraction that covers `fdatasync`, directory
//! fsync and in-place positioned writes together with fault injection, and the seam is small.
//!
//! Invariants: segment files are opened in append mode (`O_APPEND`), so a truncate after a
//! failed write makes the next write land at the new end, never past it; files written in
//! place (cursor slots) are opened without append mode; nothing here retries or hides an error.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file opened for writing.
pub trait StorageFile: Send + Sync + fmt::Debug {
    /// One vectored write at the end of the file (append mode); may write fewer bytes than
    /// given (a short write), like `writev`.
    fn append(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize>;
    /// One positioned write (files opened with [`Storage::open_write`]); may be short.
    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize>;
    /// `fdatasync`.
    fn sync_data(&self) -> io::Result<()>;
    /// `fsync`.
    fn sync_all(&self) -> io::Result<()>;
    /// `ftruncate`.
    fn set_len(&self, len: u64) -> io::Result<()>;
}

/// A file opened for reading.
pub trait ReadFile: Read + Seek + Send + fmt::Debug {}

impl<T: Read + Seek + Send + fmt::Debug> ReadFile for T {}

/// The file operations of a WAL directory. Implementations must be `Send + Sync`; the log
/// calls them from appender, reader and sync threads at once.
pub trait Storage: Send + Sync + fmt::Debug {
    /// Creates `path` (truncating an existing file) for appending.
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    /// Opens an existing file for appending at its end.
    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    /// Opens an existing file for positioned writes (not append mode).
    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>>;
    /// Opens a file for reading.
    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>>;
    /// The length of a file.
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Renames `from` to `to`, replacing `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Deletes a file.
    fn remove(&self, path: &Path) -> io::Result<()>;
    /// Creates a directory and its parents.
    fn create_dir_all(&self, path: &Path) -> io::Result<()>;
    /// The entries of a directory (any order).
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>>;
    /// fsync of a directory, so created, renamed and deleted entries survive a crash.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
    /// Total bytes of the filesystem holding `dir`, when known.
    fn capacity(&self, dir: &Path) -> io::Result<Option<u64>>;
}

/// The real filesystem (`std::fs`, `statvfs` through rustix).
#[derive(Debug, Clone, Copy, Default)]
pub struct RealStorage;

impl RealStorage {
    /// The shared instance the default configuration uses.
    pub fn shared() -> Arc<dyn Storage> {
        Arc::new(RealStorage)
    }
}

/// A real file.
#[derive(Debug)]
struct RealFile(File);

impl StorageFile for RealFile {
    fn append(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        (&self.0).write_vectored(bufs)
    }

    fn write_at(&self, buf: &[u8], offset: u64) -> io::Result<usize> {
        std::os::unix::fs::FileExt::write_at(&self.0, buf, offset)
    }

    fn sync_data(&self) -> io::Result<()> {
        self.0.sync_data()
    }

    fn sync_all(&self) -> io::Result<()> {
        self.0.sync_all()
    }

    fn set_len(&self, len: u64) -> io::Result<()> {
        self.0.set_len(len)
    }
}

impl Storage for RealStorage {
    fn create(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        // std refuses append + truncate together: truncate by hand.
        let file = OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)?;
        file.set_len(0)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn open_append(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let file = OpenOptions::new().append(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn open_write(&self, path: &Path) -> io::Result<Arc<dyn StorageFile>> {
        let file = OpenOptions::new().write(true).open(path)?;
        Ok(Arc::new(RealFile(file)))
    }

    fn open_read(&self, path: &Path) -> io::Result<Box<dyn ReadFile>> {
        Ok(Box::new(File::open(path)?))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(std::fs::metadata(path)?.len())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    fn create_dir_all(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir_all(path)
    }

    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        std::fs::read_dir(dir)?
            .map(|entry| entry.map(|e| e.path()))
            .collect()
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }

    fn capacity(&self, dir: &Path) -> io::Result<Option<u64>> {
        let stat = rustix::fs::statvfs(dir)?;
        Ok(Some(stat.f_blocks.saturating_mul(stat.f_frsize)))
    }
}

/// Writes every byte of `slices` at the end of `file`; a short write continues where it
/// stopped.
pub(crate) fn append_all(file: &dyn StorageFile, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match file.append(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Writes all of `buf` at `offset`; a short write continues where it stopped.
pub(crate) fn write_all_at(
    file: &dyn StorageFile,
    mut buf: &[u8],
    mut offset: u64,
) -> io::Result<()> {
    while !buf.is_empty() {
        match file.write_at(buf, offset) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                buf = buf.get(n..).unwrap_or_default();
                offset += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Reads a whole (small) file.
pub(crate) fn read_all(storage: &dyn Storage, path: &Path) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    storage.open_read(path)?.read_to_end(&mut out)?;
    Ok(out)
}

/// True for "no space left" (`ENOSPC`) and "quota exceeded" (`EDQUOT`): the write may
/// succeed once space is freed.
pub fn is_out_of_space(err: &io::Error) -> bool {
    matches!(
        err.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded
    )
}
