//! Fuzz target: every series' facts against prost (`check.rs`, `check_facts`), on the
//! input as a decoded v1 and v2 body.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../check.rs");

fuzz_target!(|data: &[u8]| check_facts(data));
