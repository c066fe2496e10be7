//! The single-pass fast path of v1 validation: one series as senders encode it, checked,
//! counted and hashed while its bytes are read once.
//!
//! [`series`] accepts a `TimeSeries` message only when it is in the canonical encoding
//! (labels first, each `0a n 0a a name 12 b value` with both strings present and one-byte
//! lengths, so label messages under 128 bytes; then samples, each `12 n [09 value]
//! [10 timestamp]`; nothing else: no exemplar, histogram or unknown field) **and** it
//! breaks no rule at all (no error, no warning). For anything else it returns `None` and
//! the caller walks the series again on the general path ([`super::v1`]'s `walk_series`
//! over [`crate::view`]), which finds the precise findings or decode error.
//!
//! Invariant: when [`series`] returns `Some`, the general path would have produced no
//! finding and no decode error for this series, and the same counts, timestamps and hash.
//! So validation results never depend on which path ran (proptests in `fast_tests.rs` and
//! the `validate_paths` fuzz target compare both paths on every input).
//!
//! Why it is fast:
//! - the series is read by position in one loop over the body (no field reader, no
//!   per-label `Result`);
//! - each label field is read through a fixed-size window of the body ([`WINDOW`]
//!   bytes, or a zero-padded copy near the body's end): every offset into it is provably
//!   in bounds, so the compiler drops the bounds checks;
//! - label names are compared by their *window* `0a a name 12` ([`Memo`]): equal windows
//!   hold equal names, compared as two overlapping words without masks; a name equal to
//!   the previous accepted series' name at the same position needs no check at all; any
//!   other name already validated in this request skips the charset check (a small
//!   cache), and so does a metric name seen before;
//! - values are UTF-8 checked by one ASCII scan over the whole label run (`from_utf8` per
//!   value only when that scan sees a non-ASCII byte);
//! - the label-set hash input is built in the same loop, each string copied as one
//!   32-byte move (the bytes past it are overwritten next or lie beyond the input's end),
//!   then hashed one-shot.

use core::cmp::Ordering;

use super::is_damaged_stale_marker;
use super::labels::{compare, is_identifier, same_bytes, word_in_charset};
use crate::Limits;

/// How many label names of the previous series are remembered by position.
const MEMO: usize = 32;
/// Slots of the validated-label-name cache (a power of two).
const NAME_CACHE: usize = 64;
/// Slots of the validated-metric-name cache (a power of two).
const METRIC_CACHE: usize = 256;
/// Longest label-set hash input built here; longer sets take the general path.
const HASH_CAP: usize = 1024;
/// Width of one copy move, and the slack after the hash buffer that a move may spill into.
const WIDE: usize = 32;
/// A window position that matches nothing.
const NO_WINDOW: usize = usize::MAX;

/// What the fast path remembers between the series of one request. Names are kept as
/// the position of their *window* in the body: the bytes `0a a name 12` of a label
/// field with one-byte lengths. Two equal windows hold the same name (the length byte is
/// part of it), and comparing windows of at least four bytes needs no masking: the first
/// and last four or eight bytes, overlapping.
///
/// Invariants, for the body and limits of this request:
/// - `names[..len]` are the windows of the last accepted series' names, which are valid
///   label names within `max_label_name_bytes` and strictly increasing (or
///   [`NO_WINDOW`]). So a series whose first `i + 1` names equal those has a valid name
///   at `i`, greater than the one before.
/// - Every `valid_names` entry is [`NO_WINDOW`] or the window of a valid label name
///   within `max_label_name_bytes`; every `metrics` entry is empty or a valid metric name.
pub(super) struct Memo<'a> {
    names: [usize; MEMO],
    len: usize,
    valid_names: [usize; NAME_CACHE],
    metrics: [&'a [u8]; METRIC_CACHE],
    hash_input: [u8; HASH_CAP + WIDE],
}

impl Memo<'_> {
    pub(super) fn new() -> Self {
        Memo {
            names: [NO_WINDOW; MEMO],
            len: 0,
            valid_names: [NO_WINDOW; NAME_CACHE],
            metrics: [&[]; METRIC_CACHE],
            hash_input: [0; HASH_CAP + WIDE],
        }
    }
}

