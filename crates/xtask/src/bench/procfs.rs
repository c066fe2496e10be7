//! CPU time and peak memory of a process from `/proc` (Linux).
//!
//! CPU seconds are `utime + stime` (fields 14 and 15 of `/proc/<pid>/stat`, counted after
//! the `)` that ends the command name, which may itself contain spaces) divided by the
//! clock tick rate (`getconf CLK_TCK`, 100 when unknown). Peak RSS is `VmHWM` of
//! `/proc/<pid>/status`.

use crate::probe;

/// CPU time a process has used so far, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CpuTime {
    /// `utime`: user space.
    pub user: f64,
    /// `stime`: in the kernel on the process's behalf (syscalls, page faults, wake-ups).
    pub system: f64,
}

impl CpuTime {
    /// User + system.
    pub fn total(self) -> f64 {
        self.user + self.system
    }

    /// What was used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// CPU time (user and system) the process has used so far; `None` once it is gone.
pub fn cpu_time(pid: u32) -> Option<CpuTime> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (user, system) = parse_cpu_ticks(&stat)?;
    let tick = clock_ticks();
    Some(CpuTime {
        user: user as f64 / tick,
        system: system as f64 / tick,
    })
}

/// CPU seconds (user + system) the process has used so far; `None` once it is gone.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    cpu_time(pid).map(CpuTime::total)
}

/// `(utime, stime)` in ticks from the text of `/proc/<pid>/stat`.
fn parse_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime, stime))
}

/// Peak resident set size in bytes; `None` once the process is gone.
pub fn peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_vm_hwm(&status)
}

fn parse_vm_hwm(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn clock_ticks() -> f64 {
    probe::output("getconf", &["CLK_TCK"])
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_a_command_name_with_spaces_and_parens() {
        let stat = "1234 (my (odd) prog) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 4 0";
        assert_eq!(parse_cpu_ticks(stat), Some((250, 37)));
    }

    #[test]
    fn peak_rss_is_vm_hwm_in_bytes() {
        let status = "Name:\tvmagent\nVmPeak:\t  900 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(parse_vm_hwm(status), Some(51200 * 1024));
    }

    #[test]
    fn own_process_has_cpu_time_and_peak_rss() {
        let pid = std::process::id();
        assert!(cpu_seconds(pid).is_some());
        assert!(peak_rss_bytes(pid).unwrap() > 0);
    }
}
