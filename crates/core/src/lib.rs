//! prw-core: the one decoder, validator and status classifier shared by the Envoy edge
//! filter, the relay and the browser inspector.
#![no_std]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod classify;
mod protocol;

pub use protocol::Protocol;
