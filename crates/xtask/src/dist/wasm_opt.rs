//! wasm-opt with the feature flags Rust 1.95 output needs (toolchain.md section 4).
//!
//! Which wasm-opt: `$WASM_OPT` if set, else the npm binaryen 132 that the browser-tools
//! setup step installs, else a system wasm-opt of version 116 or later. Debian bookworm's
//! binaryen 108 is refused: it rewrites wasm-bindgen's externref table as `anyref` and the
//! inspector page then fails to start ("WebAssembly.Table.set(): Argument 1 is invalid").

use crate::probe;
use crate::setup::npm_wasm_opt;
use crate::stage::{StageError, exec};
use std::ffi::OsString;
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

/// The oldest binaryen that keeps wasm-bindgen's externref table intact.
const MIN_VERSION: u32 = 116;

/// The wasm-opt to use, if any.
fn choose() -> Option<OsString> {
    if let Some(explicit) = std::env::var_os("WASM_OPT") {
        return Some(explicit);
    }
    let npm = npm_wasm_opt();
    if npm.exists() {
        return Some(npm.into_os_string());
    }
    let version = probe::output("wasm-opt", &["--version"])?;
    (parse_version(&version)? >= MIN_VERSION).then(|| "wasm-opt".into())
}

/// `wasm-opt version 132 (version_132)` -> 132.
fn parse_version(text: &str) -> Option<u32> {
    let rest = text.split("version ").nth(1)?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `wasm-opt <features> -Oz --strip-debug --strip-producers input -o output`; without a
/// usable wasm-opt the input is copied unoptimised (about 20% larger, still correct).
pub fn optimize(input: &Path, output: &Path) -> Result<(), StageError> {
    let Some(program) = choose() else {
        eprintln!(
            "    warning: no wasm-opt >= {MIN_VERSION}: {} left unoptimised",
            output.display()
        );
        return super::copy_file(input, output);
    };
    exec(
        "wasm-opt",
        Command::new(program)
            .args(FEATURES)
            .args(["-Oz", "--strip-debug", "--strip-producers"])
            .arg(input)
            .arg("-o")
            .arg(output),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_read_from_wasm_opt_output() {
        assert_eq!(
            parse_version("wasm-opt version 132 (version_132)\n"),
            Some(132)
        );
        assert_eq!(parse_version("wasm-opt version 108\n"), Some(108));
        assert_eq!(parse_version("nonsense"), None);
    }
}
