//! The disk cap under both policies, with exact counts.

use std::sync::Arc;

use prw_wal::{FullPolicy, Position, StartAt, Wal, WalError};

use super::harness::{drain, small};

/// Every record is 16 + 84 = 100 bytes; a segment (24 + 3 records) holds 3 records in 324 bytes.
fn cfg(policy: FullPolicy) -> prw_wal::WalConfig {
    let mut c = small(324);
    c.max_bytes = 1000;
    c.full = policy;
    c
}

#[test]
fn block_policy_fails_at_once_with_full_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), cfg(FullPolicy::Block)).unwrap();
    wal.add_consumer("a", StartAt::Oldest).unwrap();
    // 3 full segments = 972 bytes; the 10th record needs a new segment: 24 + 100 more.
    for i in 0..9 {
        assert_eq!(wal.append(&[i; 84]).unwrap(), Position(u64::from(i)));
    }
    let err = wal.append(&[9; 84]).unwrap_err();
    assert!(err.is_full());
    assert!(matches!(
        err,
        WalError::Full {
            used: 972,
            max_bytes: 1000,
            needed: 124
        }
    ));
    // A consumer making progress frees space.
    wal.commit("a", Position(2)).unwrap();
    assert_eq!(wal.append(&[9; 84]).unwrap(), Position(9));
    let got = drain(&mut wal.reader("a").unwrap());
    assert_eq!(
        got.iter().map(|r| r.position.0).collect::<Vec<_>>(),
        (3..10).collect::<Vec<_>>()
    );
    assert_eq!(wal.stats().consumers[0].dropped_records, 0);
}

#[test]
fn drop_oldest_advances_slow_consumers_and_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), cfg(FullPolicy::DropOldest)).unwrap();
    wal.add_consumer("slow", StartAt::Oldest).unwrap();
    wal.add_consumer("mid", StartAt::Oldest).unwrap();
    wal.add_consumer("fast", StartAt::Oldest).unwrap();
    for i in 0..9 {
        wal.append(&[i; 84]).unwrap();
    }
    let mut slow = wal.reader("slow").unwrap();
    let mut mid = wal.reader("mid").unwrap();
    let read = drain(&mut mid);
    mid.commit(read[1].position).unwrap(); // mid has 0 and 1
    wal.commit("fast", Position(8)).unwrap(); // fast has everything
    // Segment 0 (records 0..3) must go: slow loses 3 records, mid loses 1 (record 2).
    assert_eq!(wal.append(&[9; 84]).unwrap(), Position(9));
    let stats = wal.stats();
    let by_name = |n: &str| {
        stats
            .consumers
            .iter()
            .find(|c| c.name == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (
            by_name("slow").dropped_records,
            by_name("slow").dropped_bytes
        ),
        (3, 3 * 84)
    );
    assert_eq!(
        (by_name("mid").dropped_records, by_name("mid").dropped_bytes),
        (1, 84)
    );
    assert_eq!(
        (
            by_name("fast").dropped_records,
            by_name("fast").dropped_bytes
        ),
        (0, 0)
    );
    assert!(stats.bytes_on_disk <= 1000);
    assert_eq!(stats.first, Some(Position(3)));
    // The slow reader, opened before the drop, jumps to the oldest record left.
    let got = drain(&mut slow);
    assert_eq!(got.first().unwrap().position, Position(3));
    assert_eq!(got.len(), 7);
    // The mid reader had read ahead; rewinding takes it to its (moved) cursor.
    mid.rewind();
    assert_eq!(mid.try_next().unwrap().unwrap().position, Position(3));
    // Loss is persisted in the cursor: reopen resumes after the drop.
    drop((mid, slow));
    drop(wal);
    let (wal, report) = Wal::open(dir.path(), cfg(FullPolicy::DropOldest)).unwrap();
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(
        wal.stats()
            .consumers
            .iter()
            .map(|c| c.next.0)
            .collect::<Vec<_>>(),
        vec![9, 3, 3]
    );
}

#[test]
fn drop_oldest_without_consumers_counts_unconsumed_loss() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), cfg(FullPolicy::DropOldest)).unwrap();
    for i in 0..12 {
        wal.append(&[i; 84]).unwrap();
    }
    let stats = wal.stats();
    assert_eq!(
        (
            stats.unconsumed_dropped_records,
            stats.unconsumed_dropped_bytes
        ),
        (3, 3 * 84)
    );
    assert_eq!(stats.first, Some(Position(3)));
}

