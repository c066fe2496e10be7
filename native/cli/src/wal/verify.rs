//! `prw wal verify DIR`.

use std::path::Path;
use std::process::ExitCode;

use crate::exit;

/// Exit 0 when every CRC checks out, 1 (naming file and offset) on damage, 2 when the
/// directory cannot be read.
pub fn run(dir: &Path) -> ExitCode {
    let found = match prw_wal::inspect(dir) {
        Ok(found) => found,
        Err(err) => {
            eprintln!("prw wal verify: {err}");
            return super::error_code(&err);
        }
    };
    if found.damage.is_empty() {
        let records: u64 = found.segments.iter().map(|s| s.records).sum();
        println!(
            "ok: {} segments, {records} records, {} cursors verified",
            found.segments.len(),
            found.cursors.len()
        );
        return ExitCode::from(exit::OK);
    }
    for d in &found.damage {
        let torn = if d.torn_tail {
            " (torn tail; `open` truncates it)"
        } else {
            ""
        };
        println!(
            "damage: {} at offset {}: {}{torn}",
            d.path.display(),
            d.offset,
            d.kind
        );
    }
    ExitCode::from(exit::FINDINGS)
}
