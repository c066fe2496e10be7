//! Envoy's configuration for `up` and `bench --relays`, rendered from the shipped templates
//! (`envoy/edge.yaml`, `envoy/cluster.yaml`) by [`prw_devkit::envoy_template`] (the same
//! rendering the e2e suites use): the listener (`port_value: 9201`), the admin (`port_value:
//! 9901`), the upstream relay (`port_value: 9202`, edge.yaml) or the relay endpoints (one line
//! per relay, cluster.yaml), and the filter's path (made absolute so Envoy runs from any
//! directory).
//!
//! Invariant: a rendered config has exactly one listener, one admin and one upstream (the
//! edge relay, or the cluster's endpoint lines); anything else is refused.

use std::net::SocketAddr;
use std::path::Path;

use prw_devkit::envoy_template::{self, Substitutions};

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
    let relay_ports: Vec<u16> = relays.iter().map(SocketAddr::port).collect();
    let wasm = wasm.to_string_lossy();
    let subs = Substitutions {
        ports: vec![
            ("port_value: 9201", listen.edge.port()),
            ("port_value: 9901", listen.admin.port()),
            (
                "port_value: 9202",
                relay_ports.first().copied().unwrap_or(0),
            ),
        ],
        relays: Some(&relay_ports),
        wasm: Some(&wasm),
    };
    let out = envoy_template::render(template, &subs);
    let [listener, admin, edge_upstream] = out.port_lines[..] else {
        return Err(RenderError("three port substitutions expected".into()));
    };
    if edge_upstream > 0 && relays.len() != 1 {
        return Err(RenderError(format!(
            "edge.yaml has one upstream, {} relays were asked for",
            relays.len()
        )));
    }
    let upstream = edge_upstream + usize::from(out.relay_lines);
    if (listener, admin, upstream) != (1, 1, 1) {
        return Err(RenderError(format!(
            "the template should have one listener, one admin and one upstream port line; \
             found {listener}, {admin} and {upstream}"
        )));
    }
    Ok(out.text)
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
