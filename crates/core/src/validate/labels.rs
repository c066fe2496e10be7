//! Label-set checks shared by v1 and v2, one label at a time, without allocating.
//!
//! Duplicate names are found by comparing with the previous name while the set is sorted;
//! once it is not, each name is compared with the (up to [`TRACKED`]) names seen so far,
//! kept in a fixed stack array. Beyond that many labels `limits.labels_per_series` has
//! fired anyway (its default is 30).

use super::{Collector, Halt, Rule};
use crate::Limits;
use crate::hash::HashInput;

/// How many names are remembered for duplicate detection in unsorted sets.
const TRACKED: usize = 64;

pub(super) struct LabelState<'a> {
    names: [&'a str; TRACKED],
    count: usize,
    unsorted: bool,
    has_metric_name: bool,
    /// Trick: series of one request mostly carry the same label names in the same order.
    /// `clean` counts the leading names of the current series that are valid, within the
    /// length limit and strictly increasing; `prev_clean` is that count for the previous
    /// series, whose names `names` still holds. While every name so far equals the
    /// previous series' name at the same position (`matching`), the next equal name needs
    /// no charset, length, order or duplicate check: their results cannot differ.
    clean: usize,
    prev_clean: usize,
    matching: bool,
    /// The hash input of the series so far, when facts are wanted.
    hash_input: Option<HashInput>,
}

impl<'a> LabelState<'a> {
    pub(super) fn new(hash: bool) -> Self {
        LabelState {
            names: [""; TRACKED],
            count: 0,
            unsorted: false,
            has_metric_name: false,
            clean: 0,
            prev_clean: 0,
            matching: true,
            hash_input: hash.then(HashInput::new),
        }
    }

    /// Starts a new series, keeping the (already initialised) name array: one state serves
    /// every series of a request.
    pub(super) fn reset(&mut self) {
        self.count = 0;
        self.unsorted = false;
        self.has_metric_name = false;
        self.prev_clean = self.clean;
        self.clean = 0;
        self.matching = true;
        if let Some(h) = self.hash_input.as_mut() {
            h.clear();
        }
    }

    // Called once per label from one loop per schema: inlining saves a call frame per label.
    #[inline(always)]
    pub(super) fn push(
        &mut self,
        c: &mut Collector,
        limits: &Limits,
        series: usize,
        name: &'a str,
        value: &'a str,
    ) -> Result<(), Halt> {
        let at = Some(series);
        if let Some(h) = self.hash_input.as_mut() {
            h.push(name, value);
        }
        let i = self.count;
        let known = self.matching
            && i < self.prev_clean
            && self
                .names
                .get(i)
                .is_some_and(|prev| same_bytes(prev.as_bytes(), name.as_bytes()));
        if known {
            // Only the value can break a rule here (see the struct docs).
            if value.is_empty() || value.len() > limits.max_label_value_bytes {
                report_label(c, limits, at, name, value)?;
            }
            self.check_metric_name(c, at, name, value)?;
            self.clean += 1;
        } else {
            self.matching = false;
            let name_ok = is_valid_label_name(name) && name.len() <= limits.max_label_name_bytes;
            // One branch for the common case where every per-label check passes.
            if !(name_ok && !value.is_empty() && value.len() <= limits.max_label_value_bytes) {
                report_label(c, limits, at, name, value)?;
            }
            self.check_metric_name(c, at, name, value)?;
            let increasing = self.check_order(c, at, name)?;
            if name_ok && increasing && self.clean == i && i < TRACKED {
                self.clean += 1;
            }
            if let Some(slot) = self.names.get_mut(i) {
                *slot = name;
            }
        }
        self.count += 1;
        if self.count == limits.max_labels_per_series.saturating_add(1) {
            c.add(Rule::LimitsLabelsPerSeries, at, None, None)?;
        }
        Ok(())
    }

    fn check_metric_name(
        &mut self,
        c: &mut Collector,
        at: Option<usize>,
        name: &str,
        value: &str,
    ) -> Result<(), Halt> {
        if is_metric_name_label(name) {
            self.has_metric_name = true;
            if !value.is_empty() && !is_valid_metric_name(value) {
                c.add(Rule::MetricNameInvalid, at, None, Some(name))?;
            }
        }
        Ok(())
    }

    /// Order and duplicate checks against the names seen so far; whether `name` comes
    /// strictly after the previous one (or is the first).
    fn check_order(
        &mut self,
        c: &mut Collector,
        at: Option<usize>,
        name: &'a str,
    ) -> Result<bool, Halt> {
        let seen = self.names.get(..self.count.min(TRACKED)).unwrap_or(&[]);
        let Some(prev) = seen.last().copied().filter(|_| self.count <= TRACKED) else {
            return Ok(self.count == 0);
        };
        match compare(name.as_bytes(), prev.as_bytes()) {
            core::cmp::Ordering::Equal => {
                c.add(Rule::LabelsDuplicateName, at, None, Some(name))?;
                Ok(false)
            }
            order => {
                if order == core::cmp::Ordering::Less && !self.unsorted {
                    self.unsorted = true;
                    c.add(Rule::LabelsUnsorted, at, None, Some(name))?;
                }
                if self.unsorted && seen.contains(&name) {
                    c.add(Rule::LabelsDuplicateName, at, None, Some(name))?;
                }
                Ok(order == core::cmp::Ordering::Greater && !self.unsorted)
            }
        }
    }

    /// Set-level checks once the series is read.
    pub(super) fn finish(&self, c: &mut Collector, series: usize) -> Result<(), Halt> {
        if self.count == 0 {
            c.add(Rule::LabelsEmpty, Some(series), None, None)?;
        } else if !self.has_metric_name {
            c.add(Rule::MetricNameMissing, Some(series), None, None)?;
        }
        Ok(())
    }

