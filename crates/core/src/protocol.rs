//! The two Remote Write message schemas.

/// Which protobuf message a payload is: selected by Content-Type alone (DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `prometheus.WriteRequest` (Remote Write 1.0).
    V1,
    /// `io.prometheus.write.v2.Request` (Remote Write 2.0, rc.4 field numbers).
    V2,
}
