//! Integration tests of prw-wal: one test binary, one module per concern.
// Helpers outside #[test] fns are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod wal {
    pub mod basic;
    pub mod corruption;
    pub mod crash;
    pub mod disk_cap;
    pub mod fault_model;
    pub mod faults;
    pub mod fsync_faults;
    pub mod harness;
    pub mod locate_index;
    pub mod lock;
    pub mod marks;
    pub mod model;
    pub mod parts;
}
