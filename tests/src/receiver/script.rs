//! Scripted answers: what the receiver replies to each request, in order.
//!
//! Invariant: answers are consumed one per request from the front of the script; when the
//! script is empty the receiver's default answer is used (never an error).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// One reply the receiver makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    /// A response with this status, headers and body.
    Status {
        /// HTTP status.
        status: u16,
        /// Extra headers.
        headers: Vec<(String, String)>,
        /// Body.
        body: String,
    },
    /// Wait, then answer.
    Slow {
        /// How long to wait before answering.
        delay: Duration,
        /// The answer after the wait.
        then: Box<Answer>,
    },
    /// Close the connection without answering (the client sees a reset / EOF).
    Reset,
}

impl Answer {
    /// A bare status with no headers and an empty body.
    pub fn status(status: u16) -> Answer {
        Answer::Status {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// 429 or 503 with `Retry-After: seconds`.
    pub fn retry_after(status: u16, seconds: u32) -> Answer {
        Answer::Status {
            status,
            headers: vec![("retry-after".to_string(), seconds.to_string())],
            body: String::new(),
        }
    }

    /// This answer after `delay`.
    pub fn slow(delay: Duration, then: Answer) -> Answer {
        Answer::Slow {
            delay,
            then: Box::new(then),
        }
    }
}

/// Why a script text cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "bad answer {answer:?}: {reason} (forms: 204, 429:retry-after=3, slow:2s:204, slow:500ms:reset, reset)"
)]
pub struct ScriptError {
    /// The answer text.
    pub answer: String,
    /// What is wrong.
    pub reason: &'static str,
}

fn parse_delay(text: &str) -> Option<Duration> {
    if let Some(ms) = text.strip_suffix("ms") {
        return ms.parse().ok().map(Duration::from_millis);
    }
    text.strip_suffix('s')?
        .parse()
        .ok()
        .map(Duration::from_secs)
}

impl FromStr for Answer {
    type Err = ScriptError;

    /// `204`, `503`, `429:retry-after=3`, `slow:2s:204`, `slow:500ms:reset`, `reset`.
    fn from_str(text: &str) -> Result<Answer, ScriptError> {
        let err = |reason| ScriptError {
            answer: text.to_string(),
            reason,
        };
        let text = text.trim();
        if text == "reset" {
            return Ok(Answer::Reset);
        }
        if let Some(rest) = text.strip_prefix("slow:") {
            let (delay, then) = rest
                .split_once(':')
                .ok_or_else(|| err("slow needs a delay and an answer"))?;
            let delay = parse_delay(delay).ok_or_else(|| err("delay must be like 2s or 500ms"))?;
            return Ok(Answer::slow(delay, then.parse()?));
        }
        let (status, extra) = match text.split_once(':') {
            Some((s, e)) => (s, Some(e)),
            None => (text, None),
        };
        let status: u16 = status.parse().map_err(|_| err("status is not a number"))?;
        if !(100..=599).contains(&status) {
            return Err(err("status outside 100-599"));
        }
        let mut headers = Vec::new();
        if let Some(extra) = extra {
            let seconds = extra
                .strip_prefix("retry-after=")
                .ok_or_else(|| err("only retry-after=N may follow a status"))?;
            headers.push(("retry-after".to_string(), seconds.to_string()));
        }
        Ok(Answer::Status {
            status,
            headers,
            body: String::new(),
        })
    }
}

impl fmt::Display for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Answer::Status {
                status, headers, ..
            } => {
                write!(f, "{status}")?;
                for (name, value) in headers {
                    write!(f, ":{name}={value}")?;
                }
                Ok(())
            }
            Answer::Slow { delay, then } => write!(f, "slow:{}ms:{then}", delay.as_millis()),
            Answer::Reset => f.write_str("reset"),
        }
    }
}

/// Parses a comma-separated script such as `500,503,429:retry-after=1,204`.
pub fn parse_script(text: &str) -> Result<Vec<Answer>, ScriptError> {
    text.split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_text_parses_every_answer_form() {
        let script =
            parse_script("500, 429:retry-after=3,slow:2s:204,slow:250ms:reset,reset").unwrap();
        assert_eq!(
            script,
            vec![
                Answer::status(500),
                Answer::retry_after(429, 3),
                Answer::slow(Duration::from_secs(2), Answer::status(204)),
                Answer::slow(Duration::from_millis(250), Answer::Reset),
                Answer::Reset,
            ]
        );
    }

    #[test]
    fn bad_script_text_names_the_answer() {
        let err = parse_script("204,abc").unwrap_err();
        assert_eq!(err.answer, "abc");
        assert!(parse_script("600").is_err());
        assert!(parse_script("429:foo=1").is_err());
        assert!(parse_script("slow:xs:204").is_err());
    }

    #[test]
    fn display_round_trips() {
        for text in ["204", "429:retry-after=3", "slow:2000ms:503", "reset"] {
            assert_eq!(text.parse::<Answer>().unwrap().to_string(), text);
        }
    }
}
