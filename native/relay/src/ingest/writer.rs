//! The WAL writer: one thread that appends every accepted request and hands it to the tail.
//!
//! Request tasks send their record (head, and the body as received), its decoded form and a
//! reply channel; the thread takes everything pending at once, appends it with one
//! `Wal::append_batch_parts` (vectored writes, the body never copied; one fsync for the
//! group under `sync: always`), inserts the records into
//! the tail in seq order right after that, and only then answers every request. So a request
//! costs one hand-off to this thread and one wake-up back, whatever the number of requests
//! sharing the fsync, instead of a blocking-pool thread each waiting on the WAL's lock.
//!
//! Invariants: a reply `Ok(seq)` means record `seq` is durable (under `sync: always`) and in
//! the tail; records enter the tail in the order of their seqs; a failed append answers
//! every request of its group with the same error (some of them may have been written:
//! they are never acknowledged, and the tail sends readers to the WAL for them).

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use bytes::Bytes;
use prw_wal::{Wal, WalError};
use tokio::sync::oneshot;

use super::rejection::Rejection;
use crate::record::DecodedRecord;
use crate::tail::Tail;

/// Most records appended as one group.
const MAX_GROUP_RECORDS: usize = 1024;
/// Most bytes appended as one group (a group is written before its fsync).
const MAX_GROUP_BYTES: usize = 64 << 20;

/// One request's record (head and body), waiting to be appended.
struct Job {
    head: Vec<u8>,
    body: Bytes,
    decoded: DecodedRecord,
    reply: oneshot::Sender<Result<u64, Rejection>>,
}

/// The sending side; dropping the last one ends the thread once it has answered everything.
#[derive(Debug)]
pub(crate) struct WalWriter {
    tx: mpsc::Sender<Job>,
    _thread: JoinHandle<()>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("record_bytes", &(self.head.len() + self.body.len()))
            .finish()
    }
}

impl WalWriter {
    /// Starts the thread appending to `wal` and inserting into `tail`.
    pub(crate) fn spawn(wal: Arc<Wal>, tail: Arc<Tail>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wal-writer".into())
            .spawn(move || run(&wal, &tail, &rx))?;
        Ok(WalWriter {
            tx,
            _thread: thread,
        })
    }

    /// Appends the WAL record `head` + `body` (the encoded record of `decoded`); returns its
    /// seq once durable and in the tail.
    pub(crate) async fn write(
        &self,
        head: Vec<u8>,
        body: Bytes,
        decoded: DecodedRecord,
    ) -> Result<u64, Rejection> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                head,
                body,
                decoded,
                reply,
            })
            .map_err(|_| Rejection::Internal)?;
        answer.await.map_err(|_| Rejection::Internal)?
    }
}

fn run(wal: &Wal, tail: &Tail, rx: &mpsc::Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut bytes = first.head.len() + first.body.len();
        let mut jobs = vec![first];
        while jobs.len() < MAX_GROUP_RECORDS && bytes < MAX_GROUP_BYTES {
            match rx.try_recv() {
                Ok(job) => {
                    bytes = bytes.saturating_add(job.head.len() + job.body.len());
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        append(wal, tail, jobs);
    }
}

fn append(wal: &Wal, tail: &Tail, jobs: Vec<Job>) {
    let appended = {
        let parts: Vec<[&[u8]; 2]> = jobs.iter().map(|j| [j.head.as_slice(), &j.body]).collect();
        let records: Vec<&[&[u8]]> = parts.iter().map(|p| p.as_slice()).collect();
        wal.append_batch_parts(&records)
    };
    match appended {
        Ok(positions) if positions.len() == jobs.len() => {
            for (job, position) in jobs.into_iter().zip(positions) {
                tail.insert(Arc::new(job.decoded.at_seq(position.0)));
                // A request whose client left still counts as stored: nothing to undo.
                let _ = job.reply.send(Ok(position.0));
            }
        }
        result => {
            let error = Arc::new(match result {
                Err(error) => error,
                Ok(_) => WalError::Poisoned,
            });
            // Some records of the group may be in the WAL: readers fetch them from there.
            tail.skip_to(wal.stats().next.0);
            for job in jobs {
                let _ = job.reply.send(Err(Rejection::from_shared_wal(&error)));
            }
        }
    }
}