/// What the fast path read from a series it accepted.
#[derive(Debug)]
pub(super) struct Accepted {
    /// Float samples (at least one).
    pub(super) samples: u32,
    /// The first sample's timestamp: the oldest (samples are in order).
    pub(super) first: i64,
    /// The last sample's timestamp: the newest.
    pub(super) last: i64,
    /// [`crate::hash::label_set_hash`] of the labels (0 unless asked for).
    pub(super) hash: u64,
}

/// Checks the encoded `TimeSeries` message `body[start..end]`; `Some` only if it is
/// canonical and breaks no rule (see the module docs). Reads past `end` only to copy and
/// compare.
#[inline]
pub(super) fn series<'a>(
    body: &'a [u8],
    start: usize,
    end: usize,
    limits: &Limits,
    memo: &mut Memo<'a>,
    hash: bool,
) -> Option<Accepted> {
    let accepted = if hash {
        read::<true>(body, start, end, limits, memo)
    } else {
        read::<false>(body, start, end, limits, memo)
    };
    if accepted.is_none() {
        // Names of a rejected series may have been written into the memo.
        memo.len = 0;
    }
    #[cfg(test)]
    if accepted.is_some() {
        ACCEPTED.with(|n| n.set(n.get() + 1));
    }
    accepted
}

#[cfg(test)]
std::thread_local! {
    /// Series the fast path accepted on this thread (tests check it takes what it should).
    pub(super) static ACCEPTED: core::cell::Cell<usize> = const { core::cell::Cell::new(0) };
}

/// Bytes read at once for one label field: the longest field with one-byte lengths
/// (2 + 127) plus a 32-byte copy from its value's start, rounded up. Every offset into
/// it below is provably in bounds, so the label loop runs without bounds checks.
const WINDOW: usize = 168;

