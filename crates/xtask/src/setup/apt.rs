//! Debian packages, installed with `apt-get install --no-install-recommends` only when
//! `dpkg-query` says they are missing (and `apt-get update` only then too). Uses `sudo`
//! when not root. Waits up to 120 s for another apt/dpkg to release its lock.

use crate::probe;
use crate::stage::{StageError, exec};
use std::process::Command;

/// Installs whichever of `packages` are not installed.
pub fn ensure_packages(packages: &[&str]) -> Result<(), StageError> {
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        eprintln!("    installed already: {}", packages.join(" "));
        return Ok(());
    }
    eprintln!("    installing: {}", missing.join(" "));
    let lock = ["-o", "DPkg::Lock::Timeout=120"];
    exec("apt-get update", apt_get().args(lock).arg("update"))?;
    exec(
        "apt-get install",
        apt_get()
            .args(lock)
            .args(["install", "-y", "--no-install-recommends"])
            .args(&missing),
    )
}

fn is_installed(package: &str) -> bool {
    probe::output("dpkg-query", &["-W", "-f=${Status}", package])
        .is_some_and(|status| status.trim() == "install ok installed")
}

/// `apt-get` as root, through `sudo` otherwise.
fn apt_get() -> Command {
    let is_root = probe::output("id", &["-u"]).is_some_and(|uid| uid.trim() == "0");
    let mut cmd = if is_root {
        Command::new("apt-get")
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("apt-get");
        sudo
    };
    cmd.env("DEBIAN_FRONTEND", "noninteractive");
    cmd
}
