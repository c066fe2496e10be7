//! Decode benchmarks (filled in later).
fn main() {}