#[inline(always)]
fn read<'a, const HASH: bool>(
    body: &'a [u8],
    start: usize,
    end: usize,
    limits: &Limits,
    memo: &mut Memo<'a>,
) -> Option<Accepted> {
    let m = body.get(..end)?;
    let max_value = limits.max_label_value_bytes;
    let mut p = start;
    let mut count = 0;
    // The memo's length while every name so far equals the memo's; 0 after.
    let mut matching = memo.len;
    let (mut prev, mut prev_len) = (0, 0);
    let mut has_metric_name = false;
    let mut hash_len = 0;
    // The window of a field less than WINDOW bytes before the end of the body.
    let mut padded;
    while m.get(p) == Some(&0x0a) {
        let w = match body.get(p..).and_then(|s| s.first_chunk::<WINDOW>()) {
            Some(w) => w,
            None => {
                let rest = body.get(p..)?;
                padded = [0; WINDOW];
                padded.get_mut(..rest.len())?.copy_from_slice(rest);
                &padded
            }
        };
        // `0a n 0a a name 12 b value`, one-byte lengths, `n` exactly the label message
        // (so `a + b + 4 < 0x80`, and the field ends inside the window).
        let &[0x0a, n, 0x0a, a] = w.first_chunk::<4>()? else {
            return None;
        };
        if (n | a) >= 0x80 {
            return None;
        }
        let name_len = usize::from(a);
        let (Some(&0x12), Some(&b)) = (w.get(4 + name_len), w.get(5 + name_len)) else {
            return None;
        };
        let value_len = usize::from(b);
        let field_end = p + 2 + usize::from(n);
        if usize::from(n) != name_len + value_len + 4 || field_end > end {
            return None;
        }
        if value_len.wrapping_sub(1) >= max_value {
            // Empty, or over the limit.
            return None;
        }
        let window = p + 2;
        let known = count < matching
            && memo
                .names
                .get(count)
                .is_some_and(|&seen| same_window(body, seen, w, name_len + 3));
        if !known {
            matching = 0;
            let name = w.get(4..4 + name_len)?;
            let increasing =
                count == 0 || compare(name, m.get(prev..prev + prev_len)?) == Ordering::Greater;
            if !increasing
                || !name_is_valid(body, w, window, name_len, limits, &mut memo.valid_names)
            {
                return None;
            }
        }
        if let Some(slot) = memo.names.get_mut(count) {
            *slot = window;
        }
        if name_len == 8 && w.get(4..12) == Some(b"__name__".as_slice()) {
            has_metric_name = true;
            let value = body.get(p + 6 + name_len..field_end)?;
            let slot = memo.metrics.get_mut(metric_slot(value))?;
            if !same_long(slot, value) {
                if !identifier_at(body, p + 6 + name_len, value_len, true) {
                    return None;
                }
                *slot = value;
            }
        }
        if HASH {
            let value_at = hash_len + name_len + 1;
            let hash_end = value_at + value_len + 1;
            if hash_end > HASH_CAP {
                return None;
            }
            let input = &mut memo.hash_input;
            copy_wide(input, hash_len, w, 4, name_len)?;
            *input.get_mut(value_at - 1)? = 0xff;
            copy_wide(input, value_at, w, 6 + name_len, value_len)?;
            *input.get_mut(hash_end - 1)? = 0xff;
            hash_len = hash_end;
        }
        (prev, prev_len) = (p + 4, name_len);
        p = field_end;
        count += 1;
    }
    if count == 0 || count > limits.max_labels_per_series || !has_metric_name {
        return None;
    }
    // Names are valid identifiers, hence ASCII; values must be UTF-8. With one-byte
    // lengths every framing byte is ASCII too, so one scan of the run covers all values.
    let run = m.get(start..p)?;
    if !is_ascii(run) && !values_are_utf8(run) {
        return None;
    }
    memo.len = count.min(MEMO);

    let mut samples: u32 = 0;
    let (mut first, mut last) = (0, 0);
    while m.get(p) == Some(&0x12) {
        let &len = m.get(p + 1)?;
        let sample_end = p + 2 + usize::from(len);
        if len >= 0x80 || sample_end > end {
            return None;
        }
        let (value, timestamp) = sample_at(body, p + 2, sample_end)?;
        p = sample_end;
        if is_damaged_stale_marker(value) || (samples > 0 && timestamp < last) {
            return None;
        }
        if samples == 0 {
            first = timestamp;
        }
        last = timestamp;
        samples = samples.saturating_add(1);
    }
    if p != end || samples == 0 {
        return None;
    }
    let hash = if HASH {
        xxhash_rust::xxh3::xxh3_64(memo.hash_input.get(..hash_len)?)
    } else {
        0
    };
    Some(Accepted {
        samples,
        first,
        last,
        hash,
    })
}

/// Whether the name window at `body[seen..]` ([`Memo`]) holds the same `len` bytes as the
/// current field's window `w[2..]`. Windows are at least four bytes (a name has at least
/// one) and at most 130.
#[inline(always)]
fn same_window(body: &[u8], seen: usize, w: &[u8; WINDOW], len: usize) -> bool {
    let (Some(x), Some(y)) = (body.get(seen..seen.wrapping_add(len)), w.get(2..2 + len)) else {
        return false;
    };
    same_bytes(x, y)
}

/// Whether the name of the field whose window is `w` (at `window` in the body) is a valid
/// label name within the length limit; remembered in `cache` when it is.
#[inline(always)]
fn name_is_valid(
    body: &[u8],
    w: &[u8; WINDOW],
    window: usize,
    len: usize,
    limits: &Limits,
    cache: &mut [usize; NAME_CACHE],
) -> bool {
    let (Some(&first), Some(&last)) = (w.get(4), w.get(3 + len)) else {
        return false;
    };
    let index = (len * 31 + usize::from(first) * 7 + usize::from(last)) & (NAME_CACHE - 1);
    let Some(slot) = cache.get_mut(index) else {
        return false;
    };
    if same_window(body, *slot, w, len + 3) {
        return true;
    }
    let valid = len <= limits.max_label_name_bytes && identifier_at(body, window + 2, len, false);
    if valid {
        *slot = window;
    }
    valid
}

