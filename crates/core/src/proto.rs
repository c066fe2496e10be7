//! Hand-written prost messages for both Remote Write schemas (no build.rs, no protoc).
//!
//! Field numbers follow `prompb/types.proto` / `prompb/remote.proto` (v1) and
//! `prompb/io/prometheus/write/v2/types.proto` at rc.4 (v2). These owned structs are for
//! building requests, conversion and reports; the hot path reads the same bytes through the
//! borrowed [`crate::view`] instead, because prost has no zero-copy decode (every label would
//! become an allocated `String`).
//!
//! Invariant: a field number here never changes; a test per schema pins the encoding of
//! every field against hand-written bytes.

pub mod v1;
pub mod v2;

#[cfg(test)]
mod tests;
