//! Replays every input in `tests/fuzz-regressions/` through the fuzz target's checks
//! (`fuzz/check.rs`). A fuzzer crash is minimised (`cargo fuzz tmin`), copied there under a
//! name that says what broke, and from then on CI replays it.

// The fuzz checks assert (they are test code).
#![allow(clippy::panic, clippy::unwrap_used)]

include!("../fuzz/check.rs");

#[test]
fn every_fuzz_regression_input_passes_the_checks() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut replayed = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            continue;
        }
        check(&std::fs::read(&path).unwrap());
        replayed += 1;
    }
    assert!(replayed > 0, "no regression inputs in {}", dir.display());
}
