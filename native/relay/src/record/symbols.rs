//! The symbol table of a v2 record, shared by the v2 items cut from it: a v2 series item
//! keeps its series bytes as received (refs into this table) and the v2 encoder maps the
//! refs into each batch's own table, so a v2 record reaches a v2 destination without ever
//! being converted to v1.
//!
//! Invariant: `get(r)` is symbol `r` of the record's body, `None` past the table.

use std::ops::Range;

use bytes::Bytes;

use super::facts::{FactsError, v2_symbols};

/// A v2 record's symbols, as byte ranges of its decoded body.
#[derive(Debug, Clone)]
pub struct V2Symbols {
    body: Bytes,
    ranges: Vec<Range<usize>>,
    series: usize,
}

impl V2Symbols {
    /// The symbols of the v2 request `body`, which holds `series` series.
    pub fn parse(body: &Bytes, series: usize) -> Result<Self, FactsError> {
        Ok(V2Symbols {
            ranges: v2_symbols(body)?,
            body: body.clone(),
            series,
        })
    }

    /// How many series the record holds (an encoder reuses the whole table for a batch
    /// holding most of them).
    pub fn series(&self) -> usize {
        self.series
    }

    /// Symbol `reference`.
    #[inline]
    pub fn get(&self, reference: u64) -> Option<&[u8]> {
        let range = self.ranges.get(usize::try_from(reference).ok()?)?;
        self.body.get(range.clone())
    }

    /// Number of symbols.
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    /// A table of the given strings (for tests and benchmarks).
    pub fn from_strings<'a>(strings: impl IntoIterator<Item = &'a str>) -> Self {
        let mut body = Vec::new();
        let mut ranges = Vec::new();
        for s in strings {
            let start = body.len();
            body.extend_from_slice(s.as_bytes());
            ranges.push(start..body.len());
        }
        V2Symbols {
            body: Bytes::from(body),
            ranges,
            series: 0,
        }
    }
}
