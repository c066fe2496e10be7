//! `dist/prw`: the release CLI, embedding `dist/inspector/` when it was built and the CLI
//! declares the `embed-inspector` feature (which reads the directory from
//! `PRW_INSPECTOR_DIST` at compile time).

use super::copy_file;
use crate::stage::{StageError, exec};
use crate::workspace;
use std::path::{Path, PathBuf};

/// The CLI's crate directory.
const CLI_DIR: &str = "native/cli";
/// The feature that embeds the inspector page.
const EMBED_FEATURE: &str = "embed-inspector";

/// Builds `prw` in release and copies it to `dist/prw`.
pub fn build(dist: &Path, inspector: Option<&Path>) -> Result<PathBuf, StageError> {
    let mut cmd = workspace::cargo();
    cmd.args(["build", "--release", "-p", "prw"]);
    match inspector {
        Some(dir) if workspace::has_feature(CLI_DIR, EMBED_FEATURE) => {
            cmd.args(["--features", EMBED_FEATURE])
                .env("PRW_INSPECTOR_DIST", dir);
        }
        Some(_) => eprintln!("    {CLI_DIR} has no `{EMBED_FEATURE}` feature yet: not embedding"),
        None => eprintln!("    no inspector built: prw without the embedded page"),
    }
    exec("cargo build --release -p prw", &mut cmd)?;
    let out = dist.join("prw");
    copy_file(&workspace::path("target/release/prw"), &out)?;
    Ok(out)
}
