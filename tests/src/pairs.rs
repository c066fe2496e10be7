//! (series, timestamp) pairs as seen by one party (a sender's TSDB, a receiver, a load
//! generator), and comparisons between them with readable failure messages.
//!
//! Invariants: a series is identified by its sorted label set rendered as
//! `{name="value",...}` (`__name__` included), so the same series read from a Prometheus
//! API, a VictoriaMetrics export or a decoded request body gets the same key; timestamps
//! are kept per series in arrival order, so duplicates and out-of-order arrivals can be
//! counted.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use prost::Message;
use prw_core::Protocol;
use prw_core::proto::{v1 as p1, v2 as p2};

/// Pairs per series, in arrival order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pairs {
    series: BTreeMap<String, Vec<i64>>,
}

/// The key of a label set: sorted, `{a="x",b="y"}`.
pub fn series_key<'a>(labels: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut labels: Vec<(&str, &str)> = labels.into_iter().collect();
    labels.sort_unstable();
    let inner: Vec<String> = labels.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

/// Why a body could not be read into pairs.
#[derive(Debug, thiserror::Error)]
pub enum PairsError {
    /// Not snappy.
    #[error("snappy: {0}")]
    Snappy(#[from] prw_core::codec::CodecError),
    /// Not protobuf.
    #[error("protobuf: {0}")]
    Protobuf(#[from] prost::DecodeError),
    /// A v2 label reference outside the symbol table.
    #[error("v2 label reference {0} outside the symbol table")]
    Symbol(u32),
    /// Unparseable JSON from a query API.
    #[error("query answer: {0}")]
    Json(String),
}

impl Pairs {
    /// No pairs.
    pub fn new() -> Pairs {
        Pairs::default()
    }

    /// Adds one pair.
    pub fn push(&mut self, key: String, t: i64) {
        self.series.entry(key).or_default().push(t);
    }

    /// Adds everything of `other` after what is here.
    pub fn extend(&mut self, other: &Pairs) {
        for (key, stamps) in &other.series {
            self.series
                .entry(key.clone())
                .or_default()
                .extend_from_slice(stamps);
        }
    }

    /// Adds the pairs of a snappy-compressed v1 or v2 body.
    pub fn add_body(&mut self, body: &[u8], protocol: Protocol) -> Result<(), PairsError> {
        let limits = prw_core::Limits::default();
        let raw = prw_core::codec::decompress(body, &limits)?;
        match protocol {
            Protocol::V1 => {
                let request = p1::WriteRequest::decode(raw.as_slice())?;
                for ts in request.timeseries {
                    let key = series_key(
                        ts.labels
                            .iter()
                            .map(|l| (l.name.as_str(), l.value.as_str())),
                    );
                    for s in &ts.samples {
                        self.push(key.clone(), s.timestamp);
                    }
                    for h in &ts.histograms {
                        self.push(key.clone(), h.timestamp);
                    }
                }
            }
            Protocol::V2 => {
                let request = p2::Request::decode(raw.as_slice())?;
                for ts in request.timeseries {
                    let mut labels = Vec::new();
                    for pair in ts.labels_refs.chunks(2) {
                        let symbol = |i: usize| {
                            let r = pair.get(i).copied().unwrap_or(0);
                            usize::try_from(r)
                                .ok()
                                .and_then(|r| request.symbols.get(r))
                                .map(String::as_str)
                                .ok_or(PairsError::Symbol(r))
                        };
                        labels.push((symbol(0)?, symbol(1)?));
                    }
                    let key = series_key(labels);
                    for s in &ts.samples {
                        self.push(key.clone(), s.timestamp);
                    }
                    for h in &ts.histograms {
                        self.push(key.clone(), h.timestamp);
                    }
                }
            }
        }
        Ok(())
    }

    /// Reads a Prometheus query API answer whose data is a matrix (a range selector
    /// evaluated as an instant query, or `query_range`).
    pub fn from_prometheus_matrix(json: &str) -> Result<Pairs, PairsError> {
        let value: serde_json::Value =
            serde_json::from_str(json).map_err(|e| PairsError::Json(e.to_string()))?;
        if value["status"] != "success" {
            return Err(PairsError::Json(json.chars().take(500).collect()));
        }
        let mut pairs = Pairs::new();
        let Some(result) = value["data"]["result"].as_array() else {
            return Err(PairsError::Json("no data.result array".to_string()));
        };
        for series in result {
            let Some(metric) = series["metric"].as_object() else {
                continue;
            };
            let key = series_key(
                metric
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or(""))),
            );
            for point in series["values"].as_array().into_iter().flatten() {
                let Some(t) = point.get(0).and_then(serde_json::Value::as_f64) else {
                    continue;
                };
                pairs.push(key.clone(), (t * 1000.0).round() as i64);
            }
        }
        Ok(pairs)
    }

