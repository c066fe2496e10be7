//! An in-memory transport that answers from a script, for paused-time tests of the queue and
//! the retry loop (no sockets, so tokio's paused clock stays exact).
//!
//! Also the hook doubles ([`hooks`]): [`ScriptedDecorator`] and [`RecordingObserver`].
//!
//! Invariants: answers are given in script order; when the script is exhausted every request
//! gets the default answer (200 unless set); every request is logged with its start and end
//! time, and the highest number of concurrent requests is tracked.

pub mod hooks;

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use hyper::http::{HeaderMap, HeaderName, HeaderValue};
use tokio::time::Instant;

use super::transport::{OutgoingRequest, Response, Transport, TransportError, TransportFuture};

pub use hooks::{ObservedAttempt, RecordingObserver, ScriptedDecorator};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Answer {
    /// An HTTP answer.
    Status {
        /// Status code.
        status: u16,
        /// Headers, as (name, value).
        headers: Vec<(&'static str, String)>,
        /// Body prefix.
        body: Bytes,
    },
    /// The connection could not be made.
    ConnectError,
    /// No answer within the timeout.
    Timeout,
}

impl Answer {
    /// An answer with a status and no headers.
    pub fn status(status: u16) -> Self {
        Answer::Status {
            status,
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// An answer with a status and headers.
    pub fn with_headers(status: u16, headers: &[(&'static str, &str)]) -> Self {
        Answer::Status {
            status,
            headers: headers.iter().map(|(n, v)| (*n, (*v).to_owned())).collect(),
            body: Bytes::new(),
        }
    }
}

/// One step: wait `delay` (the receiver's processing time), then give `answer`.
#[derive(Debug, Clone)]
pub struct Step {
    /// Time the "receiver" takes.
    pub delay: Duration,
    /// What it answers.
    pub answer: Answer,
}

/// A request the transport saw.
#[derive(Debug, Clone)]
pub struct SentRequest {
    /// When it arrived.
    pub started: Instant,
    /// When it was answered.
    pub finished: Instant,
    /// The request.
    pub request: OutgoingRequest,
}

/// The scripted transport.
#[derive(Debug)]
pub struct ScriptedTransport {
    script: Mutex<VecDeque<Step>>,
    default: Mutex<Step>,
    log: Mutex<Vec<SentRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Default for ScriptedTransport {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptedTransport {
    /// Answers 200 at once to everything until scripted otherwise.
    pub fn new() -> Self {
        ScriptedTransport {
            script: Mutex::new(VecDeque::new()),
            default: Mutex::new(Step {
                delay: Duration::ZERO,
                answer: Answer::status(200),
            }),
            log: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
        }
    }

    /// Appends answers given at once.
    pub fn push(&self, answers: impl IntoIterator<Item = Answer>) {
        self.push_steps(answers.into_iter().map(|answer| Step {
            delay: Duration::ZERO,
            answer,
        }));
    }

    /// Appends steps.
    pub fn push_steps(&self, steps: impl IntoIterator<Item = Step>) {
        if let Ok(mut script) = self.script.lock() {
            script.extend(steps);
        }
    }

    /// What to answer once the script is exhausted.
    pub fn set_default(&self, step: Step) {
        if let Ok(mut default) = self.default.lock() {
            *default = step;
        }
    }

    /// Every request seen so far, in arrival order.
    pub fn requests(&self) -> Vec<SentRequest> {
        self.log.lock().map(|log| log.clone()).unwrap_or_default()
    }

    /// The most requests that were ever in flight at once.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    fn next_step(&self) -> Step {
        let scripted = self.script.lock().ok().and_then(|mut s| s.pop_front());
        match scripted {
            Some(step) => step,
            None => self.default.lock().map(|d| d.clone()).unwrap_or(Step {
                delay: Duration::ZERO,
                answer: Answer::status(200),
            }),
        }
    }
}

impl Transport for ScriptedTransport {
    fn send(&self, request: OutgoingRequest) -> TransportFuture<'_> {
        Box::pin(async move {
            let started = Instant::now();
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let step = self.next_step();
            // Decrement even if the caller drops this future mid-delay.
            let _guard = InFlight(&self.in_flight);
            tokio::time::sleep(step.delay).await;
            if let Ok(mut log) = self.log.lock() {
                log.push(SentRequest {
                    started,
                    finished: Instant::now(),
                    request,
                });
            }
            match step.answer {
                Answer::Status {
                    status,
                    headers,
                    body,
                } => {
                    let mut map = HeaderMap::new();
                    for (name, value) in headers {
                        if let Ok(value) = HeaderValue::from_str(&value) {
                            if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                                map.append(name, value);
                            }
                        }
                    }
                    Ok(Response {
                        status,
                        headers: map,
                        body_prefix: body,
                    })
                }
                Answer::ConnectError => Err(TransportError::Connect("scripted refusal".into())),
                Answer::Timeout => Err(TransportError::Timeout(step.delay)),
            }
        })
    }
}

struct InFlight<'a>(&'a AtomicUsize);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}
