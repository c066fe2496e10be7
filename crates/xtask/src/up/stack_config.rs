//! The configuration files `cargo xtask up` writes under `<data>/stack/` for the demo stack:
//!
//! ```text
//! Prometheus sender :9091 --remote_write--> Envoy + prw filter :9201 --> prw relay :9202
//!     (scrapes itself, the relays and Envoy)                             |  WAL <data>/wal
//!                                                                        v
//!                                                 Prometheus receiver :9090 (remote write receiver)
//! ```
//!
//! With `--relays N` the relays listen on 9211.. (WAL `<data>/relay-K/wal` each), Envoy runs
//! `envoy/cluster.yaml`, the sender splits its series over several tenants (one
//! `remote_write` queue each, `X-Scope-OrgID: tenant-K`, chosen by a hash of the series) so
//! that Envoy's consistent hashing spreads them over the relays, and the receiver has an
//! out-of-order window (a relay killed and restarted delivers its backlog late).

use std::net::SocketAddr;
use std::path::Path;

use super::ports::Ports;

/// The receiver's out-of-order window with several relays (docs/scale-out.md: at least the
/// longest relay outage to absorb, plus its backlog's delivery time).
pub const OUT_OF_ORDER_WINDOW: &str = "30m";

/// A relay: listens on `listen`, WAL under `wal_dir`, one destination (the receiver).
pub fn relay_yaml(listen: SocketAddr, wal_dir: &Path, receiver: SocketAddr) -> String {
    format!(
        "# Written by `cargo xtask up`; edit a copy and pass it with --config.
listen:
  address: {listen}
wal:
  dir: {wal}
remote_write:
  - name: receiver
    url: http://{receiver}/api/v1/write
    queue_config:
      batch_send_deadline: 1s
",
        wal = wal_dir.display()
    )
}

/// The sender: scrapes itself, the relays and Envoy every 5 s; writes through the edge.
/// `tenants` 0: one queue without a tenant header; otherwise that many queues, each with
/// its own `X-Scope-OrgID` and the series whose hash selects it.
pub fn sender_yaml(ports: Ports, relays: &[SocketAddr], tenants: u32) -> String {
    let relay_targets = relays
        .iter()
        .map(|r| format!("'{r}'"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "# Written by `cargo xtask up`.
global:
  scrape_interval: 5s
scrape_configs:
  - job_name: prometheus-sender
    static_configs: [{{ targets: ['{sender}'] }}]
  - job_name: prw-relay
    static_configs: [{{ targets: [{relay_targets}] }}]
  - job_name: envoy-edge
    metrics_path: /stats/prometheus
    static_configs: [{{ targets: ['{admin}'] }}]
remote_write:
",
        sender = ports.sender(),
        admin = ports.admin(),
    );
    let url = format!("http://{}/api/v1/write", ports.edge());
    if tenants == 0 {
        text.push_str(&format!(
            "  - url: {url}\n    queue_config:\n      batch_send_deadline: 1s\n"
        ));
    }
    for k in 0..tenants {
        text.push_str(&format!(
            "  - url: {url}
    name: tenant-{n}
    headers: {{ X-Scope-OrgID: tenant-{n} }}
    write_relabel_configs:
      - {{ source_labels: [__name__, job, instance], modulus: {tenants}, target_label: __tmp_tenant, action: hashmod }}
      - {{ source_labels: [__tmp_tenant], regex: '{k}', action: keep }}
      - {{ regex: __tmp_tenant, action: labeldrop }}
    queue_config:
      batch_send_deadline: 1s
",
            n = k + 1
        ));
    }
    text
}

/// The receiver scrapes nothing: everything it holds arrived by remote write. With
/// `out_of_order_window` it accepts samples that much older than its newest per series.
pub fn receiver_yaml(out_of_order_window: Option<&str>) -> String {
    let storage = out_of_order_window.map_or(String::new(), |window| {
        format!("storage:\n  tsdb:\n    out_of_order_time_window: {window}\n")
    });
    format!("# Written by `cargo xtask up`.\nglobal: {{}}\nscrape_configs: []\n{storage}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_config_points_at_the_receiver_and_the_wal() {
        let ports = Ports::default();
        let yaml = relay_yaml(ports.relay(), Path::new("/x/data/wal"), ports.receiver());
        assert!(yaml.contains("dir: /x/data/wal"));
        assert!(yaml.contains("url: http://127.0.0.1:9090/api/v1/write"));
        assert!(yaml.contains("address: 127.0.0.1:9202"));
    }

    #[test]
    fn sender_writes_through_the_edge_once_without_tenants() {
        let ports = Ports::default();
        let yaml = sender_yaml(ports, &[ports.relay()], 0);
        assert_eq!(
            yaml.matches("url: http://127.0.0.1:9201/api/v1/write")
                .count(),
            1
        );
        assert!(!yaml.contains("X-Scope-OrgID"));
        assert!(yaml.contains("targets: ['127.0.0.1:9202']"));
    }

    #[test]
    fn sender_splits_series_over_tenants_each_keeping_its_own_hash() {
        let ports = Ports::default();
        let relays = [ports.cluster_relay(1), ports.cluster_relay(2)];
        let yaml = sender_yaml(ports, &relays, 3);
        assert!(yaml.contains("targets: ['127.0.0.1:9211', '127.0.0.1:9212']"));
        for (k, n) in [(0, 1), (1, 2), (2, 3)] {
            assert!(
                yaml.contains(&format!("X-Scope-OrgID: tenant-{n} ")),
                "{yaml}"
            );
            assert!(
                yaml.contains(&format!("regex: '{k}', action: keep")),
                "{yaml}"
            );
        }
        assert_eq!(yaml.matches("modulus: 3,").count(), 3);
    }

    #[test]
    fn receiver_gets_an_out_of_order_window_only_when_asked() {
        assert!(!receiver_yaml(None).contains("out_of_order"));
        assert!(receiver_yaml(Some("30m")).contains("    out_of_order_time_window: 30m\n"));
    }
}
