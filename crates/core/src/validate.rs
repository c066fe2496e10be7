//! Validation: every MUST and SHOULD of both specs as a named [`Rule`] with a stable id.
//!
//! Runs over the borrowed [`crate::view`] in one pass per series, allocating nothing per
//! label (findings, which are rare, own their label name). Severity follows the payload's
//! version ([`Rule::severity`]). [`Mode::Report`] collects every finding;
//! [`Mode::Verdict`] stops at the first error (counts are then partial). A body that is
//! not valid protobuf for the schema is a [`DecodeError`], not a finding.
//!
//! The same pass can hand the relay its per-series [`SeriesFacts`] (byte range, label-set
//! hash, counts, oldest and newest timestamp) through [`validate_with_facts`].
//!
//! Each v1 series first takes a single-pass fast path that accepts only canonically
//! encoded series breaking no rule; every other series is walked again by the general
//! path, which is the definition of every rule. The result never depends on which path
//! ran ([`validate_with_facts_general`] runs only the general path, for the checks that
//! prove it).

pub mod finding;
mod histogram;
mod labels;
mod points;
pub mod rule;
mod v1;
mod v1_fast;
mod v2;

use alloc::string::ToString;
use alloc::vec::Vec;

use serde::Serialize;

pub use finding::Finding;
pub use rule::{Rule, Severity};

use crate::view::SeriesFacts;
use crate::wire::DecodeError;
use crate::{Limits, Protocol};

/// How much work validation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Collect every finding (inspector, `prw inspect`).
    Report,
    /// Stop at the first error (edge, relay): only the verdict matters.
    Verdict,
}

/// How many items a request carries.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Series.
    pub series: u64,
    /// Float samples.
    pub samples: u64,
    /// Native histograms.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
    /// Metadata entries (v1 field 3; v2 series carrying metadata).
    pub metadata: u64,
    /// The newest timestamp of any sample, histogram or exemplar, if any (what
    /// [`SeriesFacts::max_timestamp`] gives over all series, known without asking for the
    /// facts). Not in the report's JSON.
    #[serde(skip)]
    pub max_timestamp: Option<i64>,
}

impl Counts {
    /// Takes `timestamp` into [`Counts::max_timestamp`].
    pub(crate) fn newest(&mut self, timestamp: Option<i64>) {
        self.max_timestamp = self.max_timestamp.max(timestamp);
    }
}

/// The result of validating one body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Validation {
    /// Findings in body order.
    pub findings: Vec<Finding>,
    /// Counts (partial if [`Mode::Verdict`] stopped early).
    pub counts: Counts,
}

impl Validation {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The first error finding.
    pub fn first_error(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.severity == Severity::Error)
    }

    /// The status a receiver answers: 400 with any error finding, else 204.
    pub fn status(&self) -> u16 {
        if self.has_errors() { 400 } else { 204 }
    }
}

/// Validates a decoded (decompressed) body of the given schema.
pub fn validate(
    decoded: &[u8],
    protocol: Protocol,
    limits: &Limits,
    mode: Mode,
) -> Result<Validation, DecodeError> {
    run(decoded, protocol, limits, mode, None, Path::Fast)
}

/// Like [`validate`], and also pushes one [`SeriesFacts`] per series onto `facts` (not
/// cleared first). In [`Mode::Verdict`] facts stop where validation stopped.
pub fn validate_with_facts(
    decoded: &[u8],
    protocol: Protocol,
    limits: &Limits,
    mode: Mode,
    facts: &mut Vec<SeriesFacts>,
) -> Result<Validation, DecodeError> {
    run(decoded, protocol, limits, mode, Some(facts), Path::Fast)
}

/// [`validate_with_facts`] with the fast path switched off: every series takes the general
/// walk over [`crate::view`]. Gives exactly the same result (the invariant the proptests
/// and the `validate_paths` fuzz target check); here for those checks and for the
/// benchmark's "before" row. Feature `test-util`.
#[cfg(any(test, feature = "test-util"))]
pub fn validate_with_facts_general(
    decoded: &[u8],
    protocol: Protocol,
    limits: &Limits,
    mode: Mode,
    facts: &mut Vec<SeriesFacts>,
) -> Result<Validation, DecodeError> {
    run(decoded, protocol, limits, mode, Some(facts), Path::General)
}

/// Which walk a series takes first.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// The single-pass fast path, falling back to the general walk for a series it does
    /// not accept.
    Fast,
    /// Only the general walk.
    #[cfg_attr(not(any(test, feature = "test-util")), allow(dead_code))]
    General,
}

fn run(
    decoded: &[u8],
    protocol: Protocol,
    limits: &Limits,
    mode: Mode,
    facts: Option<&mut Vec<SeriesFacts>>,
    path: Path,
) -> Result<Validation, DecodeError> {
    let mut c = Collector {
        protocol,
        mode,
        findings: Vec::new(),
    };
    let mut counts = Counts::default();
    let res = match protocol {
        Protocol::V1 => v1::walk(decoded, limits, &mut c, &mut counts, facts, path),
        Protocol::V2 => v2::walk(decoded, limits, &mut c, &mut counts, facts),
    };
    match res {
        Ok(()) | Err(Halt::Stop) => Ok(Validation {
            findings: c.findings,
            counts,
        }),
        Err(Halt::Decode(e)) => Err(e),
    }
}

/// Why a walk ended early.
#[derive(Debug)]
enum Halt {
    /// The body does not decode.
    Decode(DecodeError),
    /// Verdict mode saw an error.
    Stop,
}

impl From<DecodeError> for Halt {
    fn from(e: DecodeError) -> Self {
        Halt::Decode(e)
    }
}

/// Collects findings and decides when to stop.
struct Collector {
    protocol: Protocol,
    mode: Mode,
    findings: Vec<Finding>,
}

impl Collector {
    fn add(
        &mut self,
        rule: Rule,
        series: Option<usize>,
        sample: Option<usize>,
        label: Option<&str>,
    ) -> Result<(), Halt> {
        let severity = rule.severity(self.protocol);
        self.findings.push(Finding {
            rule,
            severity,
            series,
            sample,
            label: label.map(ToString::to_string),
        });
        if self.mode == Mode::Verdict && severity == Severity::Error {
            return Err(Halt::Stop);
        }
        Ok(())
    }
}

/// The stale marker's exact bit pattern.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// A NaN carrying the stale marker's payload (2) with a different sign or quiet bit: most
/// likely a stale marker damaged by a float conversion, which receivers will not treat as
/// stale.
fn is_damaged_stale_marker(value: f64) -> bool {
    let bits = value.to_bits();
    value.is_nan() && bits & 0x0007_ffff_ffff_ffff == 2 && bits != STALE_NAN_BITS
}

#[cfg(test)]
mod fast_tests;
#[cfg(test)]
mod tests;
