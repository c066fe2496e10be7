//! A file-backed [`ShardProgressStore`]: one small JSON file per destination.
//!
//! Format: `{"version":1,"low_watermark":N|null,"shards":[N|null,...]}`.
//! Invariants: a save is atomic (temp file, fsync, rename over the old file, fsync of the
//! directory), so a crash leaves the old or the new progress, never a mix; a missing file
//! loads as "no progress"; an unreadable file is an error naming the path (delivery then
//! discards it and replays without skipping: more may be resent, nothing is skipped).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::queue::watermark::StoreError;
use crate::queue::{ShardProgress, ShardProgressStore};

const VERSION: u32 = 1;

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
    /// The file is not progress JSON of a known version.
    #[error("{path}: not a progress file: {reason}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        reason: String,
    },
}

/// Progress of one destination in `<dir>/<name>.progress`.
#[derive(Debug, Clone)]
pub struct FileProgressStore {
    dir: PathBuf,
    path: PathBuf,
}

impl FileProgressStore {
    /// The store of destination `name` in `dir` (created on first save).
    pub fn new(dir: &Path, name: &str) -> Self {
        FileProgressStore {
            dir: dir.to_path_buf(),
            path: dir.join(format!("{name}.progress")),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Deletes the file (a removed destination); a missing file is fine.
    pub fn remove(&self) -> Result<(), ProgressFileError> {
        match fs::remove_file(&self.path) {
            Ok(()) => sync_dir(&self.dir),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ProgressFileError::Io {
                path: self.path.clone(),
                source,
            }),
        }
    }

    fn read(&self) -> Result<Option<ShardProgress>, ProgressFileError> {
        let text = match fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(ProgressFileError::Io {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let disk: OnDisk =
            serde_json::from_slice(&text).map_err(|e| ProgressFileError::Format {
                path: self.path.clone(),
                reason: e.to_string(),
            })?;
        if disk.version != VERSION {
            return Err(ProgressFileError::Format {
                path: self.path.clone(),
                reason: format!("version {} (this relay reads {VERSION})", disk.version),
            });
        }
        Ok(Some(ShardProgress {
            low_watermark: disk.low_watermark,
            shards: disk.shards,
        }))
    }

    fn write(&self, progress: &ShardProgress) -> Result<(), ProgressFileError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ProgressFileError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let text = serde_json::to_vec(&OnDisk {
            version: VERSION,
            low_watermark: progress.low_watermark,
            shards: progress.shards.clone(),
        })
        .map_err(|e| ProgressFileError::Format {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        let tmp = self.path.with_extension("progress.tmp");
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)
            .map_err(io_err(&tmp))?;
        file.write_all(&text).map_err(io_err(&tmp))?;
        file.sync_all().map_err(io_err(&tmp))?;
        drop(file);
        fs::rename(&tmp, &self.path).map_err(io_err(&self.path))?;
        sync_dir(&self.dir)
    }
}

fn sync_dir(dir: &Path) -> Result<(), ProgressFileError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| ProgressFileError::Io {
            path: dir.to_path_buf(),
            source,
        })
}

impl ShardProgressStore for FileProgressStore {
    fn load(&self) -> Result<Option<ShardProgress>, StoreError> {
        Ok(self.read()?)
    }

    fn save(&self, progress: &ShardProgress) -> Result<(), StoreError> {
        Ok(self.write(progress)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_progress_loads_back_and_a_missing_file_is_no_progress() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileProgressStore::new(&dir.path().join("delivery"), "a");
        assert_eq!(store.load().unwrap(), None);
        let progress = ShardProgress {
            low_watermark: Some(7),
            shards: vec![Some(9), None, Some(7)],
        };
        store.save(&progress).unwrap();
        assert_eq!(store.load().unwrap(), Some(progress.clone()));
        let newer = ShardProgress {
            low_watermark: Some(10),
            shards: vec![Some(10)],
        };
        store.save(&newer).unwrap();
        assert_eq!(store.load().unwrap(), Some(newer));
        assert!(!store.path().with_extension("progress.tmp").exists());
        store.remove().unwrap();
        assert_eq!(store.load().unwrap(), None);
    }

    #[test]
    fn garbage_in_the_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileProgressStore::new(dir.path(), "b");
        fs::write(store.path(), b"{not json").unwrap();
        let err = store.load().unwrap_err().to_string();
        assert!(err.contains("b.progress"), "{err}");
    }
}
