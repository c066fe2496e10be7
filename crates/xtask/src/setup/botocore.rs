//! Python's botocore in the repo's `.venv`: the independent AWS SigV4 implementation the
//! relay's `sigv4` test receiver verifies signatures with (`tests/sigv4/verify_receiver.py`).
//! Idempotent: installs only when `import botocore` fails; creates the venv when missing
//! (the same one Envoy's step uses).

use crate::stage::{StageError, exec};
use crate::workspace;
use std::process::Command;

/// The botocore release line the test is written against.
pub const REQUIREMENT: &str = "botocore>=1.34,<2";

/// Installs botocore into `.venv` unless it imports already.
pub fn ensure() -> Result<(), StageError> {
    let venv = workspace::path(".venv");
    let python = venv.join("bin/python");
    let present = Command::new(&python)
        .args(["-c", "import botocore"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        eprintln!("    botocore present in {}", venv.display());
        return Ok(());
    }
    if !python.is_file() {
        eprintln!("    creating {}", venv.display());
        exec(
            "python3 -m venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
    }
    eprintln!("    installing {REQUIREMENT} into {}", venv.display());
    exec(
        "pip install botocore",
        Command::new(venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "--quiet"])
            .arg(REQUIREMENT),
    )
}
