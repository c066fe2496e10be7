//! The example payloads in `envoy/examples/` (used by the quick start in docs/filter.md) are
//! exactly what the payload builder makes. Regenerate with `PRW_REGENERATE_EXAMPLES=1`.

use prw_e2e::payload::{Series, v1, v2};
use prw_e2e::tools::workspace_root;

/// 2023-11-14T22:13:20Z: fixed so the files never change.
const T: i64 = 1_700_000_000_000;

fn examples() -> Vec<(&'static str, Vec<u8>)> {
    let up = Series::new(
        &[("__name__", "up"), ("instance", "host-1"), ("job", "node")],
        &[(T, 1.0)],
    );
    let unsorted = Series::new(
        &[("__name__", "up"), ("job", "node"), ("instance", "host-1")],
        &[(T, 1.0)],
    );
    vec![
        ("valid-v1.bin", v1(std::slice::from_ref(&up))),
        ("valid-v2.bin", v2(std::slice::from_ref(&up))),
        ("unsorted-labels-v1.bin", v1(&[unsorted])),
    ]
}

#[test]
fn example_payloads_match_the_builder() {
    let dir = workspace_root().join("envoy/examples");
    let regenerate = std::env::var_os("PRW_REGENERATE_EXAMPLES").is_some();
    for (name, bytes) in examples() {
        let path = dir.join(name);
        if regenerate {
            std::fs::write(&path, &bytes).unwrap();
        }
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(
            on_disk, bytes,
            "{name} is stale: run with PRW_REGENERATE_EXAMPLES=1"
        );
    }
}
