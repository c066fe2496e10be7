//! Fuzz target: snappy + protobuf decode + validation + report of arbitrary bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../check.rs");

fuzz_target!(|data: &[u8]| check(data));
