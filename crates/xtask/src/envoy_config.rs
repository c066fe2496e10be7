//! Envoy's configuration for `up` and `bench --relays`, rendered from the shipped templates
//! (`envoy/edge.yaml`, `envoy/cluster.yaml`) by substituting their documented strings, line
//! by line: the listener (`port_value: 9201`), the admin (`port_value: 9901`), the upstream
//! relay (`port_value: 9202`, edge.yaml) or the relay endpoints (`port_value: 9211`, `9212`,
//! `9213`, cluster.yaml: one line each, replaced by one line per relay), and the filter's
//! path (`dist/prw_envoy_filter.wasm`, made absolute so Envoy runs from any directory).
//!
//! Invariant: each line is classified once, before anything is substituted, so a moved port
//! can never be mistaken for another template port.

use std::net::SocketAddr;
use std::path::Path;

/// The endpoint ports of `envoy/cluster.yaml`.
const CLUSTER_RELAY_PORTS: [&str; 3] = ["port_value: 9211", "port_value: 9212", "port_value: 9213"];

/// Why a template could not be rendered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderError(pub String);

impl std::fmt::Display for RenderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where Envoy listens.
#[derive(Clone, Copy, Debug)]
pub struct Listen {
    /// The edge listener (the template's 9201).
    pub edge: SocketAddr,
    /// The admin interface (the template's 9901).
    pub admin: SocketAddr,
}

/// Renders `template` (edge.yaml or cluster.yaml) for `listen`, the `relays` behind it and
/// the filter at `wasm`.
pub fn render(
    template: &str,
    listen: Listen,
    relays: &[SocketAddr],
    wasm: &Path,
) -> Result<String, RenderError> {
    let port = |addr: SocketAddr| format!("port_value: {}", addr.port());
    let mut out = String::with_capacity(template.len());
    let mut endpoints_written = false;
    let (mut listener, mut admin, mut upstream) = (0, 0, 0);
    for line in template.lines() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else if line.contains("port_value: 9201") {
            listener += 1;
            out.push_str(&line.replace("port_value: 9201", &port(listen.edge)));
        } else if line.contains("port_value: 9901") {
            admin += 1;
            out.push_str(&line.replace("port_value: 9901", &port(listen.admin)));
        } else if line.contains("port_value: 9202") {
            let [relay] = relays else {
                return Err(RenderError(format!(
                    "edge.yaml has one upstream, {} relays were asked for",
                    relays.len()
                )));
            };
            upstream += 1;
            out.push_str(&line.replace("port_value: 9202", &port(*relay)));
        } else if let Some(template_port) = CLUSTER_RELAY_PORTS.iter().find(|p| line.contains(*p)) {
            if endpoints_written {
                continue;
            }
            endpoints_written = true;
            upstream += 1;
            for (k, relay) in relays.iter().enumerate() {
                if k > 0 {
                    out.push('\n');
                }
                out.push_str(&line.replace(template_port, &port(*relay)));
            }
        } else {
            out.push_str(&line.replace("dist/prw_envoy_filter.wasm", &wasm.to_string_lossy()));
        }
        out.push('\n');
    }
    if (listener, admin, upstream) != (1, 1, 1) {
        return Err(RenderError(format!(
            "the template should have one listener, one admin and one upstream port line; \
             found {listener}, {admin} and {upstream}"
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn template(name: &str) -> String {
        std::fs::read_to_string(crate::workspace::path("envoy").join(name)).unwrap()
    }

    fn endpoint_ports(yaml: &str) -> Vec<String> {
        yaml.lines()
            .filter(|l| l.contains("- endpoint:"))
            .filter_map(|l| l.split("port_value: ").nth(1))
            .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
            .collect()
    }

    #[test]
    fn cluster_yaml_gets_one_endpoint_per_relay_on_moved_ports() {
        // The listener moves to 9211, a port the template uses for a relay.
        let listen = Listen {
            edge: at(9211),
            admin: at(9911),
        };
        for n in 1..=5 {
            let relays: Vec<SocketAddr> = (1..=n).map(|k| at(9220 + k)).collect();
            let yaml = render(
                &template("cluster.yaml"),
                listen,
                &relays,
                Path::new("/abs/filter.wasm"),
            )
            .unwrap();
            let expected: Vec<String> = (1..=n).map(|k| (9220 + k).to_string()).collect();
            assert_eq!(endpoint_ports(&yaml), expected);
            assert!(yaml.contains("address: 127.0.0.1, port_value: 9211 }"));
            assert!(yaml.contains("port_value: 9911 }"));
            assert!(yaml.contains("filename: /abs/filter.wasm"));
        }
    }

    #[test]
    fn edge_yaml_takes_exactly_one_relay() {
        let listen = Listen {
            edge: at(9201),
            admin: at(9901),
        };
        let yaml = render(&template("edge.yaml"), listen, &[at(9202)], Path::new("/w")).unwrap();
        assert_eq!(endpoint_ports(&yaml), ["9202"]);
        let two = [at(9211), at(9212)];
        assert!(render(&template("edge.yaml"), listen, &two, Path::new("/w")).is_err());
        let err = render("admin: {}\n", listen, &[], Path::new("/w")).unwrap_err();
        assert!(err.0.contains("found 0, 0 and 0"), "{err}");
    }
}
