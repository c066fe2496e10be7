//! Credentials given inline or by file. Inline values never appear in `Debug` output or logs;
//! files are re-read when used (as Prometheus does), so rotating a token needs no reload.

use std::fmt;
use std::path::PathBuf;

/// Where a credential comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the configuration file.
    Inline(String),
    /// Read from this file (trailing newline trimmed) each time it is needed.
    File(PathBuf),
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Inline(_) => f.write_str("Inline(<secret>)"),
            Self::File(path) => f.debug_tuple("File").field(path).finish(),
        }
    }
}

impl SecretSource {
    /// The credential now: the inline value, or the file's content without trailing newline.
    pub fn read(&self) -> std::io::Result<String> {
        match self {
            Self::Inline(value) => Ok(value.clone()),
            Self::File(path) => {
                let text = std::fs::read_to_string(path)?;
                Ok(text.trim_end_matches(['\r', '\n']).to_owned())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_inline_secret() {
        let shown = format!("{:?}", SecretSource::Inline("hunter2".into()));
        assert!(!shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn file_secret_is_trimmed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "abc\n").unwrap();
        assert_eq!(SecretSource::File(path).read().unwrap(), "abc");
    }
}
