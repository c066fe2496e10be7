//! Rendering the shipped Envoy templates (`envoy/edge.yaml`, `egress.yaml`, `cluster.yaml`,
//! `cluster-strict.yaml`) for other ports: each template documents the exact strings that may
//! be substituted (`port_value: 9201` for the listener, `port_value: 9901` for the admin,
//! `port_value: 9202` for edge.yaml's upstream, one endpoint line per relay with `port_value:
//! 9211` / `9212` / `9213`, the filter's path `dist/prw_envoy_filter.wasm`).
//!
//! Invariants: every line is classified once, before anything is substituted, so a port
//! written into a line can never be taken for a template port; a line gets at most one port
//! substitution; comment lines are kept as they are; the relay endpoint lines become one line
//! per relay, in order, shaped like the template's first one.

/// The endpoint lines of `envoy/cluster*.yaml`, in order.
pub const RELAY_PORT_LINES: [&str; 3] =
    ["port_value: 9211", "port_value: 9212", "port_value: 9213"];
/// The filter module's path in every template.
pub const WASM_PATH: &str = "dist/prw_envoy_filter.wasm";

/// `port_value: PORT`.
pub fn port_value(port: u16) -> String {
    format!("port_value: {port}")
}

/// What to substitute.
#[derive(Debug, Clone, Default)]
pub struct Substitutions<'a> {
    /// Single port lines: `(template string, new port)`, e.g. `("port_value: 9201", 0)`.
    pub ports: Vec<(&'a str, u16)>,
    /// The relay endpoint lines ([`RELAY_PORT_LINES`]) become one line per port (`None`:
    /// left as they are).
    pub relays: Option<&'a [u16]>,
    /// The filter's path ([`WASM_PATH`]) becomes this (`None`: left as it is).
    pub wasm: Option<&'a str>,
}

/// A rendered template and what was found in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The configuration.
    pub text: String,
    /// Per entry of [`Substitutions::ports`], how many lines held it.
    pub port_lines: Vec<usize>,
    /// Whether the template had relay endpoint lines (and they were replaced).
    pub relay_lines: bool,
}

/// Renders `template` with `subs` (see the module docs).
pub fn render(template: &str, subs: &Substitutions) -> Rendered {
    let mut text = String::with_capacity(template.len());
    let mut port_lines = vec![0; subs.ports.len()];
    let mut relay_lines = false;
    for line in template.lines() {
        let relay_line = RELAY_PORT_LINES.iter().find(|p| line.contains(*p));
        if line.trim_start().starts_with('#') {
            text.push_str(line);
        } else if let Some(k) = subs.ports.iter().position(|(from, _)| line.contains(from)) {
            if let (Some(count), Some((from, port))) = (port_lines.get_mut(k), subs.ports.get(k)) {
                *count += 1;
                text.push_str(&line.replacen(from, &port_value(*port), 1));
            }
        } else if let (Some(from), Some(relays)) = (relay_line, subs.relays) {
            if relay_lines {
                continue;
            }
            relay_lines = true;
            let lines: Vec<String> = relays
                .iter()
                .map(|port| line.replacen(from, &port_value(*port), 1))
                .collect();
            text.push_str(&lines.join("\n"));
        } else {
            match subs.wasm {
                Some(wasm) => text.push_str(&line.replace(WASM_PATH, wasm)),
                None => text.push_str(line),
            }
        }
        text.push('\n');
    }
    Rendered {
        text,
        port_lines,
        relay_lines,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
# port_value: 9201 stays in a comment
admin: { port_value: 9901 }
listener: { port_value: 9201 }
filter: dist/prw_envoy_filter.wasm
  - endpoint: { port_value: 9211 }
  - endpoint: { port_value: 9212 }
  - endpoint: { port_value: 9213 }
";

    #[test]
    fn ports_relays_and_the_filter_path_are_substituted_line_by_line() {
        // The listener moves to 9211, a relay port of the template: never substituted again.
        let subs = Substitutions {
            ports: vec![("port_value: 9201", 9211), ("port_value: 9901", 0)],
            relays: Some(&[7001, 7002, 7003, 7004]),
            wasm: Some("/abs/f.wasm"),
        };
        let out = render(TEMPLATE, &subs);
        assert_eq!(
            out.text,
            "# port_value: 9201 stays in a comment\n\
             admin: { port_value: 0 }\n\
             listener: { port_value: 9211 }\n\
             filter: /abs/f.wasm\n  \
             - endpoint: { port_value: 7001 }\n  \
             - endpoint: { port_value: 7002 }\n  \
             - endpoint: { port_value: 7003 }\n  \
             - endpoint: { port_value: 7004 }\n"
        );
        assert_eq!(out.port_lines, [1, 1]);
        assert!(out.relay_lines);
    }

    #[test]
    fn without_relays_the_endpoint_lines_stay() {
        let out = render(TEMPLATE, &Substitutions::default());
        assert_eq!(out.text, TEMPLATE);
        assert!(!out.relay_lines);
        let absent = render(
            "x: 1\n",
            &Substitutions {
                ports: vec![("port_value: 9202", 1)],
                ..Substitutions::default()
            },
        );
        assert_eq!(absent.port_lines, [0]);
    }
}