    pub(super) fn hash(&self) -> u64 {
        self.hash_input.as_ref().map_or(0, HashInput::finish)
    }
}

/// The per-label findings of a label that failed the fast combined check, in rule order.
#[cold]
fn report_label(
    c: &mut Collector,
    limits: &Limits,
    at: Option<usize>,
    name: &str,
    value: &str,
) -> Result<(), Halt> {
    if name.is_empty() {
        c.add(Rule::LabelsEmptyName, at, None, Some(name))?;
    } else if !is_valid_label_name(name) {
        c.add(Rule::LabelsInvalidName, at, None, Some(name))?;
    }
    if value.is_empty() {
        c.add(Rule::LabelsEmptyValue, at, None, Some(name))?;
    }
    if name.len() > limits.max_label_name_bytes {
        c.add(Rule::LimitsLabelNameLength, at, None, Some(name))?;
    }
    if value.len() > limits.max_label_value_bytes {
        c.add(Rule::LimitsLabelValueLength, at, None, Some(name))?;
    }
    Ok(())
}

/// Whether `name` is `__name__` (one 8-byte compare, no memcmp call).
#[inline]
fn is_metric_name_label(name: &str) -> bool {
    is_metric_name_bytes(name.as_bytes())
}

/// [`is_metric_name_label`] on bytes.
#[inline]
pub(super) fn is_metric_name_bytes(name: &[u8]) -> bool {
    <[u8; 8]>::try_from(name).is_ok_and(|n| n == *b"__name__")
}

/// Whether two (short) names are equal, inline: names of 4 to 16 bytes are compared as
/// two overlapping words (4 or 8 bytes) instead of through a `memcmp` call or a byte loop.
#[inline]
pub(super) fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    match a.len() {
        0..4 => a.iter().zip(b).all(|(x, y)| x == y),
        4..8 => {
            a.first_chunk::<4>() == b.first_chunk::<4>()
                && a.last_chunk::<4>() == b.last_chunk::<4>()
        }
        8..=16 => {
            a.first_chunk::<8>() == b.first_chunk::<8>()
                && a.last_chunk::<8>() == b.last_chunk::<8>()
        }
        _ => a == b,
    }
}

/// Byte-wise order of two (short) strings, inline: label names usually differ early, where
/// a libc `memcmp` call costs more than the comparison.
#[inline]
pub(super) fn compare(a: &[u8], b: &[u8]) -> core::cmp::Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    a.len().cmp(&b.len())
}

/// Bytes allowed after the first in a label name: `[a-zA-Z0-9_]`.
const NAME_TAIL: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_';
        i += 1;
    }
    t
};

/// `[a-zA-Z_][a-zA-Z0-9_]*`
#[inline]
pub(crate) fn is_valid_label_name(name: &str) -> bool {
    is_identifier(name.as_bytes(), false)
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
#[inline]
pub(crate) fn is_valid_metric_name(name: &str) -> bool {
    is_identifier(name.as_bytes(), true)
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, with `:` also allowed anywhere when `colon`.
///
/// Trick: names are short and almost always valid, so the tail is checked eight bytes at a
/// time in a `u64` ([`word_in_charset`]), without an early exit per word; a partial last
/// word is checked as the last eight bytes (overlapping), and names under eight bytes go
/// byte by byte.
#[inline]
pub(super) fn is_identifier(bytes: &[u8], colon: bool) -> bool {
    let Some(&first) = bytes.first() else {
        return false;
    };
    let head_ok = first.is_ascii_alphabetic() || first == b'_' || (colon && first == b':');
    if bytes.len() < 8 {
        return head_ok
            && bytes.iter().all(|&b| {
                NAME_TAIL.get(usize::from(b)).copied().unwrap_or(false) || (colon && b == b':')
            });
    }
    let words = bytes.chunks_exact(8);
    let partial = !words.remainder().is_empty();
    let mut ok = head_ok;
    for w in words {
        ok &= <[u8; 8]>::try_from(w).is_ok_and(|w| word_in_charset(u64::from_le_bytes(w), colon));
    }
    if partial {
        ok &= bytes
            .last_chunk::<8>()
            .is_some_and(|w| word_in_charset(u64::from_le_bytes(*w), colon));
    }
    ok
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// For a word of ASCII bytes: the high bit of each byte set where `lo <= byte <= hi`.
/// (`byte + 0x80 - lo` reaches 0x80 exactly when `byte >= lo`, `byte + 0x7f - hi` exactly
/// when `byte > hi`; neither sum carries into the next byte while bytes are below 0x80.)
#[inline]
const fn bytes_in_range(word: u64, lo: u8, hi: u8) -> u64 {
    let at_least_lo = word.wrapping_add(ONES * (0x80 - lo as u64));
    let above_hi = word.wrapping_add(ONES * (0x7f - hi as u64));
    at_least_lo & !above_hi & HIGH
}

/// Whether all eight bytes of `word` are in `[a-zA-Z0-9_]` (plus `:` when `colon`).
/// Setting bit 5 folds `A-Z` onto `a-z` and nothing else onto it; `:` is the byte after
/// `9`, so digits and colon are one range.
#[inline(always)]
pub(super) fn word_in_charset(word: u64, colon: bool) -> bool {
    let letters = bytes_in_range(word | (ONES * 0x20), b'a', b'z');
    let digits = bytes_in_range(word, b'0', if colon { b':' } else { b'9' });
    let underscore = bytes_in_range(word, b'_', b'_');
    word & HIGH == 0 && letters | digits | underscore == HIGH
}
