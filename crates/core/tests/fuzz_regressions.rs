//! Replays every input in `tests/fuzz-regressions/`, and every fixture body of
//! `testdata/`, through the fuzz targets' checks (`fuzz/check.rs`). A fuzzer crash is minimised (`cargo fuzz tmin`), copied there under a
//! name that says what broke, and from then on CI replays it.

// The fuzz checks assert (they are test code).
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

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

#[test]
fn every_fixture_body_passes_the_fuzz_checks() {
    // The fixtures are the fuzz seeds (`fuzz/seed.py`): real and independently encoded
    // bodies, so the properties must hold on them too.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
    let mut replayed = 0;
    for dir in ["prometheus-2.42", "v1", "v2"] {
        for entry in std::fs::read_dir(root.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "bin" || e == "pb") {
                check(&std::fs::read(&path).unwrap());
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 10, "only {replayed} fixture bodies");
}
