//! `Retry-After` (RFC 9110 section 10.2.3): delta-seconds or an HTTP-date.
//!
//! Hand-written because the `httpdate` crate needs `std` (SystemTime) and this core is
//! `no_std`; it is differentially tested against `httpdate` in the tests. All three date forms
//! that RFC 9110 says recipients must accept are parsed: IMF-fixdate
//! (`Sun, 06 Nov 1994 08:49:37 GMT`), obsolete RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and
//! asctime (`Sun Nov  6 08:49:37 1994`).
//!
//! The result is the delay from `now`; a date in the past gives zero, which senders treat as
//! "no hint" (Prometheus does the same).

use core::time::Duration;

/// Why a `Retry-After` value was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RetryAfterError {
    /// Empty or whitespace only.
    #[error("Retry-After is empty")]
    Empty,
    /// Neither delta-seconds nor an HTTP-date.
    #[error("Retry-After is neither delta-seconds nor an HTTP-date")]
    Malformed,
}

/// Parses a `Retry-After` value into the delay it asks for, relative to `now_unix_secs`.
pub fn parse_retry_after(value: &str, now_unix_secs: i64) -> Result<Duration, RetryAfterError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(RetryAfterError::Empty);
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // Delta-seconds: a huge number saturates instead of failing (it still means "wait").
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Ok(Duration::from_secs(secs));
    }
    let at = parse_http_date(value, now_unix_secs).ok_or(RetryAfterError::Malformed)?;
    let delta = at.saturating_sub(now_unix_secs);
    Ok(Duration::from_secs(u64::try_from(delta).unwrap_or(0)))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// A parsed calendar time, before conversion to Unix seconds.
struct DateTime {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

fn parse_http_date(value: &str, now_unix_secs: i64) -> Option<i64> {
    let date = parse_imf_fixdate(value)
        .or_else(|| parse_rfc850(value, now_unix_secs))
        .or_else(|| parse_asctime(value))?;
    date.to_unix()
}

/// `Sun, 06 Nov 1994 08:49:37 GMT`
fn parse_imf_fixdate(value: &str) -> Option<DateTime> {
    let (weekday, rest) = value.split_once(", ")?;
    if !DAYS.contains(&weekday) {
        return None;
    }
    let mut parts = rest.split(' ');
    let day = parse_digits(parts.next()?, 2)?;
    let month = parse_month(parts.next()?)?;
    let year = i64::from(parse_digits(parts.next()?, 4)?);
    let (hour, minute, second) = parse_time(parts.next()?)?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// `Sunday, 06-Nov-94 08:49:37 GMT`. A two-digit year more than 50 years in the future
/// is taken to be in the past century (RFC 9110 section 5.6.7).
fn parse_rfc850(value: &str, now_unix_secs: i64) -> Option<DateTime> {
    let (weekday, rest) = value.split_once(", ")?;
    if !LONG_DAYS.contains(&weekday) {
        return None;
    }
    let mut parts = rest.split(' ');
    let mut date = parts.next()?.split('-');
    let day = parse_digits(date.next()?, 2)?;
    let month = parse_month(date.next()?)?;
    let yy = i64::from(parse_digits(date.next()?, 2)?);
    if date.next().is_some() {
        return None;
    }
    let (hour, minute, second) = parse_time(parts.next()?)?;
    if parts.next()? != "GMT" || parts.next().is_some() {
        return None;
    }
    let this_year = 1970 + now_unix_secs.div_euclid(31_556_952);
    let mut year = this_year - this_year.rem_euclid(100) + yy;
    if year > this_year + 50 {
        year -= 100;
    }
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

/// `Sun Nov  6 08:49:37 1994`
fn parse_asctime(value: &str) -> Option<DateTime> {
    let weekday = value.get(..3)?;
    if !DAYS.contains(&weekday) || value.get(3..4)? != " " {
        return None;
    }
    let month = parse_month(value.get(4..7)?)?;
    if value.get(7..8)? != " " {
        return None;
    }
    // The day is space-padded to two characters: " 6" or "16".
    let day_text = value.get(8..10)?.trim_start_matches(' ');
    if day_text.is_empty() || !day_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let day = day_text.parse().ok()?;
    let mut parts = value.get(10..)?.split(' ');
    if !parts.next()?.is_empty() {
        return None;
    }
    let (hour, minute, second) = parse_time(parts.next()?)?;
    let year = i64::from(parse_digits(parts.next()?, 4)?);
    if parts.next().is_some() {
        return None;
    }
    Some(DateTime {
        year,
        month,
        day,
        hour,
        minute,
        second,
    })
}

fn parse_month(name: &str) -> Option<u32> {
    let index = MONTHS.iter().position(|m| *m == name)?;
    u32::try_from(index).ok().map(|i| i + 1)
}

/// Exactly `len` ASCII digits (one-digit days of asctime are handled by the caller).
fn parse_digits(text: &str, len: usize) -> Option<u32> {
    if text.len() != len || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

fn parse_time(text: &str) -> Option<(u32, u32, u32)> {
    let mut parts = text.split(':');
    let hour = parse_digits(parts.next()?, 2)?;
    let minute = parse_digits(parts.next()?, 2)?;
    let second = parse_digits(parts.next()?, 2)?;
    if parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    Some((hour, minute, second))
}

impl DateTime {
    fn to_unix(&self) -> Option<i64> {
        if !(1..=12).contains(&self.month) || self.day == 0 || self.day > days_in_month(self) {
            return None;
        }
        let days = days_from_civil(self.year, self.month, self.day);
        Some(
            days * 86_400
                + i64::from(self.hour) * 3_600
                + i64::from(self.minute) * 60
                + i64::from(self.second),
        )
    }
}

fn days_in_month(date: &DateTime) -> u32 {
    let leap = date.year % 4 == 0 && (date.year % 100 != 0 || date.year % 400 == 0);
    match date.month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}
