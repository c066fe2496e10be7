//! Test doubles of the send-side hooks: a [`ScriptedDecorator`] (adds a header, fails when
//! told, asks for a resend on chosen statuses) and a [`RecordingObserver`] (keeps an owned
//! copy of every attempt report).

use std::collections::VecDeque;
use std::sync::Mutex;

use bytes::Bytes;
use hyper::http::{HeaderName, HeaderValue, Uri};
use prw_core::Protocol;

use crate::record::ForwardedHeader;
use crate::send::batch::ItemCounts;
use crate::send::decorate::{AfterAnswer, DecorateError, DecorateFuture, RequestDecorator};
use crate::send::observe::{AttemptObserver, AttemptOutcome, AttemptReport};
use crate::send::transport::OutgoingRequest;

/// Adds `header: <retry-attempt or "-">/<body length>/<decoration number>` to every request it
/// decorates (so a test sees that it ran last, on the final headers and body), fails the
/// decorations scripted to fail, and answers `ResendNow` to the statuses given.
#[derive(Debug)]
pub struct ScriptedDecorator {
    header: HeaderName,
    failures: Mutex<VecDeque<bool>>,
    resend_on: Vec<u16>,
    decorated: Mutex<u32>,
    answers: Mutex<Vec<u16>>,
}

impl ScriptedDecorator {
    /// Decorates with `header`; never fails; never asks for a resend.
    pub fn new(header: &'static str) -> Self {
        ScriptedDecorator {
            header: HeaderName::from_static(header),
            failures: Mutex::new(VecDeque::new()),
            resend_on: Vec::new(),
            decorated: Mutex::new(0),
            answers: Mutex::new(Vec::new()),
        }
    }

    /// The next decorations fail (`true`) or succeed (`false`) in this order; then they
    /// succeed.
    pub fn script_failures(self, failures: impl IntoIterator<Item = bool>) -> Self {
        if let Ok(mut script) = self.failures.lock() {
            script.extend(failures);
        }
        self
    }

    /// Answers `ResendNow` to these statuses.
    pub fn resend_on(mut self, statuses: &[u16]) -> Self {
        self.resend_on = statuses.to_vec();
        self
    }

    /// Every status `after_answer` was shown, in order.
    pub fn answers(&self) -> Vec<u16> {
        self.answers.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// How many times `decorate` ran (failures included).
    pub fn decorations(&self) -> u32 {
        self.decorated.lock().map(|n| *n).unwrap_or_default()
    }
}

impl RequestDecorator for ScriptedDecorator {
    fn decorate<'a>(&'a self, request: &'a mut OutgoingRequest) -> DecorateFuture<'a> {
        Box::pin(async move {
            let number = match self.decorated.lock() {
                Ok(mut n) => {
                    *n += 1;
                    *n
                }
                Err(_) => 0,
            };
            let fail = self
                .failures
                .lock()
                .ok()
                .and_then(|mut f| f.pop_front())
                .unwrap_or(false);
            if fail {
                return Err(DecorateError::with_source(
                    "scripted decoration",
                    "credentials unavailable",
                ));
            }
            let attempt = request
                .headers
                .get("retry-attempt")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            let value = format!("{attempt}/{}/{number}", request.body.len());
            let value = HeaderValue::from_str(&value)
                .map_err(|e| DecorateError::with_source("header value", e))?;
            request.headers.insert(self.header.clone(), value);
            Ok(())
        })
    }

    fn after_answer(&self, status: u16) -> AfterAnswer {
        if let Ok(mut answers) = self.answers.lock() {
            answers.push(status);
        }
        if self.resend_on.contains(&status) {
            AfterAnswer::ResendNow
        } else {
            AfterAnswer::Proceed
        }
    }
}

/// An owned copy of an [`AttemptReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct ObservedAttempt {
    /// `destination`.
    pub destination: String,
    /// `url`.
    pub url: Uri,
    /// `protocol`.
    pub protocol: Protocol,
    /// `retry_attempt`.
    pub retry_attempt: u32,
    /// `body`.
    pub body: Bytes,
    /// `forwarded`.
    pub forwarded: Vec<ForwardedHeader>,
    /// `counts`.
    pub counts: ItemCounts,
    /// `status`.
    pub status: Option<u16>,
    /// `answer_prefix`.
    pub answer_prefix: Bytes,
    /// `outcome`.
    pub outcome: AttemptOutcome,
}

/// Keeps every attempt report it sees.
#[derive(Debug, Default)]
pub struct RecordingObserver {
    seen: Mutex<Vec<ObservedAttempt>>,
}

impl RecordingObserver {
    /// The reports so far, in order.
    pub fn attempts(&self) -> Vec<ObservedAttempt> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl AttemptObserver for RecordingObserver {
    fn observe(&self, attempt: &AttemptReport<'_>) {
        let copy = ObservedAttempt {
            destination: attempt.destination.to_owned(),
            url: attempt.url.clone(),
            protocol: attempt.protocol,
            retry_attempt: attempt.retry_attempt,
            body: attempt.body.clone(),
            forwarded: attempt.forwarded.to_vec(),
            counts: attempt.counts,
            status: attempt.status,
            answer_prefix: Bytes::copy_from_slice(attempt.answer_prefix),
            outcome: attempt.outcome,
        };
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(copy);
        }
    }
}
