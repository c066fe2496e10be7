//! Sizes in the relay's own sections: an integer number of bytes, or a string with a unit
//! (`512KiB`, `64MiB`, `10GiB`, `1TiB`; decimal `KB`/`MB`/`GB`/`TB`; `B`). Hand-written: the
//! grammar is five suffixes and no crate in the workspace parses it.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A number of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

const UNITS: [(&str, u64); 9] = [
    ("KiB", 1 << 10),
    ("MiB", 1 << 20),
    ("GiB", 1 << 30),
    ("TiB", 1 << 40),
    ("KB", 1_000),
    ("MB", 1_000_000),
    ("GB", 1_000_000_000),
    ("TB", 1_000_000_000_000),
    ("B", 1),
];

/// Parses `64MiB`-style sizes; `None` when malformed or overflowing.
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let number: u64 = number.parse().ok()?;
    let unit = unit.trim();
    if unit.is_empty() {
        return Some(number);
    }
    let (_, scale) = UNITS.iter().find(|(name, _)| *name == unit)?;
    number.checked_mul(*scale)
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (name, scale) in UNITS.iter().take(4).rev() {
            if self.0 >= *scale && self.0 % scale == 0 {
                return write!(f, "{}{name}", self.0 / scale);
            }
        }
        write!(f, "{}B", self.0)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SizeVisitor;
        impl Visitor<'_> for SizeVisitor {
            type Value = ByteSize;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a size in bytes, e.g. 67108864 or \"64MiB\"")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<ByteSize, E> {
                Ok(ByteSize(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<ByteSize, E> {
                u64::try_from(v)
                    .map(ByteSize)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<ByteSize, E> {
                parse(v)
                    .map(ByteSize)
                    .ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        deserializer.deserialize_any(SizeVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse("64MiB"), Some(64 << 20));
        assert_eq!(parse("10GiB"), Some(10 << 30));
        assert_eq!(parse("1 KB"), Some(1_000));
        assert_eq!(parse("123"), Some(123));
        assert_eq!(parse("5B"), Some(5));
    }

    #[test]
    fn refuses_malformed() {
        for bad in ["", "MiB", "1.5GiB", "10 parsecs", "-1", "99999999999TiB"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_integers_and_strings_from_yaml() {
        assert_eq!(
            serde_yaml::from_str::<ByteSize>("1024").unwrap(),
            ByteSize(1024)
        );
        assert_eq!(
            serde_yaml::from_str::<ByteSize>("2KiB").unwrap(),
            ByteSize(2048)
        );
        assert!(serde_yaml::from_str::<ByteSize>("-3").is_err());
        assert_eq!(ByteSize(64 << 20).to_string(), "64MiB");
    }
}
