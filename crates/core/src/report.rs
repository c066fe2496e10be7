//! The serde-serializable summary of one payload: exactly the JSON shape of DESIGN.md
//! "The report", shared by `prw inspect --format json` and the inspector page (both
//! serialize it with `serde_json`, so they produce the same bytes).
//!
//! Findings and counts come from [`crate::validate`] over the borrowed view; the series
//! listing comes from the owned prost structs (reports are not the hot path). Non-finite
//! floats are strings: `"NaN"`, `"+Inf"`, `"-Inf"`, `"StaleNaN"`. `max_series` pages the
//! series list; counts and findings stay whole.
//!
//! v1 metadata (request-level, field 3) is listed in the top-level `metadata` array; v2
//! metadata sits in each series' `metadata`.

mod build;
mod model;

#[cfg(feature = "std")]
pub use build::{Input, build, detect_input};
pub use build::{ReportOptions, from_decoded};
pub use model::{
    ExemplarReport, FindingReport, HistogramReport, MetadataReport, Report, Retry, SampleReport,
    SeriesReport, SpanReport, Value, Verdict,
};

/// The report's schema version.
pub const SCHEMA_VERSION: u32 = 1;
