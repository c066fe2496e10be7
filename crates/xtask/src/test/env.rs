//! The environment the tests get: where the artifacts and the external tools are. A
//! variable already set by the caller wins; a path that does not exist is left unset
//! (with a notice), so a test that needs it skips outside CI and fails under `CI=true`.

use crate::dist::Artifacts;
use crate::setup::{envoy_bin, playwright_core_dir};
use std::path::{Path, PathBuf};

/// `(name, value)` pairs for the test processes.
pub fn for_tests(artifacts: &Artifacts) -> Vec<(String, PathBuf)> {
    let wanted: [(&str, Option<PathBuf>); 11] = [
        // This very xtask, for the test that runs `xtask up --relays 3` as a process.
        ("XTASK_BIN", std::env::current_exe().ok()),
        ("PRW_BIN", artifacts.prw.clone()),
        ("PRW_ENVOY_FILTER_WASM", artifacts.envoy_filter.clone()),
        ("PRW_INSPECTOR_DIR", artifacts.inspector.clone()),
        ("ENVOY_BIN", Some(envoy_bin())),
        ("PROMETHEUS_BIN", Some("/usr/bin/prometheus".into())),
        (
            "VICTORIA_METRICS_BIN",
            Some("/usr/bin/victoria-metrics".into()),
        ),
        ("VMAGENT_BIN", Some("/usr/bin/vmagent".into())),
        ("CHROMIUM_BIN", Some("/usr/bin/chromium".into())),
        ("CHROMEDRIVER", Some("/usr/bin/chromedriver".into())),
        ("PLAYWRIGHT_CORE_DIR", Some(playwright_core_dir())),
    ];
    let mut env = Vec::new();
    for (name, path) in wanted {
        if let Some(set) = std::env::var_os(name) {
            eprintln!("    {name}={} (from the caller)", Path::new(&set).display());
            continue;
        }
        match path {
            Some(path) if path.exists() => {
                eprintln!("    {name}={}", path.display());
                env.push((name.to_owned(), path));
            }
            Some(path) => eprintln!("    {name} unset: {} does not exist", path.display()),
            None => eprintln!("    {name} unset: not built"),
        }
    }
    env
}
