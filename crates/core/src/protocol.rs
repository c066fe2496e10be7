//! Which Remote Write schema a body uses.

use serde::{Deserialize, Serialize};

/// Which protobuf message a payload is: selected by Content-Type alone (DESIGN.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// `prometheus.WriteRequest` (Remote Write 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (Remote Write 2.0).
    V2,
}

impl Protocol {
    /// `"v1"` or `"v2"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::V1 => "v1",
            Protocol::V2 => "v2",
        }
    }

    /// The canonical Content-Type for this schema.
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::V1 => crate::negotiate::CONTENT_TYPE_V1,
            Protocol::V2 => crate::negotiate::CONTENT_TYPE_V2,
        }
    }
}

impl core::fmt::Display for Protocol {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}
