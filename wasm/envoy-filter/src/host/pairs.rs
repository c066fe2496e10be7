//! The proxy-wasm ABI's serialised forms: header maps and property paths.
//!
//! A header map is a little-endian `u32` count, then a (name length, value length) `u32`
//! pair per entry, then each name and each value followed by a NUL byte. A property path is
//! its parts joined by NUL bytes.
//!
//! Hand-written (no crate does this) instead of the SDK's, because the SDK's reader indexes
//! the host's bytes and `unwrap()`s names as UTF-8. Invariant: [`read_map`] never panics; a
//! map that does not add up is `None`, a name that is not UTF-8 is read lossily.

/// Serialises `pairs` as a header map.
pub fn write_map(pairs: &[(&str, &str)]) -> Vec<u8> {
    let size = 4 + pairs
        .iter()
        .map(|(n, v)| 10 + n.len() + v.len())
        .sum::<usize>();
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&len_u32(pairs.len()).to_le_bytes());
    for (name, value) in pairs {
        out.extend_from_slice(&len_u32(name.len()).to_le_bytes());
        out.extend_from_slice(&len_u32(value.len()).to_le_bytes());
    }
    for (name, value) in pairs {
        out.extend_from_slice(name.as_bytes());
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out.push(0);
    }
    out
}

/// A length as the ABI's `u32` (header names and values are far below 4 GiB; a longer one
/// is cut to `u32::MAX`, which the host then refuses as a bad map).
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// Reads a header map: `(name, value)` pairs, or `None` when the bytes do not add up. An
/// empty buffer is an empty map.
pub fn read_map(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let word = |at: usize| -> Option<usize> {
        let raw = bytes.get(at..at.checked_add(4)?)?;
        let array: [u8; 4] = raw.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(array)).ok()
    };
    let count = word(0)?;
    let mut data = count.checked_mul(8)?.checked_add(4)?;
    // Each entry takes at least 10 bytes: refuse a count the buffer cannot hold before
    // allocating for it.
    if count > bytes.len() / 10 {
        return None;
    }
    let mut pairs = Vec::with_capacity(count);
    for i in 0..count {
        let sizes = 4 + i * 8;
        let (name_len, value_len) = (word(sizes)?, word(sizes + 4)?);
        let name = bytes.get(data..data.checked_add(name_len)?)?;
        data = data.checked_add(name_len)?.checked_add(1)?;
        let value = bytes.get(data..data.checked_add(value_len)?)?;
        data = data.checked_add(value_len)?.checked_add(1)?;
        pairs.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()));
    }
    Some(pairs)
}

/// Serialises a property path (`["request", "method"]` -> `request\0method`).
pub fn write_path(parts: &[&str]) -> Vec<u8> {
    parts.join("\0").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_map_survives_the_round_trip() {
        let pairs = [(":method", "POST"), ("content-type", ""), ("x", "é")];
        let read = read_map(&write_map(&pairs)).unwrap();
        let expected: Vec<(String, Vec<u8>)> = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.as_bytes().to_vec()))
            .collect();
        assert_eq!(read, expected);
        assert_eq!(read_map(&[]), Some(Vec::new()));
        assert_eq!(read_map(&write_map(&[])), Some(Vec::new()));
    }

    #[test]
    fn the_layout_is_the_abis() {
        let bytes = write_map(&[("ab", "c")]);
        assert_eq!(
            bytes,
            [1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, b'a', b'b', 0, b'c', 0]
        );
        assert_eq!(write_path(&["request", "method"]), b"request\0method");
    }

    #[test]
    fn a_map_that_does_not_add_up_is_none_never_a_panic() {
        let good = write_map(&[("name", "value"), ("n2", "v2")]);
        for cut in 0..good.len() {
            let _ = read_map(&good[..cut]);
        }
        assert_eq!(read_map(&good[..good.len() - 3]), None);
        // A count far bigger than the buffer.
        assert_eq!(read_map(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]), None);
        // Lengths that overflow.
        let mut huge = vec![1, 0, 0, 0];
        huge.extend_from_slice(&[0xff; 8]);
        huge.extend_from_slice(&[0; 4]);
        assert_eq!(read_map(&huge), None);
    }

    #[test]
    fn a_name_that_is_not_utf8_is_read_lossily() {
        let mut bytes = write_map(&[("ab", "v")]);
        bytes[12] = 0xff;
        let read = read_map(&bytes).unwrap();
        assert_eq!(read[0].0, "\u{fffd}b");
        assert_eq!(read[0].1, b"v");
    }
}
