//! The machine a run happened on: CPU model and count, memory, the disk that holds the
//! relays' data, the kernel, the date.

use std::path::Path;

use crate::probe;

/// A description for `BENCHMARKS.md`.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `2 x Intel(R) Xeon(R) ...`.
    pub cpu: String,
    /// `23.5 GiB`.
    pub memory: String,
    /// `ext4 /dev/vda1 (100G, 40G free)`.
    pub disk: String,
    /// `uname -sr`.
    pub kernel: String,
    /// UTC date and time.
    pub date: String,
    /// Load average when the run started (other work on the machine skews the figures).
    pub load_average: String,
}

/// Describes this machine; `data_dir` is where the relays keep their data.
pub fn describe(data_dir: &Path) -> Machine {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .and_then(|r| r.split_once(':'))
                .map(|(_, m)| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let dir = data_dir.to_string_lossy();
    let disk = probe::output("df", &["-hT", &dir])
        .and_then(|out| {
            let line = out.lines().nth(1)?.to_owned();
            let f: Vec<&str> = line.split_whitespace().collect();
            match f.as_slice() {
                [dev, fs, size, _used, avail, ..] => {
                    Some(format!("{fs} on {dev} ({size}, {avail} free)"))
                }
                _ => Some(line),
            }
        })
        .unwrap_or_else(|| "unknown".into());
    Machine {
        cpu: format!("{cores} x {model}"),
        memory: format!("{:.1} GiB", mem_kib as f64 / 1024.0 / 1024.0),
        disk,
        kernel: probe::output("uname", &["-sr"])
            .map_or_else(|| "unknown".into(), |s| s.trim().to_owned()),
        date: probe::output("date", &["-u", "+%Y-%m-%d %H:%M UTC"])
            .map_or_else(|| "unknown".into(), |s| s.trim().to_owned()),
        load_average: std::fs::read_to_string("/proc/loadavg")
            .ok()
            .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
            .unwrap_or_else(|| "unknown".into()),
    }
}
