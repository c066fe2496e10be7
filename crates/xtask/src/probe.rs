//! Asks a program a question quietly: is it installed, which version is it. A program
//! that cannot be started or exits unsuccessfully answers `None`.

use std::process::{Command, Stdio};

/// Runs `program args...` with captured output; its stdout (lossy UTF-8) on success.
pub fn output(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
