//! The two real receivers of the stack suites, a Prometheus and a VictoriaMetrics, waited on
//! together: until both hold some series, or exactly the pairs a sender holds.
//!
//! Invariant: every wait is bounded and its error says what each receiver held last.

use std::time::Duration;

use crate::pairs::Pairs;
use crate::prometheus::Prometheus;
use crate::victoria::Victoria;

/// A Prometheus receiver and a VictoriaMetrics fed by the same relays.
#[derive(Clone, Copy, Debug)]
pub struct Receivers<'a> {
    /// The receiver Prometheus.
    pub prometheus: &'a Prometheus,
    /// VictoriaMetrics.
    pub victoria: &'a Victoria,
}

/// What both held once they agreed with the expected pairs.
#[derive(Clone, Debug)]
pub struct Held {
    /// The expected pairs (read last).
    pub expected: Pairs,
    /// The receiver Prometheus's.
    pub prometheus: Pairs,
    /// VictoriaMetrics's.
    pub victoria: Pairs,
}

impl Receivers<'_> {
    /// Both receivers' pairs of `selector` with `from < t <= to`.
    pub fn pairs(&self, selector: &str, from: i64, to: i64) -> Result<(Pairs, Pairs), String> {
        let p = self
            .prometheus
            .pairs(selector, from, to)
            .map_err(|e| e.to_string())?;
        let v = self
            .victoria
            .pairs(selector, from, to)
            .map_err(|e| e.to_string())?;
        Ok((p, v))
    }

    /// Waits until both hold at least `series` series of `selector` from the last minute.
    pub fn wait_for_series(
        &self,
        selector: &str,
        series: usize,
        timeout: Duration,
    ) -> Result<(), String> {
        crate::wait::until(
            &format!("{series} series of {selector} at both receivers"),
            timeout,
            || {
                let now = crate::wait::now_ms();
                let (p, v) = self.pairs(selector, now - 60_000, now)?;
                if p.series_count() >= series && v.series_count() >= series {
                    Ok(())
                } else {
                    Err(format!(
                        "prometheus {} series, victoria {} series",
                        p.series_count(),
                        v.series_count()
                    ))
                }
            },
        )
    }

    /// Waits until both hold exactly the distinct pairs `expected` returns (called again on
    /// every poll: a sender's TSDB may still be settling) for `selector` over `from..=to`.
    pub fn wait_for_pairs(
        &self,
        selector: &str,
        from: i64,
        to: i64,
        expected: impl Fn() -> Result<Pairs, String>,
        timeout: Duration,
    ) -> Result<Held, String> {
        crate::wait::until(
            &format!("both receivers to hold the expected pairs of {selector}"),
            timeout,
            || {
                let expected = expected()?;
                let (prometheus, victoria) = self.pairs(selector, from, to)?;
                prometheus.same_set_as(&expected, "the receiver Prometheus")?;
                victoria.same_set_as(&expected, "VictoriaMetrics")?;
                Ok(Held {
                    expected,
                    prometheus,
                    victoria,
                })
            },
        )
    }
}
