//! `prw wal inspect DIR`.

use std::path::Path;
use std::process::ExitCode;

use crate::exit;

/// Prints the inspection (text, or JSON with `json`); exit 0, or 2 when the directory cannot
/// be read.
pub fn run(dir: &Path, json: bool) -> ExitCode {
    let found = match prw_wal::inspect(dir) {
        Ok(found) => found,
        Err(err) => {
            eprintln!("prw wal inspect: {err}");
            return super::error_code(&err);
        }
    };
    if json {
        println!("{}", to_json(dir, &found));
        return ExitCode::from(exit::OK);
    }
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

fn to_json(dir: &Path, found: &prw_wal::Inspection) -> serde_json::Value {
    let segments: Vec<_> = found
        .segments
        .iter()
        .map(|s| {
            serde_json::json!({
                "path": s.path.display().to_string(),
                "first": s.first,
                "records": s.records,
                "bytes": s.bytes,
                "payload_bytes": s.payload_bytes,
            })
        })
        .collect();
    let cursors: Vec<_> = found
        .cursors
        .iter()
        .map(|c| match &c.next {
            Ok(next) => {
                serde_json::json!({"name": c.name, "next": next, "lag_records": c.lag_records})
            }
            Err(kind) => serde_json::json!({"name": c.name, "error": kind.to_string()}),
        })
        .collect();
    let damage: Vec<_> = found
        .damage
        .iter()
        .map(|d| {
            serde_json::json!({
                "path": d.path.display().to_string(),
                "offset": d.offset,
                "reason": d.kind.to_string(),
                "torn_tail": d.torn_tail,
            })
        })
        .collect();
    serde_json::json!({
        "dir": dir.display().to_string(),
        "bytes_on_disk": found.bytes_on_disk(),
        "first": found.first,
        "last": found.last,
        "segments": segments,
        "cursors": cursors,
        "damage": damage,
    })
}
