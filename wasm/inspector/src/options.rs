//! The options the page passes to [`crate::inspect`], as JSON.
//!
//! `{"protocol": "auto"|"v1"|"v2", "content_type": "...", "max_series": N, "limits": {...}}`,
//! every field optional; unknown fields are rejected naming the field, so a typo in the page
//! cannot silently change the report. They map one to one onto
//! [`prw_core::report::ReportOptions`], the options of `prw inspect`.

use prw_core::report::ReportOptions;
use prw_core::{Limits, Protocol};
use serde::Deserialize;

use crate::InspectorError;

/// Which schema to read the body with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolChoice {
    /// From the Content-Type if given, else detected from the body.
    #[default]
    Auto,
    /// Remote Write 1.0 (`prometheus.WriteRequest`).
    V1,
    /// Remote Write 2.0 (`io.prometheus.write.v2.Request`).
    V2,
}

/// Options of one inspection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct InspectOptions {
    /// Schema override.
    pub protocol: ProtocolChoice,
    /// The Content-Type the sender used, to mimic negotiation (empty = none).
    pub content_type: Option<String>,
    /// List at most this many series (counts and findings stay whole).
    pub max_series: Option<usize>,
    /// Receiver limits (missing fields take prw's defaults).
    pub limits: Limits,
}

impl InspectOptions {
    /// Reads the options JSON; empty text means all defaults.
    pub fn from_json(json: &str) -> Result<InspectOptions, InspectorError> {
        if json.trim().is_empty() {
            return Ok(InspectOptions::default());
        }
        serde_json::from_str(json).map_err(InspectorError::Options)
    }

    /// The same options as prw-core takes them.
    pub fn report_options(&self) -> ReportOptions<'_> {
        ReportOptions {
            content_type: self
                .content_type
                .as_deref()
                .filter(|ct| !ct.trim().is_empty()),
            protocol: match self.protocol {
                ProtocolChoice::Auto => None,
                ProtocolChoice::V1 => Some(Protocol::V1),
                ProtocolChoice::V2 => Some(Protocol::V2),
            },
            limits: self.limits,
            max_series: self.max_series,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_options_are_the_cli_defaults() {
        let o = InspectOptions::from_json("").unwrap();
        let r = o.report_options();
        assert_eq!(
            (r.protocol, r.content_type, r.max_series),
            (None, None, None)
        );
        assert_eq!(r.limits, Limits::default());
    }

    #[test]
    fn every_field_maps_onto_report_options() {
        let o = InspectOptions::from_json(
            r#"{"protocol":"v2","content_type":"application/x-protobuf","max_series":3,"limits":{"max_series":7}}"#,
        )
        .unwrap();
        let r = o.report_options();
        assert_eq!(r.protocol, Some(Protocol::V2));
        assert_eq!(r.content_type, Some("application/x-protobuf"));
        assert_eq!(r.max_series, Some(3));
        assert_eq!(r.limits.max_series, 7);
    }

    #[test]
    fn blank_content_type_counts_as_absent() {
        let o = InspectOptions::from_json(r#"{"content_type":"  "}"#).unwrap();
        assert_eq!(o.report_options().content_type, None);
    }

    #[test]
    fn unknown_option_is_rejected_naming_it() {
        let err = InspectOptions::from_json(r#"{"protocl":"v1"}"#).unwrap_err();
        assert!(err.to_string().contains("protocl"), "{err}");
    }
}
