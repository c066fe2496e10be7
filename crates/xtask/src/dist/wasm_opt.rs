//! wasm-opt (Debian binaryen 108) with the feature flags Rust 1.95 output needs: binaryen
//! 108 rejects bulk-memory/sign-ext/... unless they are enabled (toolchain.md section 4).

use crate::stage::{StageError, exec};
use std::path::Path;
use std::process::Command;

/// Features present in Rust 1.95 wasm output.
const FEATURES: &[&str] = &[
    "--enable-bulk-memory",
    "--enable-sign-ext",
    "--enable-nontrapping-float-to-int",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
];

/// `wasm-opt <features> -Oz --strip-debug --strip-producers input -o output`.
pub fn optimize(input: &Path, output: &Path) -> Result<(), StageError> {
    exec(
        "wasm-opt",
        Command::new(std::env::var_os("WASM_OPT").unwrap_or_else(|| "wasm-opt".into()))
            .args(FEATURES)
            .args(["-Oz", "--strip-debug", "--strip-producers"])
            .arg(input)
            .arg("-o")
            .arg(output),
    )
}
