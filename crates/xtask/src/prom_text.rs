//! Sums over Prometheus text exposition (a relay's `/metrics`, Envoy's `/stats/prometheus`):
//! enough for live lines and benchmark probes, without a parser dependency. Lines that are
//! comments, unparsable or not finite are skipped.

/// Sums every sample of the metrics whose name is `name` (any labels).
pub fn sum(text: &str, name: &str) -> f64 {
    sum_where(text, |metric| metric == name)
}

/// Sums every sample of the metrics whose name starts with `prefix` and ends with `_total`.
pub fn sum_prefixed(text: &str, prefix: &str) -> f64 {
    sum_where(text, |metric| {
        metric.starts_with(prefix) && metric.ends_with("_total")
    })
}

fn sum_where(text: &str, wanted: impl Fn(&str) -> bool) -> f64 {
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let name_end = line.find(['{', ' '])?;
            let name = line.get(..name_end)?;
            if !wanted(name) {
                return None;
            }
            line.rsplit(' ').next()?.parse::<f64>().ok()
        })
        .filter(|v| v.is_finite())
        .sum::<f64>()
        // An empty sum is -0.0, which would print as "-0".
        + 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_that_is_absent_sums_to_a_plain_zero() {
        assert_eq!(format!("{:.0}", sum("other 1\n", "wanted")), "0");
    }
}
