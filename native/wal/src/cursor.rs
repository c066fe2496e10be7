//! Cursor files: `cursors/NAME.cursor`, 24 bytes (see the crate docs), replaced atomically by
//! writing `NAME.cursor.tmp`, fsync, rename over the old file, fsync of the directory. A crash
//! at any point leaves either the old or the new value.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{CorruptKind, WalError};
use crate::format::{self, CURSOR_SUFFIX};
use crate::segment::sync_dir;

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

/// Writes `next_seq` for `name` atomically.
pub(crate) fn store(dir: &Path, name: &str, next_seq: u64) -> Result<(), WalError> {
    let path = cursor_path(dir, name);
    // A unique temp name: a commit and a `DropOldest` advance may store the same cursor at
    // once; each rename is atomic, so the file always holds one complete value.
    static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = TMP_COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp = dir
        .join(CURSOR_DIR)
        .join(format!("{name}{CURSOR_SUFFIX}.tmp{n}"));
    let mut file = File::create(&tmp).map_err(WalError::io("create", &tmp))?;
    file.write_all(&format::encode_cursor(next_seq))
        .map_err(WalError::io("write", &tmp))?;
    file.sync_all().map_err(WalError::io("fsync", &tmp))?;
    std::fs::rename(&tmp, &path).map_err(WalError::io("rename", &path))?;
    sync_dir(&dir.join(CURSOR_DIR))
}

/// Deletes the cursor file of `name`.
pub(crate) fn remove(dir: &Path, name: &str) -> Result<(), WalError> {
    let path = cursor_path(dir, name);
    match std::fs::remove_file(&path) {
        Ok(()) => sync_dir(&dir.join(CURSOR_DIR)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(WalError::Io {
            op: "remove",
            path,
            source: e,
        }),
    }
}

/// Every cursor file: `(name, path, parsed value or why not)`. Leftover `.tmp` files from an
/// interrupted store are deleted (the rename never happened, so the old value stands).
pub(crate) fn load_all(dir: &Path) -> Result<Loaded, WalError> {
    load(dir, true)
}

/// Like [`load_all`] but leaves `.tmp` files alone.
pub(crate) fn load_all_read_only(dir: &Path) -> Result<Loaded, WalError> {
    load(dir, false)
}

type Loaded = Vec<(String, PathBuf, Result<u64, CorruptKind>)>;

fn load(dir: &Path, clean_tmp: bool) -> Result<Loaded, WalError> {
    let cdir = dir.join(CURSOR_DIR);
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&cdir).map_err(WalError::io("read_dir", &cdir))? {
        let entry = entry.map_err(WalError::io("read_dir", &cdir))?;
        let path = entry.path();
        let Some(file_name) = entry.file_name().to_str().map(str::to_owned) else {
            continue;
        };
        if file_name.contains(".cursor.tmp") {
            if !clean_tmp {
                continue;
            }
            let _ = std::fs::remove_file(&path);
            continue;
        }
        let Some(name) = file_name.strip_suffix(CURSOR_SUFFIX) else {
            continue;
        };
        if validate_name(name).is_err() {
            continue;
        }
        let bytes = std::fs::read(&path).map_err(WalError::io("read", &path))?;
        out.push((name.to_owned(), path, format::decode_cursor(&bytes)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}
