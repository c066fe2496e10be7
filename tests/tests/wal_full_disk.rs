//! `prw relay` with its WAL on a real, small filesystem (a 24 MiB tmpfs this test mounts):
//! under load with its destination down it fills the disk, answers 503 + `Retry-After: 5`
//! (every 503 counted once as `wal_full`, none of its samples ever delivered) and
//! acknowledges nothing it could not persist; when the destination comes back it delivers,
//! frees segments and accepts writes again without a restart, and the receiver ends with
//! every acknowledged sample. Also: a second relay on the same WAL directory exits 64 naming
//! the directory and the first relay's pid, before touching anything.
//!
//! Mounting needs root (CAP_SYS_ADMIN), as in CI. Where mounting is impossible the test prints
//! why and passes without running, except with `CI=true`, where it fails.
//!
//! Tools: `$PRW_BIN` (else `target/debug/prw` or `dist/prw`; `cargo build -p prw` first).

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use prw_e2e::load::Load;
use prw_e2e::pairs::of_recorded;
use prw_e2e::receiver::{BlockingReceiver, ReceiverConfig};
use prw_e2e::relay::{self, Relay};
use prw_e2e::{child, files, http, tools, wait};

/// Size of the filesystem the WAL lives on.
const DISK: &str = "24m";
/// Other data on that filesystem (as on a shared disk), so the WAL fills it in seconds even
/// with a debug build of the relay.
const BALLAST_BYTES: usize = 20 << 20;
/// Series per load batch.
const SERIES: usize = 2000;

/// A tmpfs mounted on a temporary directory, unmounted (lazily, so it never fails on a busy
/// mount) and removed when dropped, also when the test fails.
struct TmpfsMount {
    dir: tempfile::TempDir,
}

impl TmpfsMount {
    /// Mounts it, or says why it cannot (not root, no mount(8), a sandbox without mounts).
    fn new(size: &str) -> Result<TmpfsMount, String> {
        let dir = tempfile::Builder::new()
            .prefix("prw-full-disk-")
            .tempdir()
            .map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(TmpfsMount { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TmpfsMount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// The relay binary and a mounted small disk, or `None` (skip) outside CI.
fn setup() -> Option<(PathBuf, TmpfsMount)> {
    let bin = relay::bin().unwrap()?;
    match TmpfsMount::new(DISK) {
        Ok(mount) => Some((bin, mount)),
        Err(why) if !tools::in_ci() => {
            eprintln!("skipping: cannot mount a small filesystem ({why})");
            None
        }
        Err(why) => panic!("CI=true but cannot mount a small filesystem: {why}"),
    }
}

fn config(destination: SocketAddr) -> String {
    format!(
        "remote_write:\n  - name: dest\n    url: http://{destination}/api/v1/write\n    \
         remote_timeout: 5s\n    queue_config:\n      max_shards: 2\n      min_shards: 1\n      \
         max_samples_per_send: 10000\n      batch_send_deadline: 200ms\n      \
         min_backoff: 50ms\n      max_backoff: 500ms\n"
    )
}

fn segment_files(wal: &Path) -> usize {
    std::fs::read_dir(wal)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "seg"))
                .count()
        })
        .unwrap_or(0)
}

fn statuses(load: &Load) -> String {
    format!("{:?}", load.report().statuses)
}

