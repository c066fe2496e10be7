//! Fuzz target: the single-pass fast path against the general path (`check.rs`,
//! `check_paths`). The first byte picks the limits, the rest is a decoded body.
#![no_main]

use libfuzzer_sys::fuzz_target;

include!("../check.rs");

fuzz_target!(|data: &[u8]| {
    if let Some((&selector, body)) = data.split_first() {
        check_paths(selector, body);
    }
});
