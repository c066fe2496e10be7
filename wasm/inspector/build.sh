#!/usr/bin/env bash
# Builds the inspector page into OUT_DIR (default: dist/inspector). These are the exact
# steps `cargo xtask dist` performs for dist/inspector/; the browser tests run this script
# when PRW_INSPECTOR_DIR is not set.
#
#   wasm/inspector/build.sh [OUT_DIR]
#
# Needs: rustup target wasm32-unknown-unknown, wasm-bindgen-cli of the same version as the
# wasm-bindgen crate in Cargo.lock (0.2.130), wasm-opt (binaryen; apt's 108 needs the
# --enable-* flags below, see toolchain.md section 4).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$root/dist/inspector}
target_dir=${CARGO_TARGET_DIR:-$root/target}

# 1. The wasm module (release: opt-level 3, which beats opt-level z after wasm-opt here).
cargo build --manifest-path "$root/Cargo.toml" --release --target wasm32-unknown-unknown -p prw-inspector

# 2. JS bindings for an ES-module page (no bundler).
rm -rf "$out"
mkdir -p "$out/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$out/pkg" \
  "$target_dir/wasm32-unknown-unknown/release/prw_inspector.wasm"

# 3. Size optimisation of the wasm-bindgen output (never of cargo's output: wasm-bindgen
#    needs the target_features section that stripping removes). binaryen 108 (Debian
#    bookworm's apt package) BREAKS this module: it reads wasm-bindgen's externref table as
#    `anyref` and the page then fails with "WebAssembly.Table.set(): Argument 1 is invalid
#    for table". So: $WASM_OPT if set, else tests/browser's npm binaryen (132, from the
#    committed lock file), else a system wasm-opt >= 116; with none of them the module is
#    shipped unoptimised (about 20% larger, still correct).
wasm_opt=${WASM_OPT:-}
if [ -z "$wasm_opt" ] && [ -x "$root/tests/browser/node_modules/.bin/wasm-opt" ]; then
  wasm_opt=$root/tests/browser/node_modules/.bin/wasm-opt
fi
if [ -z "$wasm_opt" ] && command -v wasm-opt >/dev/null; then
  version=$(wasm-opt --version | sed -n 's/.*version \([0-9]*\).*/\1/p')
  if [ "${version:-0}" -ge 116 ]; then wasm_opt=wasm-opt; fi
fi
bg="$out/pkg/prw_inspector_bg.wasm"
if [ -n "$wasm_opt" ]; then
  "$wasm_opt" --enable-bulk-memory --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-mutable-globals --enable-multivalue --enable-reference-types \
    -Oz --strip-debug --strip-producers "$bg" -o "$bg"
else
  echo "warning: no usable wasm-opt (need binaryen >= 116; run npm ci in tests/browser): $bg left unoptimised" >&2
fi

# 4. The static page (top-level files only; a local www/pkg is never copied).
find "$root/wasm/inspector/www" -maxdepth 1 -type f \
  \( -name '*.html' -o -name '*.css' -o -name '*.js' \) -exec cp {} "$out/" \;

echo "inspector built into $out"
