//! A series' label set as text (`{__name__="up", job="api"}`) for reply bodies.
//!
//! Invariant: bounded output (at most [`MAX_TEXT`] bytes plus `...}`), whatever the input;
//! returns `None` when the series index or its labels cannot be read.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use crate::Protocol;

/// Longest label text put into a reply body.
const MAX_TEXT: usize = 512;

/// The labels of series `index` of a decoded body, as `{name="value", ...}`.
pub(crate) fn series_labels(decoded: &[u8], protocol: Protocol, index: usize) -> Option<String> {
    let mut pairs: Vec<(&str, &str)> = Vec::new();
    match protocol {
        Protocol::V1 => {
            use crate::view::v1::{Item, WriteRequest};
            let series = WriteRequest::new(decoded)
                .items()
                .filter_map(|item| match item {
                    Ok(Item::Series(s)) => Some(s),
                    _ => None,
                })
                .nth(index)?;
            for label in series.labels() {
                let label = label.ok()?;
                pairs.push((label.name, label.value));
            }
        }
        Protocol::V2 => {
            use crate::view::v2::{Request, SeriesField};
            let request = Request::new(decoded);
            let mut symbols = Vec::new();
            request.symbols_into(&mut symbols).ok()?;
            let series = request.series().nth(index)?.ok()?;
            let mut refs = Vec::new();
            for field in series.fields() {
                if let SeriesField::LabelsRefs(values) = field.ok()? {
                    for value in values {
                        refs.push(value.ok()?);
                    }
                }
            }
            let symbol = |r: u64| -> &str {
                usize::try_from(r)
                    .ok()
                    .and_then(|i| symbols.get(i))
                    .copied()
                    .unwrap_or("?")
            };
            for pair in refs.chunks(2) {
                let name = pair.first().map_or("?", |r| symbol(*r));
                let value = pair.get(1).map_or("?", |r| symbol(*r));
                pairs.push((name, value));
            }
        }
    }
    let mut text = String::from("{");
    for (i, (name, value)) in pairs.iter().enumerate() {
        if text.len() > MAX_TEXT {
            text.push_str("...");
            break;
        }
        if i > 0 {
            text.push_str(", ");
        }
        let _ = write!(text, "{name}={value:?}");
    }
    text.push('}');
    Some(text)
}
