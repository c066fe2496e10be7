//! Sums over the Prometheus text exposition format: enough for live lines, benchmark probes
//! and test assertions, without a parser dependency.
//!
//! A sample line is `name value [timestamp]` or `name{labels} value [timestamp]`. Comment
//! lines, lines that do not parse and values that are not finite (`NaN`, `+Inf`) are
//! skipped. Label values containing `}` are not supported (no exporter prw reads uses them).

/// Every sample line of `text` as `(name, labels, value)`; `labels` is what is between the
/// braces, or empty.
pub fn samples(text: &str) -> impl Iterator<Item = (&str, &str, f64)> {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let name_end = line.find(['{', ' '])?;
            let name = line.get(..name_end)?;
            let rest = line.get(name_end..)?;
            let (labels, value) = match rest.strip_prefix('{') {
                Some(after) => after.split_once('}')?,
                None => ("", rest),
            };
            let value = value.split_whitespace().next()?.parse::<f64>().ok()?;
            value.is_finite().then_some((name, labels, value))
        })
}

/// The sum of every sample of metric `name` whose label part passes `keep`; `None` when no
/// line has it.
pub fn sum_where(text: &str, name: &str, keep: impl Fn(&str) -> bool) -> Option<f64> {
    samples(text)
        .filter(|(n, labels, _)| *n == name && keep(labels))
        .map(|(_, _, v)| v)
        .reduce(|a, b| a + b)
}

/// The sum of every sample of metric `name` (any labels); `None` when no line has it.
pub fn sum(text: &str, name: &str) -> Option<f64> {
    sum_where(text, name, |_| true)
}

/// The sum of every sample whose metric name starts with `prefix` and ends with `_total`
/// (0 when none).
pub fn sum_prefixed_totals(text: &str, prefix: &str) -> f64 {
    samples(text)
        .filter(|(n, _, _)| n.starts_with(prefix) && n.ends_with("_total"))
        .map(|(_, _, v)| v)
        .sum::<f64>()
        // An empty sum is -0.0, which would print as "-0".
        + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# HELP x a help line\n\
        x_total 2\n\
        x_total{a=\"1\"} 3 1700000000000\n\
        x_totals 100\n\
        y{a=\"2\",b=\"c\"} 4.5\n\
        y{a=\"3\"} NaN\n\
        garbage line\n";

    #[test]
    fn sums_follow_the_name_exactly_and_skip_timestamps_and_nan() {
        assert_eq!(sum(TEXT, "x_total"), Some(5.0));
        assert_eq!(sum(TEXT, "y"), Some(4.5));
        assert_eq!(sum(TEXT, "absent"), None);
        assert_eq!(sum_where(TEXT, "x_total", |l| l.contains("a=")), Some(3.0));
        assert_eq!(sum_where(TEXT, "y", |l| l.contains("b=\"c\"")), Some(4.5));
        assert_eq!(sum_prefixed_totals(TEXT, "x"), 5.0);
        assert_eq!(format!("{:.0}", sum_prefixed_totals(TEXT, "z")), "0");
    }
}
