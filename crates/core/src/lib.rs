//! prw-core: the one decoder, validator and status classifier shared by the Envoy edge
//! filter, the relay and the browser inspector.
//!
//! - [`proto`]: owned prost messages for v1 and v2 (building, conversion, reports).
//! - [`view`]: borrowed, allocation-free views over decoded bodies (the hot path), built on
//!   the [`wire`] reader.
//! - [`negotiate`]: Content-Type / Content-Encoding -> [`Protocol`] or 415.
//! - [`codec`] (feature `std`): snappy block format with size guards before allocation.
//! - [`validate`]: every spec rule as a named [`validate::Rule`]; [`Limits`].
//! - [`classify`]: HTTP status -> retry decision, `Retry-After`, backoff schedule.
//! - [`convert`]: v1 <-> v2.
//! - [`report`]: the serde report shared by `prw inspect --format json` and the inspector.
//! - [`hash`]: the stable label-set hash.
//!
//! Core does no I/O, has no global state and never panics on input.
//!
//! # Crate features
//!
//! - `std` (default): snappy via the `snap` crate (std-only), [`codec`] and
//!   [`report::build`]. Without it the crate is `no_std` + `alloc` and builds for
//!   `wasm32v1-none`.
// Tests get the std prelude; the library itself is no_std (CI builds it for wasm32v1-none).
#![cfg_attr(not(test), no_std)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod classify;
#[cfg(feature = "std")]
pub mod codec;
pub mod convert;
pub mod edge;
#[cfg(test)]
mod fixtures;
pub mod hash;
pub mod limits;
pub mod negotiate;
pub mod proto;
mod protocol;
pub mod report;
pub mod validate;
pub mod view;
pub mod wire;

pub use limits::Limits;
pub use protocol::Protocol;
pub use validate::{Mode, validate};
pub use wire::DecodeError;
