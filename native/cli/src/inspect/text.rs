//! The human-readable rendering of a report: summary, series table, findings.

use std::fmt::Write;

use prw_core::report::{Report, SeriesReport, Value};

/// Renders `report` as text.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = write_report(&mut out, report);
    out
}

fn write_report(out: &mut String, r: &Report) -> std::fmt::Result {
    if let Some(error) = &r.error {
        writeln!(out, "error      {error}")?;
        writeln!(out, "verdict    {}", r.verdict.status)?;
        return Ok(());
    }
    let compressed = match r.compressed_bytes {
        Some(n) => format!("{n} bytes snappy"),
        None => "raw protobuf".to_string(),
    };
    let decoded = r
        .decoded_bytes
        .map_or("-".to_string(), |n| format!("{n} bytes"));
    writeln!(
        out,
        "protocol   {}   input {compressed}   decoded {decoded}",
        r.protocol
    )?;
    let c = &r.counts;
    writeln!(
        out,
        "counts     series {}   samples {}   histograms {}   exemplars {}   metadata {}",
        c.series, c.samples, c.histograms, c.exemplars, c.metadata
    )?;
    let retry = match r.verdict.retry {
        prw_core::report::Retry::Yes => "yes",
        prw_core::report::Retry::No => "no",
        prw_core::report::Retry::If429Enabled => "if 429 retries are enabled",
    };
    writeln!(
        out,
        "verdict    {} (sender retries: {retry})",
        r.verdict.status
    )?;
    if !r.series.is_empty() {
        writeln!(
            out,
            "\n{:>6}  {:>7}  {:>5}  {:>4}  {:<24}  series",
            "#", "samples", "hist", "exem", "last sample"
        )?;
        for (i, s) in r.series.iter().enumerate() {
            writeln!(
                out,
                "{i:>6}  {:>7}  {:>5}  {:>4}  {:<24}  {}",
                s.samples.len(),
                s.histograms.len(),
                s.exemplars.len(),
                last_sample(s),
                labels(s)
            )?;
        }
        if (r.series.len() as u64) < c.series {
            writeln!(
                out,
                "        ... {} of {} series shown (--max-series)",
                r.series.len(),
                c.series
            )?;
        }
    }
    if !r.metadata.is_empty() {
        writeln!(out, "\nmetadata")?;
        for m in &r.metadata {
            let name = m.metric_family_name.as_deref().unwrap_or("");
            writeln!(out, "  {name} {} {:?} {}", m.r#type, m.help, m.unit)?;
        }
    }
    if r.findings.is_empty() {
        writeln!(out, "\nno findings")?;
    } else {
        writeln!(out, "\nfindings ({})", r.findings.len())?;
        for f in &r.findings {
            let mut at = String::new();
            if let Some(s) = f.series {
                let _ = write!(at, " series {s}");
            }
            if let Some(s) = f.sample {
                let _ = write!(at, " sample {s}");
            }
            if let Some(l) = &f.label {
                let _ = write!(at, " label {l:?}");
            }
            writeln!(
                out,
                "  {:<7} {:<32}{at}: {}",
                f.severity.as_str(),
                f.rule.id(),
                f.message
            )?;
        }
    }
    Ok(())
}

fn value(v: Value) -> String {
    let x = v.0;
    if x.to_bits() == prw_core::validate::STALE_NAN_BITS {
        "StaleNaN".to_string()
    } else {
        format!("{x}")
    }
}

fn last_sample(s: &SeriesReport) -> String {
    s.samples.last().map_or_else(
        || {
            s.histograms
                .last()
                .map_or("-".to_string(), |h| format!("@{} histogram", h.t))
        },
        |x| format!("{} @{}", value(x.v), x.t),
    )
}

fn labels(s: &SeriesReport) -> String {
    let mut name = "";
    let mut rest = Vec::new();
    for [n, v] in &s.labels {
        if n == "__name__" && name.is_empty() {
            name = v;
        } else {
            rest.push(format!("{n}={v:?}"));
        }
    }
    format!("{name}{{{}}}", rest.join(", "))
}
