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
}