/// Copies `w[from..from + len]` to `dst[at..]` (callers checked `at + len <= HASH_CAP`):
/// as one 32-byte move when `len` is at most 32 (the bytes after the string land where
/// the next part is written, or past the input's end), else exactly.
#[inline(always)]
fn copy_wide(
    dst: &mut [u8; HASH_CAP + WIDE],
    at: usize,
    w: &[u8; WINDOW],
    from: usize,
    len: usize,
) -> Option<()> {
    if len <= WIDE {
        let src = w.get(from..)?.first_chunk::<WIDE>()?;
        *dst.get_mut(at..)?.first_chunk_mut::<WIDE>()? = *src;
    } else {
        dst.get_mut(at..at + len)?
            .copy_from_slice(w.get(from..from + len)?);
    }
    Some(())
}

/// The label field at `p` of a run already checked by [`read`] (`0a n 0a a name 12 b
/// value`, one-byte lengths): its value and where the field ends.
#[inline(always)]
fn value_at(run: &[u8], p: usize) -> Option<(&[u8], usize)> {
    let &[0x0a, n, 0x0a, a] = run.get(p..)?.first_chunk::<4>()? else {
        return None;
    };
    let value = p + 6 + usize::from(a);
    let end = p + 2 + usize::from(n);
    Some((run.get(value..end)?, end))
}

/// [`is_identifier`] for `body[at..at + len]`, without a byte loop: a name of up to
/// eight bytes is one word, its bytes past `len` replaced by a valid letter; a longer one
/// is whole words and its last eight bytes (overlapping).
#[inline(always)]
fn identifier_at(body: &[u8], at: usize, len: usize, colon: bool) -> bool {
    const FILL: u64 = u64::from_le_bytes(*b"aaaaaaaa");
    let Some(name) = body.get(at..at + len) else {
        return false;
    };
    let Some(&first) = name.first() else {
        return false;
    };
    let head_ok = first.is_ascii_alphabetic() || first == b'_' || (colon && first == b':');
    if len <= 8
        && let Some(w) = word_at(body, at)
    {
        let keep = u64::MAX >> (64 - 8 * len);
        return head_ok && word_in_charset((w & keep) | (FILL & !keep), colon);
    }
    head_ok && is_identifier(name, colon)
}

/// The eight bytes at `body[at..]` as a little-endian word.
#[inline(always)]
fn word_at(body: &[u8], at: usize) -> Option<u64> {
    body.get(at..)?
        .first_chunk::<8>()
        .map(|w| u64::from_le_bytes(*w))
}

/// Cache slot of a metric name (its length and first and last two bytes).
#[inline(always)]
fn metric_slot(name: &[u8]) -> usize {
    let pair = |b: Option<&[u8; 2]>| b.map_or(0, |&[x, y]| usize::from(x) << 8 | usize::from(y));
    let mixed = pair(name.first_chunk::<2>()) * 31 + pair(name.last_chunk::<2>()) * 7 + name.len();
    mixed.wrapping_mul(0x9e37_79b9) >> 13 & (METRIC_CACHE - 1)
}

/// Whether two byte strings are equal, eight bytes at a time (metric names are often
/// longer than 16 bytes, where `==` calls `memcmp`).
#[inline(always)]
fn same_long(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    if a.len() < 8 {
        return a == b;
    }
    a.chunks_exact(8)
        .zip(b.chunks_exact(8))
        .all(|(x, y)| x == y)
        && a.last_chunk::<8>() == b.last_chunk::<8>()
}

/// `[09 value(8)] [10 timestamp]` filling `body[start..end]` exactly (absent fields are
/// 0, as in prost).
#[inline(always)]
fn sample_at(body: &[u8], start: usize, end: usize) -> Option<(f64, i64)> {
    let mut q = start;
    let mut value = 0.0;
    if q < end && body.get(q) == Some(&0x09) {
        value = f64::from_le_bytes(*body.get(q + 1..)?.first_chunk::<8>()?);
        q += 9;
    }
    let timestamp = if q == end {
        0
    } else if q < end && body.get(q) == Some(&0x10) {
        varint_exact(body, q + 1, end)? as i64
    } else {
        return None;
    };
    Some((value, timestamp))
}

