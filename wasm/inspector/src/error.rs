//! The one error type of the crate; converted to `JsError` only at the wasm boundary.

use crate::text_input::TextInputError;

/// Why an inspector call failed (as opposed to a payload being bad, which is a report with
/// findings or `error` set, not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectorError {
    /// Pasted text could not be decoded.
    #[error(transparent)]
    TextInput(#[from] TextInputError),
    /// The options JSON is malformed or names an unknown option.
    #[error("inspect options: {0}")]
    Options(#[source] serde_json::Error),
    /// The report could not be serialized (a bug, never caused by input).
    #[error("could not serialize the report: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The pasted edge filter config is not valid JSON or names an unknown field.
    #[error("edge filter config: {0}")]
    EdgeConfigJson(#[source] serde_json::Error),
    /// The edge filter config parses but a value cannot work.
    #[error("edge filter config: {0}")]
    EdgeConfig(#[source] prw_core::edge::ConfigError),
    /// The simulated request JSON is malformed.
    #[error("edge request: {0}")]
    EdgeRequest(#[source] serde_json::Error),
}