    /// Reads a VictoriaMetrics `/api/v1/export` answer (one JSON object per line).
    pub fn from_victoria_export(lines: &str) -> Result<Pairs, PairsError> {
        let mut pairs = Pairs::new();
        for line in lines.lines().filter(|l| !l.trim().is_empty()) {
            let value: serde_json::Value =
                serde_json::from_str(line).map_err(|e| PairsError::Json(e.to_string()))?;
            let Some(metric) = value["metric"].as_object() else {
                continue;
            };
            let key = series_key(
                metric
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str().unwrap_or(""))),
            );
            for t in value["timestamps"].as_array().into_iter().flatten() {
                if let Some(t) = t.as_i64() {
                    pairs.push(key.clone(), t);
                }
            }
        }
        Ok(pairs)
    }

    /// Only the pairs with `from < t <= to`.
    pub fn window(&self, from: i64, to: i64) -> Pairs {
        let series = self
            .series
            .iter()
            .map(|(k, ts)| {
                let kept: Vec<i64> = ts
                    .iter()
                    .copied()
                    .filter(|t| *t > from && *t <= to)
                    .collect();
                (k.clone(), kept)
            })
            .filter(|(_, ts)| !ts.is_empty())
            .collect();
        Pairs { series }
    }

    /// The distinct pairs.
    pub fn unique(&self) -> BTreeSet<(String, i64)> {
        self.series
            .iter()
            .flat_map(|(k, ts)| ts.iter().map(move |t| (k.clone(), *t)))
            .collect()
    }

    /// Distinct pairs.
    pub fn unique_count(&self) -> usize {
        self.series
            .values()
            .map(|ts| ts.iter().collect::<HashSet<_>>().len())
            .sum()
    }

    /// Pairs in total, repeats included.
    pub fn total(&self) -> usize {
        self.series.values().map(Vec::len).sum()
    }

    /// Repeats of a pair already seen.
    pub fn duplicates(&self) -> usize {
        self.total() - self.unique_count()
    }

    /// Only the series with the label `job="<job>"`.
    pub fn only_job(&self, job: &str) -> Pairs {
        let label = format!("job={job:?}");
        Pairs {
            series: self
                .series
                .iter()
                .filter(|(key, _)| {
                    key.trim_matches(|c| c == '{' || c == '}')
                        .split(',')
                        .any(|l| l == label)
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// Series count.
    pub fn series_count(&self) -> usize {
        self.series.len()
    }

    /// Arrivals older than the newest earlier arrival of their series (a repeat of the
    /// newest is not out of order).
    pub fn out_of_order(&self) -> usize {
        self.series
            .values()
            .map(|ts| {
                let mut newest = i64::MIN;
                let mut n = 0;
                for t in ts {
                    if *t < newest {
                        n += 1;
                    }
                    newest = newest.max(*t);
                }
                n
            })
            .sum()
    }

    /// Like [`Pairs::out_of_order`], but a timestamp seen before (a replayed duplicate) is
    /// not counted: only new samples older than what the series already had.
    pub fn new_out_of_order(&self) -> usize {
        self.series
            .values()
            .map(|ts| {
                let mut seen = HashSet::new();
                let mut newest = i64::MIN;
                let mut n = 0;
                for t in ts {
                    if seen.insert(*t) && *t < newest {
                        n += 1;
                    }
                    newest = newest.max(*t);
                }
                n
            })
            .sum()
    }

    /// The distinct pairs of `expected` missing here: (count, up to 5 examples).
    pub fn missing_from(&self, expected: &Pairs) -> (usize, Vec<String>) {
        let here = self.unique();
        let missing: Vec<(String, i64)> = expected
            .unique()
            .into_iter()
            .filter(|p| !here.contains(p))
            .collect();
        let examples = missing
            .iter()
            .take(5)
            .map(|(k, t)| format!("{k} @{t}"))
            .collect();
        (missing.len(), examples)
    }

    /// `Ok` when both hold exactly the same distinct pairs, else a message naming how many
    /// are missing and extra (with examples).
    pub fn same_set_as(&self, expected: &Pairs, who: &str) -> Result<(), String> {
        let (missing, missing_examples) = self.missing_from(expected);
        let (extra, extra_examples) = expected.missing_from(self);
        if missing == 0 && extra == 0 {
            return Ok(());
        }
        Err(format!(
            "{who}: expected {} distinct pairs in {} series, saw {} in {} series: \
             {missing} missing (e.g. {missing_examples:?}), {extra} extra (e.g. {extra_examples:?})",
            expected.unique_count(),
            expected.series_count(),
            self.unique_count(),
            self.series_count(),
        ))
    }
}

/// The pairs of every recorded request body (the protocol read from its Content-Type), in
/// arrival order. A body that does not decode is an error naming its position.
pub fn of_recorded(records: &[crate::receiver::Recorded]) -> Result<Pairs, String> {
    let mut pairs = Pairs::new();
    for (i, r) in records.iter().enumerate() {
        let one = of_request(r).map_err(|e| format!("recorded request {i}: {e}"))?;
        pairs.extend(&one);
    }
    Ok(pairs)
}

/// The pairs of one recorded request body.
pub fn of_request(record: &crate::receiver::Recorded) -> Result<Pairs, String> {
    let protocol = prw_core::negotiate::negotiate(
        record.header("content-type"),
        record.header("content-encoding"),
    )
    .map_err(|e| e.to_string())?
    .protocol();
    let mut pairs = Pairs::new();
    pairs
        .add_body(&record.body, protocol)
        .map_err(|e| e.to_string())?;
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, i64)]) -> Pairs {
        let mut p = Pairs::new();
        for (k, t) in items {
            p.push((*k).to_string(), *t);
        }
        p
    }

    #[test]
    fn series_key_sorts_labels_so_every_source_agrees() {
        assert_eq!(
            series_key([("job", "a"), ("__name__", "up")]),
            series_key([("__name__", "up"), ("job", "a")])
        );
        assert_eq!(series_key([("a", "x\"y")]), r#"{a="x\"y"}"#);
    }

    #[test]
    fn a_replayed_duplicate_is_not_a_new_out_of_order_sample() {
        let p = pairs(&[("s", 1), ("s", 2), ("s", 2), ("s", 1), ("s", 3)]);
        assert_eq!(p.duplicates(), 2);
        assert_eq!(p.out_of_order(), 1);
        assert_eq!(p.new_out_of_order(), 0);
        let late = pairs(&[("s", 2), ("s", 1)]);
        assert_eq!(late.new_out_of_order(), 1);
    }

    #[test]
    fn same_set_ignores_repeats_and_names_what_is_missing_and_extra() {
        let expected = pairs(&[("a", 1), ("a", 2), ("b", 1)]);
        assert!(
            pairs(&[("b", 1), ("a", 2), ("a", 1), ("a", 1)])
                .same_set_as(&expected, "x")
                .is_ok()
        );
        let err = pairs(&[("a", 1), ("c", 9)])
            .same_set_as(&expected, "x")
            .unwrap_err();
        assert!(
            err.contains("2 missing") && err.contains("1 extra"),
            "{err}"
        );
    }

    #[test]
    fn window_keeps_from_exclusive_to_inclusive() {
        let p = pairs(&[("a", 1), ("a", 2), ("a", 3)]).window(1, 2);
        assert_eq!(p.unique(), [("a".to_string(), 2)].into_iter().collect());
    }

    #[test]
    fn prometheus_matrix_and_victoria_export_read_to_the_same_pairs() {
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"__name__":"m","job":"j"},"values":[[1700000000.123,"1"],[1700000001,"2"]]}]}}"#;
        let export = r#"{"metric":{"job":"j","__name__":"m"},"values":[1,2],"timestamps":[1700000000123,1700000001000]}"#;
        let a = Pairs::from_prometheus_matrix(matrix).unwrap();
        let b = Pairs::from_victoria_export(export).unwrap();
        assert_eq!(a.unique_count(), 2);
        assert!(a.same_set_as(&b, "victoria").is_ok());
    }

    #[test]
    fn a_v1_and_a_v2_body_of_the_same_series_give_the_same_pairs() {
        use crate::payload::{Series, v1, v2};
        let series = [Series::new(
            &[("__name__", "m"), ("job", "j")],
            &[(5, 1.0), (6, 2.0)],
        )];
        let mut a = Pairs::new();
        a.add_body(&v1(&series), Protocol::V1).unwrap();
        let mut b = Pairs::new();
        b.add_body(&v2(&series), Protocol::V2).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.total(), 2);
    }
}
