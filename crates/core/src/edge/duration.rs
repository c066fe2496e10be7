//! Prometheus-style durations (`90s`, `5m`, `1h30m`, `2d`) as milliseconds.
//!
//! Hand-written: the crates that parse these (humantime, go-parse-duration) are std-only and
//! accept a different syntax; this is the 30-line subset Prometheus uses. Never panics;
//! overflow is an error.

/// Why a duration cannot be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DurationError {
    /// Empty string.
    #[error("empty duration")]
    Empty,
    /// A number without a unit, or an unknown unit (units: ms, s, m, h, d, w, y).
    #[error("bad duration: expected NUMBER followed by ms, s, m, h, d, w or y (like 1h30m)")]
    Syntax,
    /// Too large to represent in milliseconds.
    #[error("duration overflows")]
    Overflow,
}

/// Parses `1h30m`-style durations into milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<u64, DurationError> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(DurationError::Syntax);
        }
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| DurationError::Overflow)?;
        let unit_len = after.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = after.split_at(unit_len);
        let factor: u64 = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            _ => return Err(DurationError::Syntax),
        };
        let part = number.checked_mul(factor).ok_or(DurationError::Overflow)?;
        total = total.checked_add(part).ok_or(DurationError::Overflow)?;
        rest = after;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_sums() {
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert_eq!(parse_duration_ms("90s"), Ok(90_000));
        assert_eq!(parse_duration_ms("1h30m"), Ok(5_400_000));
        assert_eq!(parse_duration_ms("2d"), Ok(172_800_000));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert_eq!(parse_duration_ms(""), Err(DurationError::Empty));
        assert_eq!(parse_duration_ms("10"), Err(DurationError::Syntax));
        assert_eq!(parse_duration_ms("h"), Err(DurationError::Syntax));
        assert_eq!(parse_duration_ms("5x"), Err(DurationError::Syntax));
        assert_eq!(
            parse_duration_ms("99999999999999999999y"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            parse_duration_ms("9999999999999y"),
            Err(DurationError::Overflow)
        );
    }
}
