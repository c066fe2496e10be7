//! Response-side decision: keep the status a sender sees spec-correct.
//!
//! Default table (reasons in `envoy/README.md`): upstream 2xx, 4xx, 429 and 5xx pass; Envoy's
//! own 408 becomes 503; a 429 or 503 without `Retry-After` gets one. Rows of the config's
//! `status_rewrites` are looked up before the defaults, a source-specific row
//! (`local:408`) before a source-agnostic one (`408`). Invariant: a rewrite happens at most
//! once per response (the result is not looked up again).

use super::config::default_status_rewrites;
use super::{EdgeConfig, RewriteKey, RewriteSource};

/// Who produced the response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseSource {
    /// The upstream answered.
    Upstream,
    /// Envoy answered itself (timeout, overflow, no healthy upstream...).
    Local,
}

/// What to change in a response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResponseDecision {
    /// The new status, when it changes.
    pub status: Option<u16>,
    /// Seconds for a `Retry-After` header to add, when the response has none.
    pub retry_after: Option<u32>,
}

/// The status `status` from `source` should be shown as (itself when no row matches).
pub fn status_rewrite(config: &EdgeConfig, status: u16, source: ResponseSource) -> u16 {
    let specific = RewriteKey {
        source: match source {
            ResponseSource::Upstream => RewriteSource::Upstream,
            ResponseSource::Local => RewriteSource::Local,
        },
        status,
    };
    let any = RewriteKey {
        source: RewriteSource::Any,
        status,
    };
    let defaults = default_status_rewrites();
    [
        config.status_rewrites.get(&specific),
        config.status_rewrites.get(&any),
        defaults.get(&specific),
        defaults.get(&any),
    ]
    .into_iter()
    .flatten()
    .next()
    .copied()
    .unwrap_or(status)
}

/// Decides the rewrite of one response to an examined request.
pub fn decide_response(
    config: &EdgeConfig,
    status: u16,
    source: ResponseSource,
    has_retry_after: bool,
) -> ResponseDecision {
    let shown = status_rewrite(config, status, source);
    let retry_after = (!has_retry_after
        && config.default_retry_after_seconds > 0
        && config.retry_after_statuses.contains(&shown))
    .then_some(config.default_retry_after_seconds);
    ResponseDecision {
        status: (shown != status).then_some(shown),
        retry_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(status: u16, source: ResponseSource, has_retry_after: bool) -> ResponseDecision {
        decide_response(&EdgeConfig::default(), status, source, has_retry_after)
    }

    const PASS: ResponseDecision = ResponseDecision {
        status: None,
        retry_after: None,
    };

    #[test]
    fn upstream_2xx_4xx_5xx_pass_unchanged() {
        for status in [200, 204, 400, 401, 404, 409, 413, 415, 500, 502, 504] {
            assert_eq!(
                decide(status, ResponseSource::Upstream, false),
                PASS,
                "{status}"
            );
        }
    }

    #[test]
    fn local_408_becomes_503_with_retry_after() {
        let d = decide(408, ResponseSource::Local, false);
        assert_eq!(
            d,
            ResponseDecision {
                status: Some(503),
                retry_after: Some(5)
            }
        );
    }

    #[test]
    fn upstream_408_passes_because_the_default_row_is_local_only() {
        assert_eq!(decide(408, ResponseSource::Upstream, false), PASS);
    }

    #[test]
    fn retryable_429_and_503_get_retry_after_only_when_missing() {
        for status in [429, 503] {
            for source in [ResponseSource::Upstream, ResponseSource::Local] {
                let d = decide(status, source, false);
                assert_eq!(
                    d,
                    ResponseDecision {
                        status: None,
                        retry_after: Some(5)
                    }
                );
                assert_eq!(decide(status, source, true), PASS);
            }
        }
    }

    #[test]
    fn config_rows_win_over_defaults_and_can_switch_them_off() {
        let config: EdgeConfig = serde_json::from_str(
            r#"{"status_rewrites": {"local:408": 408, "409": 503, "upstream:500": 503},
                "default_retry_after_seconds": 30}"#,
        )
        .unwrap();
        let d = decide_response(&config, 408, ResponseSource::Local, false);
        assert_eq!(d, PASS);
        let d = decide_response(&config, 409, ResponseSource::Local, false);
        assert_eq!(
            d,
            ResponseDecision {
                status: Some(503),
                retry_after: Some(30)
            }
        );
        let d = decide_response(&config, 500, ResponseSource::Upstream, true);
        assert_eq!(
            d,
            ResponseDecision {
                status: Some(503),
                retry_after: None
            }
        );
        assert_eq!(
            decide_response(&config, 500, ResponseSource::Local, false),
            PASS
        );
    }

    #[test]
    fn zero_default_retry_after_switches_adding_off() {
        let config: EdgeConfig =
            serde_json::from_str(r#"{"default_retry_after_seconds": 0}"#).unwrap();
        assert_eq!(
            decide_response(&config, 429, ResponseSource::Upstream, false),
            PASS
        );
    }
}
