//! The workspace's test receiver (`prw-test-receiver`, from `tests/`) as the benchmark's
//! null receiver: answers 204 to every write on 127.0.0.1; with `--decode` it also decodes
//! each body and counts samples and unique (series, timestamp) pairs, read from
//! `GET /-/stats`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::error::BenchError;
use super::process::{Guard, announced_addr};

/// A running test receiver.
#[derive(Debug)]
pub struct NullReceiver {
    addr: SocketAddr,
    _guard: Guard,
}

/// What it has counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Write requests received.
    pub requests: u64,
    /// Samples decoded (repeats included); 0 without `--decode`.
    pub samples: u64,
    /// Distinct (series, timestamp) pairs; 0 without `--decode`.
    pub unique_pairs: u64,
}

impl NullReceiver {
    /// Starts `bin` on 127.0.0.1:0, decoding when `decode`.
    pub fn start(bin: &Path, decode: bool) -> Result<NullReceiver, BenchError> {
        let mut cmd = Command::new(bin);
        cmd.args(["--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if decode {
            cmd.arg("--decode");
        }
        let mut guard = Guard::spawn("prw-test-receiver", &mut cmd)?;
        let addr = announced_addr(&mut guard, 10)?;
        Ok(NullReceiver {
            addr,
            _guard: guard,
        })
    }

    /// `http://ADDR/api/v1/write`.
    pub fn write_url(&self) -> String {
        format!("http://{}/api/v1/write", self.addr)
    }

    /// The current counts.
    pub fn counts(&self) -> Result<Counts, BenchError> {
        let body = get(self.addr, "/-/stats").map_err(|source| BenchError::Stats { source })?;
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| BenchError::Json {
                what: "the receiver's /-/stats".into(),
                detail: e.to_string(),
            })?;
        let n = |v: &serde_json::Value| v.as_u64().unwrap_or(0);
        Ok(Counts {
            requests: n(&json["requests"]),
            samples: n(&json["decode"]["samples"]),
            unique_pairs: n(&json["decode"]["unique_pairs"]),
        })
    }
}

impl NullReceiver {
    /// Its exact set of distinct (series, timestamp) pairs (`GET /-/pairs`, with `--decode`):
    /// per series (label-set hash), the timestamps.
    pub fn pairs(&self) -> Result<std::collections::BTreeMap<String, Vec<i64>>, BenchError> {
        let body = get(self.addr, "/-/pairs").map_err(|source| BenchError::Stats { source })?;
        serde_json::from_str(&body).map_err(|e| BenchError::Json {
            what: "the receiver's /-/pairs".into(),
            detail: e.to_string(),
        })
    }

    /// Pairs received again (`decode.duplicates` of `GET /-/stats`).
    pub fn duplicates(&self) -> Result<u64, BenchError> {
        let body = get(self.addr, "/-/stats").map_err(|source| BenchError::Stats { source })?;
        let json: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| BenchError::Json {
                what: "the receiver's /-/stats".into(),
                detail: e.to_string(),
            })?;
        Ok(json["decode"]["duplicates"].as_u64().unwrap_or(0))
    }
}

/// A one-shot HTTP/1.1 GET returning the body. Hand-written (a dozen lines) so xtask does
/// not pull in an HTTP client for one local request to a server we control.
pub(super) fn get(addr: SocketAddr, path: &str) -> std::io::Result<String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP body"))
}
