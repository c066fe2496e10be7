//! Body + options -> the report JSON, exactly as `prw inspect --format json` prints it.
//!
//! Invariant: the string returned is what `prw inspect --format json` writes to stdout:
//! `serde_json::to_string_pretty` of [`prw_core::report::build`]'s
//! [`Report`](prw_core::report::Report) followed by one `\n` (native/cli/src/inspect.rs), so
//! the page's export and the CLI's output are the same bytes. A body that cannot be read is
//! still a report (with `error` set), not an error.

use crate::InspectorError;
use crate::options::InspectOptions;

/// Builds and serializes the report of `body`.
pub fn report_json(body: &[u8], options: &InspectOptions) -> Result<String, InspectorError> {
    let report = prw_core::report::build(body, &options.report_options());
    let json = serde_json::to_string_pretty(&report).map_err(InspectorError::Serialize)?;
    Ok(json + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_payloads as payloads;

    #[test]
    fn report_is_exactly_what_prw_inspect_format_json_prints() {
        let body = payloads::snappy(&payloads::v1_valid());
        let json = report_json(&body, &InspectOptions::default()).unwrap();
        let report = prw_core::report::build(&body, &Default::default());
        let expected = serde_json::to_string_pretty(&report).unwrap() + "\n";
        assert_eq!(json, expected);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["protocol"], "v1");
        assert_eq!(value["series"][0]["samples"][1]["v"], "StaleNaN");
        assert_eq!(
            value["verdict"],
            serde_json::json!({"status": 204, "retry": "no"})
        );
    }

    #[test]
    fn unreadable_body_is_a_report_with_error_not_an_error() {
        let json = report_json(
            b"\xff\xff\xff\xff\xff not a body",
            &InspectOptions::default(),
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(value["error"].is_string(), "{json}");
        assert_eq!(value["verdict"]["status"], 400);
    }

    #[test]
    fn max_series_pages_the_listing_but_not_the_counts() {
        let body = payloads::snappy(&payloads::v1_valid());
        let options = InspectOptions {
            max_series: Some(1),
            ..Default::default()
        };
        let value: serde_json::Value =
            serde_json::from_str(&report_json(&body, &options).unwrap()).unwrap();
        assert_eq!(value["series"].as_array().unwrap().len(), 1);
        assert_eq!(value["counts"]["series"], 3);
    }

    #[test]
    fn unsorted_labels_give_a_located_finding_and_a_400_verdict() {
        let body = payloads::snappy(&payloads::v1_unsorted());
        let value: serde_json::Value =
            serde_json::from_str(&report_json(&body, &InspectOptions::default()).unwrap()).unwrap();
        assert_eq!(value["findings"][0]["rule"], "labels.unsorted");
        assert_eq!(value["findings"][0]["series"], 1);
        assert_eq!(value["verdict"]["status"], 400);
    }
}