#[test]
fn record_that_can_never_fit_under_the_cap_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (wal, _) = Wal::open(dir.path(), cfg(FullPolicy::DropOldest)).unwrap();
    assert!(matches!(
        wal.append(&[0; 990]),
        Err(WalError::RecordTooLarge { len: 990, .. })
    ));
}

/// The real filesystem, except that deleting files and opening cursor files for writing block
/// while the gate is held.
#[derive(Debug, Default)]
struct GatedStorage {
    held: std::sync::Mutex<bool>,
    released: std::sync::Condvar,
    waiting: std::sync::atomic::AtomicUsize,
}

impl GatedStorage {
    fn pass(&self) {
        let mut held = self.held.lock().unwrap();
        while *held {
            self.waiting
                .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            held = self.released.wait(held).unwrap();
            self.waiting
                .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn set(&self, held: bool) {
        *self.held.lock().unwrap() = held;
        self.released.notify_all();
    }
}

impl prw_wal::Storage for GatedStorage {
    fn create(&self, p: &std::path::Path) -> std::io::Result<Arc<dyn prw_wal::StorageFile>> {
        prw_wal::RealStorage.create(p)
    }
    fn open_append(&self, p: &std::path::Path) -> std::io::Result<Arc<dyn prw_wal::StorageFile>> {
        prw_wal::RealStorage.open_append(p)
    }
    fn open_write(&self, p: &std::path::Path) -> std::io::Result<Arc<dyn prw_wal::StorageFile>> {
        self.pass();
        prw_wal::RealStorage.open_write(p)
    }
    fn open_read(&self, p: &std::path::Path) -> std::io::Result<Box<dyn prw_wal::ReadFile>> {
        prw_wal::RealStorage.open_read(p)
    }
    fn len(&self, p: &std::path::Path) -> std::io::Result<u64> {
        prw_wal::RealStorage.len(p)
    }
    fn rename(&self, a: &std::path::Path, b: &std::path::Path) -> std::io::Result<()> {
        prw_wal::RealStorage.rename(a, b)
    }
    fn remove(&self, p: &std::path::Path) -> std::io::Result<()> {
        self.pass();
        prw_wal::RealStorage.remove(p)
    }
    fn create_dir_all(&self, p: &std::path::Path) -> std::io::Result<()> {
        prw_wal::RealStorage.create_dir_all(p)
    }
    fn list(&self, d: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
        prw_wal::RealStorage.list(d)
    }
    fn sync_dir(&self, d: &std::path::Path) -> std::io::Result<()> {
        prw_wal::RealStorage.sync_dir(d)
    }
    fn capacity(&self, d: &std::path::Path) -> std::io::Result<Option<u64>> {
        prw_wal::RealStorage.capacity(d)
    }
}

#[test]
fn drop_oldest_deletes_and_stores_cursors_without_blocking_appenders() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let gate = Arc::new(GatedStorage::default());
    let mut config = cfg(FullPolicy::DropOldest);
    config.storage = Arc::clone(&gate) as Arc<dyn prw_wal::Storage>;
    let wal = Arc::new(Wal::open(dir.path(), config).unwrap().0);
    wal.add_consumer("slow", StartAt::Oldest).unwrap();
    for i in 0..9 {
        wal.append(&[i; 84]).unwrap();
    }
    gate.set(true);
    // This append must drop segment 0: it blocks in the delete (or the cursor store) ...
    let dropper = {
        let wal = Arc::clone(&wal);
        std::thread::spawn(move || wal.append(&[9; 84]).unwrap())
    };
    while gate.waiting.load(Ordering::SeqCst) == 0 {
        std::thread::yield_now();
    }
    // ... while other appends (taking the room it freed) and stats go ahead.
    assert_eq!(wal.append(&[10; 84]).unwrap(), Position(9));
    assert_eq!(wal.stats().consumers[0].dropped_records, 3);
    gate.set(false);
    assert_eq!(dropper.join().unwrap(), Position(10));
    let got = drain(&mut wal.reader("slow").unwrap());
    assert_eq!(got.first().unwrap().position, Position(3));
}
