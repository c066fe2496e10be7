//! The request decorator and the attempt observers in the retry loop, in paused time.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::send::observe::AttemptOutcome;
use crate::send::scripted::{RecordingObserver, ScriptedDecorator};

fn with_decorator(f: &mut Fixture, decorator: ScriptedDecorator) -> Arc<ScriptedDecorator> {
    let decorator = Arc::new(decorator);
    f.ctx.decorator = Some(decorator.clone());
    decorator
}

fn with_observer(f: &mut Fixture) -> Arc<RecordingObserver> {
    let observer = Arc::new(RecordingObserver::default());
    f.ctx.observers.push(observer.clone());
    observer
}

/// The decorator's header on every request the transport saw.
fn signatures(f: &Fixture) -> Vec<String> {
    f.transport
        .requests()
        .iter()
        .map(|r| {
            r.request.headers["x-signature"]
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[tokio::test(start_paused = true)]
async fn the_decorator_runs_last_on_every_attempt_including_retries() {
    let mut f = fixture(Protocol::V1, 30, 5000, false);
    let decorator = with_decorator(&mut f, ScriptedDecorator::new("x-signature"));
    f.transport.push([500, 503].map(Answer::status));
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    let requests = f.transport.requests();
    let len = requests[0].request.body.len();
    // It saw the Retry-Attempt header and the final body of each attempt.
    assert_eq!(
        signatures(&f),
        vec![
            format!("-/{len}/1"),
            format!("1/{len}/2"),
            format!("2/{len}/3")
        ]
    );
    assert_eq!(decorator.answers(), vec![500, 503, 200]);
}

#[tokio::test(start_paused = true)]
async fn a_decoration_error_is_retried_with_backoff_and_never_drops_the_batch() {
    let mut f = fixture(Protocol::V1, 30, 5000, false);
    let decorator = with_decorator(
        &mut f,
        ScriptedDecorator::new("x-signature").script_failures([true, true]),
    );
    let observer = with_observer(&mut f);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    // Nothing went out until the third decoration, after 30 + 60 ms of backoff.
    assert_eq!(offsets_ms(&f), vec![90]);
    assert_eq!(decorator.decorations(), 3);
    let text = metrics_text(&f);
    assert!(has_line(
        &text,
        r#"prw_remote_decorate_errors_total{remote_name="dest",url="http://x/"} 2"#
    ));
    assert!(!text.contains(r#"status="transport_error""#), "{text}");
    let outcomes: Vec<_> = observer
        .attempts()
        .iter()
        .map(|a| (a.status, a.outcome))
        .collect();
    assert_eq!(
        outcomes,
        vec![
            (
                None,
                AttemptOutcome::Retrying {
                    delay: Duration::from_millis(30)
                }
            ),
            (
                None,
                AttemptOutcome::Retrying {
                    delay: Duration::from_millis(60)
                }
            ),
            (Some(200), AttemptOutcome::Delivered),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn resend_now_after_a_401_resends_once_at_once() {
    let mut f = fixture(Protocol::V1, 30, 5000, false);
    let decorator = with_decorator(
        &mut f,
        ScriptedDecorator::new("x-signature").resend_on(&[401]),
    );
    f.transport.push([Answer::status(401)]);
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    assert_eq!(offsets_ms(&f), vec![0, 0]);
    assert_eq!(decorator.answers(), vec![401, 200]);
    let bodies: Vec<_> = f
        .transport
        .requests()
        .iter()
        .map(|r| r.request.body.clone())
        .collect();
    assert_eq!(bodies[0], bodies[1], "the same batch is resent");
    assert!(has_line(
        &metrics_text(&f),
        r#"prometheus_remote_storage_samples_retried_total{remote_name="dest",url="http://x/"} 2"#
    ));
}

#[tokio::test(start_paused = true)]
async fn a_second_401_after_resend_now_drops_the_batch() {
    let mut f = fixture(Protocol::V1, 30, 5000, true);
    let decorator = with_decorator(
        &mut f,
        ScriptedDecorator::new("x-signature").resend_on(&[401]),
    );
    f.transport.push([401, 401].map(Answer::status));
    assert_eq!(
        run(&f, batch()).await,
        Outcome::Dropped { status: Some(401) }
    );
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(f.transport.requests().len(), 2);
    assert_eq!(decorator.answers(), vec![401, 401]);
}

#[tokio::test(start_paused = true)]
async fn resend_now_is_ignored_on_a_2xx() {
    let mut f = fixture(Protocol::V1, 30, 5000, false);
    with_decorator(
        &mut f,
        ScriptedDecorator::new("x-signature").resend_on(&[200]),
    );
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);
    assert_eq!(f.transport.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn observers_see_each_attempt_once_with_its_status_body_and_outcome() {
    let mut f = fixture(Protocol::V1, 30, 5000, false);
    let observer = with_observer(&mut f);
    let second = with_observer(&mut f);
    f.transport.push([
        Answer::status(500),
        Answer::ConnectError,
        Answer::Status {
            status: 400,
            headers: Vec::new(),
            body: Bytes::from_static(b"bad labels"),
        },
    ]);
    assert_eq!(
        run(&f, batch()).await,
        Outcome::Dropped { status: Some(400) }
    );
    assert_eq!(run(&f, batch()).await, Outcome::Delivered);

    let seen = observer.attempts();
    assert_eq!(seen, second.attempts());
    let summary: Vec<_> = seen
        .iter()
        .map(|a| (a.retry_attempt, a.status, a.outcome))
        .collect();
    assert_eq!(
        summary,
        vec![
            (
                0,
                Some(500),
                AttemptOutcome::Retrying {
                    delay: Duration::from_millis(30)
                }
            ),
            (
                1,
                None,
                AttemptOutcome::Retrying {
                    delay: Duration::from_millis(60)
                }
            ),
            (2, Some(400), AttemptOutcome::Dropped),
            (0, Some(200), AttemptOutcome::Delivered),
        ]
    );
    let sent = f.transport.requests();
    for (attempt, request) in seen.iter().zip(&sent) {
        assert_eq!(attempt.body, request.request.body, "body exactly as sent");
        assert_eq!(attempt.destination, "dest");
        assert_eq!(attempt.url, f.ctx.url);
        assert_eq!(attempt.protocol, Protocol::V1);
        assert_eq!(attempt.counts.samples, 2);
    }
    assert_eq!(seen[2].answer_prefix, Bytes::from_static(b"bad labels"));
    assert_eq!(decode_body(&seen[2].body).timeseries.len(), 2);
}

#[tokio::test(start_paused = true)]
async fn observers_see_a_fallback_and_an_abandoned_attempt() {
    let mut f = fixture(Protocol::V2, 30, 5000, false);
    let observer = with_observer(&mut f);
    f.transport.push([Answer::status(415)]);
    f.transport.set_default(crate::send::scripted::Step {
        delay: Duration::from_secs(10),
        answer: Answer::status(200),
    });
    let stop = f.ctx.stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.cancel();
    });
    assert_eq!(run_v2(&f, batch()).await, Outcome::Aborted);
    let summary: Vec<_> = observer
        .attempts()
        .iter()
        .map(|a| (a.protocol, a.status, a.outcome))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Protocol::V2, Some(415), AttemptOutcome::FellBackToV1),
            (Protocol::V1, None, AttemptOutcome::Aborted),
        ]
    );
}
