//! A real VictoriaMetrics single node (Debian `victoria-metrics`) as the receiver of the
//! rows that deliver into a real time-series database: it parses, indexes and stores every
//! sample, so these rows show each relay against a receiver that keeps up like production.
//!
//! Delivered samples are read from its own counter `vm_rows_inserted_total` (Remote Write
//! rows). Invariants: it listens on 127.0.0.1 only, its data lives in a directory of the
//! run, and it is killed when its guard drops.

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};

use super::error::BenchError;
use super::process::{Guard, free_port, wait_listening};
use super::receiver::get;

/// A running VictoriaMetrics.
#[derive(Debug)]
pub struct Victoria {
    addr: SocketAddr,
    _guard: Guard,
}

impl Victoria {
    /// Starts `bin` with its data in `dir` and waits until it accepts connections.
    pub fn start(bin: &Path, dir: &Path) -> Result<Victoria, BenchError> {
        let addr = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let mut cmd = Command::new(bin);
        cmd.arg(format!("-storageDataPath={}", dir.join("data").display()))
            .arg(format!("-httpListenAddr={addr}"))
            .arg("-retentionPeriod=100y")
            .arg("-loggerLevel=ERROR")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut guard = Guard::spawn("victoria-metrics", &mut cmd)?;
        wait_listening(&mut guard, addr, 30)?;
        Ok(Victoria {
            addr,
            _guard: guard,
        })
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// Samples stored from Remote Write so far (`vm_rows_inserted_total`, Remote Write types).
    pub fn rows(&self) -> Result<u64, BenchError> {
        let text = get(self.addr, "/metrics").map_err(|source| BenchError::Stats { source })?;
        Ok(remote_write_rows(&text))
    }
}

/// The sum of `vm_rows_inserted_total` over its Remote Write types.
fn remote_write_rows(metrics: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with("vm_rows_inserted_total{") && l.contains("promremotewrite"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_write_rows_sum_only_the_remote_write_types() {
        let text = "vm_rows_inserted_total{type=\"graphite\"} 5\n\
                    vm_rows_inserted_total{type=\"promremotewrite\"} 1200\n\
                    vm_rows_inserted_total{type=\"promremotewrite_v2\"} 30\n\
                    vm_rows_inserted_total_other 9\n";
        assert_eq!(remote_write_rows(text), 1230);
    }
}