const HIGH: u64 = 0x8080_8080_8080_8080;

/// The varint filling `m[start..end]` exactly, with prost's rules. Up to eight bytes are
/// decoded from one word when eight bytes can be read at `start`.
#[inline(always)]
fn varint_exact(m: &[u8], start: usize, end: usize) -> Option<u64> {
    let len = end.checked_sub(start)?;
    if (1..=8).contains(&len)
        && let Some(w) = m.get(start..).and_then(|s| s.first_chunk::<8>())
    {
        let keep = if len == 8 {
            u64::MAX
        } else {
            (1u64 << (8 * len)) - 1
        };
        let w = u64::from_le_bytes(*w) & keep;
        // Every byte but the last continues; the last does not.
        if w & HIGH != HIGH & (keep >> 8) {
            return None;
        }
        let x = w & !HIGH;
        let x = (x & 0x007f_007f_007f_007f) | ((x & 0x7f00_7f00_7f00_7f00) >> 1);
        let x = (x & 0x0000_3fff_0000_3fff) | ((x & 0x3fff_0000_3fff_0000) >> 2);
        let x = (x & 0x0000_0000_0fff_ffff) | ((x & 0x0fff_ffff_0000_0000) >> 4);
        return Some(x);
    }
    match crate::view::split_varint(m.get(start..end)?)? {
        (v, []) => Some(v),
        _ => None,
    }
}

/// `<[u8]>::is_ascii`, 16 bytes at a time and the last 16 overlapping: std's version
/// walks the unaligned head and the tail byte by byte, which costs more (in branches
/// mispredicted on varying lengths) than the scan itself for the 50- to 300-byte label
/// runs seen here.
#[inline(always)]
fn is_ascii(bytes: &[u8]) -> bool {
    const HIGH16: u128 = u128::from_ne_bytes([0x80; 16]);
    let Some(last) = bytes.last_chunk::<16>() else {
        return bytes.is_ascii();
    };
    let mut any = u128::from_ne_bytes(*last);
    for c in bytes.chunks_exact(16) {
        any |= <[u8; 16]>::try_from(c).map_or(HIGH16, u128::from_ne_bytes);
    }
    any & HIGH16 == 0
}

/// Whether every label value of a well-formed canonical label run is UTF-8 (the slow
/// half of the check: only for runs that are not all ASCII).
#[cold]
#[inline(never)]
fn values_are_utf8(run: &[u8]) -> bool {
    let mut p = 0;
    while p < run.len() {
        match value_at(run, p) {
            Some((value, end)) if core::str::from_utf8(value).is_ok() => p = end,
            _ => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn word_varint_decodes_like_the_byte_loop(v in any::<u64>(), pad in 0usize..12, extra in any::<[u8; 10]>()) {
            // The varint, then `pad` bytes of anything after it (readable, not part of it).
            let mut bytes = alloc::vec::Vec::new();
            let mut x = v;
            while x >= 0x80 {
                bytes.push((x as u8) | 0x80);
                x >>= 7;
            }
            bytes.push(x as u8);
            let len = bytes.len();
            bytes.extend_from_slice(&extra[..pad.min(10)]);
            prop_assert_eq!(varint_exact(&bytes, 0, len), Some(v));
            // Cut short or run on: never a value.
            prop_assert_eq!(varint_exact(&bytes, 0, len - 1), None);
            if pad > 0 {
                let got = varint_exact(&bytes, 0, len + 1);
                let slow = crate::view::split_varint(&bytes[..len + 1]).filter(|(_, r)| r.is_empty()).map(|(v, _)| v);
                prop_assert_eq!(got, slow);
            }
        }

        #[test]
        fn word_varint_matches_the_byte_loop_on_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..12), cut in 0usize..12) {
            let end = cut.min(bytes.len());
            let slow = crate::view::split_varint(&bytes[..end]).filter(|(_, r)| r.is_empty()).map(|(v, _)| v);
            prop_assert_eq!(varint_exact(&bytes, 0, end), slow);
        }
    }
}
