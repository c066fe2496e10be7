//! Prometheus duration syntax (`model.ParseDuration`): `30s`, `5m`, `1h30m`, `100ms`, `0`.
//!
//! Units, largest first and each at most once: `y` (365 d), `w`, `d`, `h`, `m`, `s`, `ms`.
//! A bare `0` is zero. Anything else (spaces, fractions, `us`, repeated or out-of-order units)
//! is refused, exactly like Prometheus, so a file Prometheus accepts is accepted here and the
//! other way round. Hand-written because `humantime` accepts a different grammar (spaces,
//! `min`, fractions) that Prometheus refuses.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserialize, Deserializer};

/// A duration written in Prometheus syntax. Serde reads it from a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PromDuration(pub Duration);

/// Why a duration string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// The string is empty.
    #[error("empty duration string")]
    Empty,
    /// A character that is not a digit or a known unit, or a number without a unit.
    #[error("not a valid duration string: {0:?}")]
    Syntax(String),
    /// A unit appears twice or after a smaller unit.
    #[error("units out of order or repeated in {0:?}")]
    UnitOrder(String),
    /// The value does not fit in 64-bit milliseconds.
    #[error("duration {0:?} is too large")]
    Overflow(String),
}

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3_600_000),
    ("w", 7 * 24 * 3_600_000),
    ("d", 24 * 3_600_000),
    ("h", 3_600_000),
    ("m", 60_000),
    ("s", 1_000),
    ("ms", 1),
];

/// Parses a Prometheus duration.
pub fn parse(text: &str) -> Result<Duration, DurationError> {
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    if text == "0" {
        return Ok(Duration::ZERO);
    }
    let syntax = || DurationError::Syntax(text.to_owned());
    let mut rest = text;
    let mut next_unit = 0usize;
    let mut total_ms: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(syntax());
        }
        let (number, after) = rest.split_at(digits);
        let number: u64 = number
            .parse()
            .map_err(|_| DurationError::Overflow(text.to_owned()))?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let index = UNITS
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(syntax)?;
        if index < next_unit {
            return Err(DurationError::UnitOrder(text.to_owned()));
        }
        next_unit = index + 1;
        let (_, scale) = UNITS.get(index).copied().unwrap_or(("ms", 1));
        total_ms = number
            .checked_mul(scale)
            .and_then(|ms| total_ms.checked_add(ms))
            .ok_or_else(|| DurationError::Overflow(text.to_owned()))?;
        rest = after;
    }
    Ok(Duration::from_millis(total_ms))
}

/// Formats a duration the way Prometheus prints it (`1h30m`, `100ms`, `0s`).
pub fn format(duration: Duration) -> String {
    let mut ms = u64::try_from(duration.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".to_owned();
    }
    let mut out = String::new();
    for (name, scale) in UNITS {
        let count = ms / scale;
        if count > 0 {
            out.push_str(&count.to_string());
            out.push_str(name);
            ms -= count * scale;
        }
    }
    out
}

impl PromDuration {
    /// Builds from milliseconds (for defaults).
    pub const fn from_millis(ms: u64) -> Self {
        Self(Duration::from_millis(ms))
    }

    /// Builds from seconds (for defaults).
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse(&text).map(PromDuration).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_prometheus_examples() {
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(
            parse("1y2w3d"),
            Ok(Duration::from_secs((365 + 14 + 3) * 86_400))
        );
        assert_eq!(parse("1m30s500ms"), Ok(Duration::from_millis(90_500)));
    }

    #[test]
    fn refuses_what_prometheus_refuses() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        for bad in ["5", "1.5s", "5 m", "10us", "s", "-1s", "1min", "5m "] {
            assert!(matches!(parse(bad), Err(DurationError::Syntax(_))), "{bad}");
        }
        assert!(matches!(parse("30s5m"), Err(DurationError::UnitOrder(_))));
        assert!(matches!(parse("1s1s"), Err(DurationError::UnitOrder(_))));
        assert!(matches!(
            parse("99999999999999999999y"),
            Err(DurationError::Overflow(_))
        ));
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(30)), "30ms");
        assert_eq!(format(Duration::ZERO), "0s");
        assert_eq!(format(Duration::from_millis(90_500)), "1m30s500ms");
    }

    proptest::proptest! {
        #[test]
        fn format_then_parse_round_trips(ms in 0u64..(100 * 365 * 86_400_000)) {
            let d = Duration::from_millis(ms);
            proptest::prop_assert_eq!(parse(&format(d)), Ok(d));
        }

        #[test]
        fn parse_never_panics(text in "\\PC{0,12}") {
            let _ = parse(&text);
        }
    }
}