#[test]
fn a_full_disk_never_deadlocks_the_relay_and_loses_no_acknowledged_sample() {
    let Some((bin, disk)) = setup() else { return };
    std::fs::write(disk.path().join("ballast"), vec![1u8; BALLAST_BYTES]).unwrap();
    let destination = SocketAddr::from(([127, 0, 0, 1], child::free_port().unwrap()));
    let mut relay = Relay::start_in(&bin, &config(destination), disk.path()).unwrap();
    let wal = relay.wal_dir();

    // Destination down (nothing listens): the WAL fills the disk, then writes get 503.
    let load = Load::start(relay.addr(), "full-disk", SERIES, Duration::ZERO);
    wait::until(
        "503 answers once the disk is full",
        Duration::from_secs(60),
        || {
            let refused = load.report().statuses.get(&503).copied().unwrap_or(0);
            (refused >= 20).then_some(()).ok_or_else(|| statuses(&load))
        },
    )
    .unwrap();
    let full_segments = segment_files(&wal);
    let probe = http::request(
        relay.addr(),
        "POST",
        "/api/v1/write",
        &[
            ("Content-Type", prw_core::negotiate::CONTENT_TYPE_V1),
            ("Content-Encoding", "snappy"),
            ("X-Prometheus-Remote-Write-Version", "0.1.0"),
        ],
        &prw_e2e::payload::v1(&prw_e2e::load::batch("probe", SERIES, 1)),
    )
    .unwrap();
    assert_eq!(probe.status, 503, "{}", probe.text());
    let retry_after: Vec<&str> = probe
        .headers
        .iter()
        .filter(|(n, _)| n == "retry-after")
        .map(|(_, v)| v.as_str())
        .collect();
    // docs/relay-ingest.md: a full disk answers 503 + `Retry-After: 5`.
    assert_eq!(
        retry_after,
        ["5"],
        "the full disk's 503: {:?}",
        probe.headers
    );
    let metrics = relay.metrics().unwrap();
    let wal_full = http::metric_sum_where(&metrics, "prw_ingest_rejected_total", |l| {
        l.contains("wal_full")
    })
    .unwrap_or(0.0);
    assert!(wal_full > 0.0, "503s not counted as wal_full:\n{metrics}");

    // The destination comes back: delivery frees segments and writes are accepted again,
    // by the same relay process.
    let receiver =
        BlockingReceiver::start_on(destination, ReceiverConfig::default().recording()).unwrap();
    let acked_when_back = load.report().statuses.get(&204).copied().unwrap_or(0)
        + load.report().statuses.get(&200).copied().unwrap_or(0);
    wait::until("writes accepted again", Duration::from_secs(60), || {
        let ok = load.report().statuses.get(&204).copied().unwrap_or(0)
            + load.report().statuses.get(&200).copied().unwrap_or(0);
        (ok >= acked_when_back + 20)
            .then_some(())
            .ok_or_else(|| statuses(&load))
    })
    .unwrap();
    let report = load.stop();
    assert!(
        report.statuses.keys().all(|s| matches!(s, 200 | 204 | 503)),
        "unexpected answers: {:?}",
        report.statuses
    );
    // Every 503 is a full disk, counted once as such: the load's 503s and the probe's are
    // exactly the relay's `wal_full` rejections, and it rejected nothing else.
    let metrics = relay.metrics().unwrap();
    let rejected = |keep: &dyn Fn(&str) -> bool| {
        http::metric_sum_where(&metrics, "prw_ingest_rejected_total", keep).unwrap_or(0.0)
    };
    let answered_503 = report.statuses.get(&503).copied().unwrap_or(0) + 1;
    assert_eq!(
        rejected(&|l| l.contains("reason=\"wal_full\"")),
        answered_503 as f64,
        "503 answers (load and probe) vs wal_full rejections:\n{metrics}"
    );
    assert_eq!(
        rejected(&|_| true),
        answered_503 as f64,
        "rejections other than wal_full:\n{metrics}"
    );
    // Every acknowledged pair arrives.
    let delivered = wait::until(
        "every acknowledged pair at the receiver",
        Duration::from_secs(60),
        || {
            let got = of_recorded(&receiver.recorded()).unwrap();
            let (missing, examples) = got.missing_from(&report.acked);
            (missing == 0)
                .then_some(got)
                .ok_or_else(|| format!("{missing} missing, e.g. {examples:?}"))
        },
    )
    .unwrap();
    assert!(report.acked.unique_count() > 0);
    // Nothing answered 503 was stored: none of those pairs ever arrives.
    let (never_arrived, _) = delivered.missing_from(&report.refused);
    assert_eq!(
        never_arrived,
        report.refused.unique_count(),
        "pairs answered 503 reached the receiver"
    );
    assert!(report.refused.unique_count() > 0);
    let extra = report.sent.missing_from(&delivered).0;
    assert_eq!(extra, 0, "the receiver got pairs nobody sent");
    // Delivered segments were deleted while the relay kept running.
    wait::until("delivered segments freed", Duration::from_secs(30), || {
        let now = segment_files(&wal);
        (now < full_segments)
            .then_some(())
            .ok_or_else(|| format!("{now} segment files (was {full_segments} when full)"))
    })
    .unwrap();
    let lines = relay.log();
    assert!(
        !lines.contains("committing the WAL cursor failed")
            && !lines.contains("saving shard progress failed"),
        "a cursor or progress commit failed:\n{}",
        relay.log_tail(40)
    );
    assert_eq!(relay.terminate(Duration::from_secs(15)), Some(0));
}

#[test]
fn a_second_relay_on_the_same_wal_directory_exits_64_naming_it_and_the_holder() {
    let Some(bin) = relay::bin().unwrap() else {
        return;
    };
    let destination = SocketAddr::from(([127, 0, 0, 1], child::free_port().unwrap()));
    let first = Relay::start(&bin, &config(destination)).unwrap();
    let before = files::listing(&first.wal_dir()).unwrap();
    let mut args = first.args();
    if let Some(i) = args.iter().position(|a| a == "--listen") {
        args[i + 1] = "127.0.0.1:0".to_string();
    }
    let mut second = Command::new(&bin)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = second.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = second.kill();
            let _ = second.wait();
            panic!("the second relay did not exit: it shares the WAL directory");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut second.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(64), "{stderr}");
    let pid = std::fs::read_to_string(first.wal_dir().join(prw_wal::LOCK_FILE)).unwrap();
    assert!(
        stderr.contains(&first.wal_dir().display().to_string())
            && stderr.contains("in use by another process")
            && stderr.contains(&format!("pid {}", pid.trim())),
        "{stderr}"
    );
    let after = files::listing(&first.wal_dir()).unwrap();
    assert_eq!(before, after, "the refused relay touched the WAL directory");
}
