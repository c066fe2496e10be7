//! fsync held or failed through the `SyncHook` (feature `test-util`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use prw_wal::{Position, StartAt, SyncHook, Wal, WalError};

use super::harness::{drain, small};

/// Blocks every fsync while `held` is true; fails every fsync while `fail` is true.
#[derive(Debug, Default)]
struct Gate {
    held: Mutex<bool>,
    released: Condvar,
    entered: AtomicBool,
    fail: AtomicBool,
    calls: std::sync::atomic::AtomicUsize,
}

impl SyncHook for Gate {
    fn before_sync(&self) -> std::io::Result<()> {
        self.entered.store(true, Ordering::SeqCst);
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut held = self.held.lock().unwrap();
        while *held {
            held = self.released.wait(held).unwrap();
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected fsync failure"));
        }
        Ok(())
    }
}

fn open_with(gate: &Arc<Gate>, dir: &std::path::Path) -> Wal {
    let mut cfg = small(4096);
    cfg.sync_hook = Some(Arc::clone(gate) as Arc<dyn SyncHook>);
    Wal::open(dir, cfg).unwrap().0
}

#[test]
fn append_does_not_return_while_fsync_is_held() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let wal = Arc::new(open_with(&gate, dir.path()));
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    *gate.held.lock().unwrap() = true;
    let (tx, rx) = mpsc::channel();
    let w = Arc::clone(&wal);
    let t = std::thread::spawn(move || tx.send(w.append(b"held")).unwrap());
    while !gate.entered.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    // The appender is inside fsync: no acknowledgement, and readers see nothing durable.
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err());
    assert!(drain(&mut wal.reader("a").unwrap()).is_empty());
    *gate.held.lock().unwrap() = false;
    gate.released.notify_all();
    assert_eq!(rx.recv().unwrap().unwrap(), Position(0));
    t.join().unwrap();
    assert_eq!(drain(&mut wal.reader("a").unwrap()).len(), 1);
}

#[test]
fn failed_fsync_fails_the_append_and_the_next_append_repairs_without_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    {
        let wal = open_with(&gate, dir.path());
        wal.add_consumer("r", StartAt::Oldest).unwrap();
        wal.append(b"ok").unwrap();
        gate.fail.store(true, Ordering::SeqCst);
        assert!(matches!(
            wal.append(b"lost"),
            Err(WalError::Io {
                op: "fdatasync",
                ..
            })
        ));
        let stats = wal.stats();
        assert!(stats.repairing && !stats.poisoned, "{stats:?}");
        // While fsync keeps failing nothing is acknowledged.
        assert!(wal.append(b"still failing").is_err());
        gate.fail.store(false, Ordering::SeqCst);
        // The failed record's position is reused: it was never acknowledged nor readable.
        assert_eq!(wal.append(b"later").unwrap(), Position(1));
        assert!(!wal.stats().repairing);
        let got: Vec<Vec<u8>> = drain(&mut wal.reader("r").unwrap())
            .into_iter()
            .map(|r| r.data)
            .collect();
        assert_eq!(got, vec![b"ok".to_vec(), b"later".to_vec()]);
    }
    let (wal, report) = Wal::open(dir.path(), small(4096)).unwrap();
    assert!(report.is_clean(), "{report:?}");
    let got: Vec<Vec<u8>> = drain(&mut wal.reader("r").unwrap())
        .into_iter()
        .map(|r| r.data)
        .collect();
    assert_eq!(got, vec![b"ok".to_vec(), b"later".to_vec()]);
}

#[test]
fn waiters_sharing_a_failed_fsync_all_get_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let wal = Arc::new(open_with(&gate, dir.path()));
    gate.fail.store(true, Ordering::SeqCst);
    *gate.held.lock().unwrap() = true;
    let threads: Vec<_> = (0..4u8)
        .map(|i| {
            let w = Arc::clone(&wal);
            std::thread::spawn(move || w.append(&[i]))
        })
        .collect();
    while !gate.entered.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    *gate.held.lock().unwrap() = false;
    gate.released.notify_all();
    for t in threads {
        assert!(t.join().unwrap().is_err());
    }
}

#[test]
fn concurrent_appenders_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(Gate::default());
    let wal = Arc::new(open_with(&gate, dir.path()));
    *gate.held.lock().unwrap() = true;
    let threads: Vec<_> = (0..8u8)
        .map(|i| {
            let w = Arc::clone(&wal);
            std::thread::spawn(move || w.append(&[i]).unwrap())
        })
        .collect();
    // Wait until all eight records are written while the first fsync is held.
    while wal.stats().next != Position(8) {
        std::thread::yield_now();
    }
    *gate.held.lock().unwrap() = false;
    gate.released.notify_all();
    for t in threads {
        t.join().unwrap();
    }
    // The held fsync covered the first leader's records; one more covered the other seven.
    assert_eq!(gate.calls.load(Ordering::SeqCst), 2);
    assert_eq!(wal.stats().durable, Position(8));
}
