//! The stack's addresses: DESIGN.md's default ports on 127.0.0.1, all moved by one offset
//! (`--port-offset`, so a second stack or a test can run beside the first).
//!
//! | what | port |
//! |---|---|
//! | receiver Prometheus | 9090 |
//! | sender Prometheus | 9091 |
//! | Envoy edge listener | 9201 |
//! | the relay (`up`) | 9202 |
//! | relay k of `up --relays N` | 9210 + k (9211 ..= 9215) |
//! | Envoy admin | 9901 |

use std::net::SocketAddr;

/// Most relays `up --relays N` runs (ports 9211 ..= 9215).
pub const MAX_RELAYS: u16 = 5;

/// Every port of the stack, moved by `offset`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ports {
    offset: u16,
}

impl Ports {
    /// The default ports moved by `offset`; `None` when a port would pass 65535.
    pub fn with_offset(offset: u16) -> Option<Ports> {
        9901u16.checked_add(offset).map(|_| Ports { offset })
    }

    fn at(self, port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port + self.offset))
    }

    /// Receiver Prometheus (UI and remote-write receiver).
    pub fn receiver(self) -> SocketAddr {
        self.at(9090)
    }

    /// Sender Prometheus.
    pub fn sender(self) -> SocketAddr {
        self.at(9091)
    }

    /// Envoy's edge listener.
    pub fn edge(self) -> SocketAddr {
        self.at(9201)
    }

    /// The single relay of plain `up`.
    pub fn relay(self) -> SocketAddr {
        self.at(9202)
    }

    /// Relay `k` (1-based) of `up --relays N`.
    pub fn cluster_relay(self, k: u16) -> SocketAddr {
        self.at(9210 + k)
    }

    /// Envoy's admin interface.
    pub fn admin(self) -> SocketAddr {
        self.at(9901)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_design_ports_and_the_offset_moves_every_one() {
        let ports = Ports::default();
        assert_eq!(ports.edge().to_string(), "127.0.0.1:9201");
        assert_eq!(ports.relay().to_string(), "127.0.0.1:9202");
        assert_eq!(ports.cluster_relay(1).to_string(), "127.0.0.1:9211");
        assert_eq!(
            ports.cluster_relay(MAX_RELAYS).to_string(),
            "127.0.0.1:9215"
        );
        let moved = Ports::with_offset(1000).unwrap();
        assert_eq!(moved.receiver().port(), 10090);
        assert_eq!(moved.admin().port(), 10901);
        assert!(Ports::with_offset(60000).is_none());
    }
}
