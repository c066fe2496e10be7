//! The configuration files `cargo xtask up` writes under `data/stack/` for the demo stack:
//!
//! ```text
//! Prometheus sender :9091 --remote_write--> Envoy + prw filter :9201 --> prw relay :9202
//!     (scrapes itself, the relay and Envoy)                               |  WAL data/wal
//!                                                                        v
//!                                                 Prometheus receiver :9090 (remote write receiver)
//! ```
//!
//! Ports are DESIGN.md's defaults; `envoy/edge.yaml` is used unchanged (it already listens on
//! 9201 with admin 9901 and forwards to 9202).

use std::path::Path;

/// Receiver Prometheus (UI and remote-write receiver).
pub const RECEIVER_ADDR: &str = "127.0.0.1:9090";
/// Sender Prometheus.
pub const SENDER_ADDR: &str = "127.0.0.1:9091";
/// The relay.
pub const RELAY_ADDR: &str = "127.0.0.1:9202";
/// Envoy's edge listener.
pub const EDGE_ADDR: &str = "127.0.0.1:9201";
/// Envoy's admin interface.
pub const ENVOY_ADMIN_ADDR: &str = "127.0.0.1:9901";

/// The relay: listens on 9202, WAL under `wal_dir`, one destination (the receiver).
pub fn relay_yaml(wal_dir: &Path) -> String {
    format!(
        "# Written by `cargo xtask up`; edit a copy and pass it with --config.
listen:
  address: {RELAY_ADDR}
wal:
  dir: {wal}
remote_write:
  - name: receiver
    url: http://{RECEIVER_ADDR}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
",
        wal = wal_dir.display()
    )
}

/// The sender: scrapes itself, the relay and Envoy every 5 s; writes through the edge.
pub fn sender_yaml() -> String {
    format!(
        "# Written by `cargo xtask up`.
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: prometheus-sender
    static_configs: [{{ targets: ['{SENDER_ADDR}'] }}]
  - job_name: prw-relay
    static_configs: [{{ targets: ['{RELAY_ADDR}'] }}]
  - job_name: envoy-edge
    metrics_path: /stats/prometheus
    static_configs: [{{ targets: ['{ENVOY_ADMIN_ADDR}'] }}]
remote_write:
  - url: http://{EDGE_ADDR}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
"
    )
}

/// The receiver scrapes nothing: everything it holds arrived by remote write.
pub fn receiver_yaml() -> String {
    "# Written by `cargo xtask up`.\nglobal: {}\nscrape_configs: []\n".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_config_points_at_the_receiver_and_the_wal() {
        let yaml = relay_yaml(Path::new("/x/data/wal"));
        assert!(yaml.contains("dir: /x/data/wal"));
        assert!(yaml.contains("url: http://127.0.0.1:9090/api/v1/write"));
        assert!(yaml.contains("address: 127.0.0.1:9202"));
    }

    #[test]
    fn sender_writes_through_the_edge() {
        assert!(sender_yaml().contains("url: http://127.0.0.1:9201/api/v1/write"));
    }
}
