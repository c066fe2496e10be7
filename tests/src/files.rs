//! What a directory holds, to show that something left it untouched (a refused second relay,
//! `prw wal inspect` on a live WAL).
//!
//! Invariant: the listing is recursive and sorted by path, so two listings compare equal
//! exactly when the same files have the same sizes and modification times.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Every file under `dir` (recursively) with its size and modification time, sorted by path.
pub fn listing(dir: &Path) -> std::io::Result<Vec<(PathBuf, u64, SystemTime)>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        if meta.is_dir() {
            out.extend(listing(&entry.path())?);
        } else {
            out.push((entry.path(), meta.len(), meta.modified()?));
        }
    }
    out.sort();
    Ok(out)
}
