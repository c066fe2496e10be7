//! Sealing the active segment, and the bookkeeping of a failure that leaves it in doubt.
//! Below both `append` (rotation, a full disk) and `retention` (drop-oldest seals the active
//! segment before dropping it), so neither imports the other for it.
//!
//! Locking: both run under the state lock. Sealing's `fdatasync` does too, on purpose: it
//! must finish before `synced_seq` moves and before the next segment is created (segments are
//! sealed in order), and appenders could not write meanwhile anyway (the next segment does
//! not exist yet). It is rare (once per segment, on a full disk, or when drop-oldest seals)
//! and cheap under `SyncPolicy::Always`, where group commit already synced every record of
//! the segment; the per-append fsync of group commit is the one that runs with the lock
//! released.
//!
//! Invariant: after `mark_broken` under `SyncPolicy::Always`, no record above `synced_seq`
//! of the broken file is ever acknowledged (a generation bump discards them).

use crate::config::SyncPolicy;
use crate::error::WalError;
use crate::shared::{Failure, Shared, State};

impl Shared {
    /// Makes everything in the active segment durable and stops appending to it.
    pub(crate) fn seal_active(&self, st: &mut State) -> Result<(), WalError> {
        let Some(active) = st.active.as_ref() else {
            return Ok(());
        };
        let path = st
            .segments
            .back()
            .map(|s| s.path.clone())
            .unwrap_or_default();
        if let Err(source) = self.before_sync().and_then(|()| active.file.sync_data()) {
            self.mark_broken(st, Failure::new("fdatasync", &path, &source));
            return Err(WalError::Io {
                op: "fdatasync",
                path,
                source,
            });
        }
        st.synced_seq = st.next_seq;
        st.active = None;
        self.synced.notify_all();
        self.appended.notify_all();
        Ok(())
    }

    /// Records a failure that leaves the active file in doubt past its durable length. Under
    /// `Always` the records it did not make durable are discarded now (their appenders get
    /// the error); under `Interval` they were acknowledged and `repair` re-verifies them.
    pub(crate) fn mark_broken(&self, st: &mut State, failure: Failure) {
        st.broken = true;
        if self.config.sync == SyncPolicy::Always && st.next_seq > st.synced_seq {
            let floor = st.synced_seq;
            if let Some(meta) = st.segments.back_mut() {
                meta.records = floor.saturating_sub(meta.first_seq);
            }
            if let (Some(active), Some(meta)) = (st.active.as_ref(), st.segments.back_mut()) {
                meta.len = active.durable_len;
            }
            if let Some(meta) = st.segments.back_mut() {
                meta.cut_index();
            }
            tracing::error!(
                op = failure.op,
                path = %failure.path.display(),
                error = %failure.message,
                discarded = st.next_seq - floor,
                "WAL write or fsync failed: records it did not make durable are discarded (never acknowledged)"
            );
            st.discard_floors.resize(st.generation as usize, floor);
            st.discard_floors.push(floor);
            st.generation += 1;
            st.next_seq = floor;
        }
        st.last_failure = Some(failure);
        self.synced.notify_all();
    }
}
