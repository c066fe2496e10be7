//! `prw wal inspect DIR`.

use std::path::Path;
use std::process::ExitCode;

use crate::exit;

/// Prints the inspection; exit 0, or 2 when the directory cannot be read.
pub fn run(dir: &Path) -> ExitCode {
    let found = match prw_wal::inspect(dir) {
        Ok(found) => found,
        Err(err) => {
            eprintln!("prw wal inspect: {err}");
            return super::error_code(&err);
        }
    };
    println!("wal {}", dir.display());
    println!("  bytes on disk: {}", found.bytes_on_disk());
    println!("  segments: {}", found.segments.len());
    let pos = |p: Option<u64>| p.map_or_else(|| "-".to_owned(), |p| p.to_string());
    println!("  first record: {}", pos(found.first));
    println!("  last record: {}", pos(found.last));
    for s in &found.segments {
        let name = s
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        let range = if s.records == 0 {
            "empty".to_owned()
        } else {
            format!("records {}..={}", s.first, s.first + s.records - 1)
        };
        println!(
            "  segment {name}: {} bytes, {range}, {} payload bytes",
            s.bytes, s.payload_bytes
        );
    }
    if found.cursors.is_empty() {
        println!("  cursors: none");
    }
    for c in &found.cursors {
        match &c.next {
            Ok(next) => println!(
                "  cursor {}: next {next}, lag {} records",
                c.name, c.lag_records
            ),
            Err(kind) => println!("  cursor {}: unreadable ({kind})", c.name),
        }
    }
    for d in &found.damage {
        let torn = if d.torn_tail { " (torn tail)" } else { "" };
        println!(
            "  DAMAGE {} at offset {}: {}{torn}",
            d.path.display(),
            d.offset,
            d.kind
        );
    }
    ExitCode::from(exit::OK)
}
