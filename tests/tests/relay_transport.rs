//! The relay's HTTP transport (`prw_relay::send::HttpTransport`) over real sockets on
//! 127.0.0.1, configured from `remote_write` stanzas exactly as `prw relay` loads them:
//! `tls_config` (self-signed receiver refused by default, accepted with
//! `insecure_skip_verify` or its CA, `server_name` checked against the certificate),
//! `enable_http2`, `follow_redirects` (307/308 resend the body once, 301/302/303 become a GET
//! without body as in Go, loops stop with an error), and proxies (absolute form for http,
//! `CONNECT` with `proxy_connect_header` for https, `no_proxy` bypassing the proxy).

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use bytes::Bytes;
use prw_e2e::proxy::ForwardProxy;
use prw_e2e::receiver::{Answer, Receiver, ReceiverConfig};
use prw_e2e::tls::Identity;
use prw_relay::config::{Overrides, parse};
use prw_relay::send::{HttpTransport, OutgoingRequest, Transport, TransportError};

/// The transport of the one destination of `stanza` (a YAML list item body, indented 4).
fn transport(url: &str, stanza: &str) -> HttpTransport {
    let yaml = format!("remote_write:\n  - url: {url}\n{stanza}");
    let loaded = parse(&yaml, &Overrides::default()).unwrap();
    HttpTransport::new(&loaded.config.destinations[0].client).unwrap()
}

fn request(url: &str) -> OutgoingRequest {
    let mut headers = hyper::HeaderMap::new();
    headers.insert("content-type", "application/x-protobuf".parse().unwrap());
    headers.insert("content-encoding", "snappy".parse().unwrap());
    OutgoingRequest {
        url: url.parse().unwrap(),
        headers,
        body: Bytes::from_static(b"the body"),
    }
}

/// The CA written as an inline `tls_config.ca` value (YAML block scalar, indented 8).
fn ca_block(identity: &Identity) -> String {
    let pem: String = identity
        .cert_pem
        .lines()
        .map(|l| format!("        {l}\n"))
        .collect();
    format!("      ca: |\n{pem}")
}

/// A recording receiver serving TLS with a self-signed certificate for `name`.
async fn tls_receiver(name: &str) -> (Identity, Receiver) {
    let identity = Identity::self_signed(&[name]).unwrap();
    let receiver = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_tls(identity.clone()),
    )
    .await
    .unwrap();
    (identity, receiver)
}

#[tokio::test]
async fn a_self_signed_receiver_is_refused_by_default_and_accepted_when_configured() {
    let (identity, receiver) = tls_receiver("localhost").await;
    let url = format!("https://localhost:{}/api/v1/write", receiver.addr().port());
    let refused = transport(&url, "").send(request(&url)).await.unwrap_err();
    assert!(matches!(refused, TransportError::Connect(_)), "{refused}");
    let insecure = transport(&url, "    tls_config:\n      insecure_skip_verify: true\n");
    assert_eq!(insecure.send(request(&url)).await.unwrap().status, 204);
    let trusted = transport(&url, &format!("    tls_config:\n{}", ca_block(&identity)));
    assert_eq!(trusted.send(request(&url)).await.unwrap().status, 204);
    assert_eq!(receiver.recorded().len(), 2);
}

#[tokio::test]
async fn server_name_is_checked_against_the_certificate() {
    let (identity, receiver) = tls_receiver("receiver.test").await;
    let url = format!("https://127.0.0.1:{}/api/v1/write", receiver.addr().port());
    let ca = ca_block(&identity);
    // The URL's host (127.0.0.1) is not in the certificate.
    let by_host = transport(&url, &format!("    tls_config:\n{ca}"));
    assert!(by_host.send(request(&url)).await.is_err());
    let named = transport(
        &url,
        &format!("    tls_config:\n{ca}      server_name: receiver.test\n"),
    );
    assert_eq!(named.send(request(&url)).await.unwrap().status, 204);
    let wrong = transport(
        &url,
        &format!("    tls_config:\n{ca}      server_name: other.test\n"),
    );
    assert!(wrong.send(request(&url)).await.is_err());
    // Bounded versions still connect when the server offers them.
    for bounds in ["max_version: TLS12", "min_version: TLS13"] {
        let bounded = transport(
            &url,
            &format!("    tls_config:\n{ca}      server_name: receiver.test\n      {bounds}\n"),
        );
        assert_eq!(
            bounded.send(request(&url)).await.unwrap().status,
            204,
            "{bounds}"
        );
    }
    assert_eq!(receiver.recorded().len(), 3);
}

#[tokio::test]
async fn enable_http2_negotiates_h2_over_tls_and_http1_otherwise() {
    let (identity, receiver) = tls_receiver("localhost").await;
    let url = format!("https://localhost:{}/api/v1/write", receiver.addr().port());
    let ca = ca_block(&identity);
    let h2 = transport(
        &url,
        &format!("    enable_http2: true\n    tls_config:\n{ca}"),
    );
    h2.send(request(&url)).await.unwrap();
    let h1 = transport(&url, &format!("    tls_config:\n{ca}"));
    h1.send(request(&url)).await.unwrap();
    let versions: Vec<String> = receiver.recorded().into_iter().map(|r| r.version).collect();
    assert_eq!(versions, ["HTTP/2.0", "HTTP/1.1"]);
    assert_eq!(receiver.recorded()[0].body, Bytes::from_static(b"the body"));
}

fn redirect(status: u16, location: &str) -> Answer {
    Answer::Status {
        status,
        headers: vec![("location".into(), location.into())],
        body: String::new(),
    }
}

#[tokio::test]
async fn a_307_is_followed_with_the_body_and_the_data_arrives_once() {
    let target = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let first = Receiver::start(ReceiverConfig::default().recording().with_script([
        redirect(307, &target.url("/moved")),
        redirect(308, "/again"),
    ]))
    .await
    .unwrap();
    let url = first.url("/api/v1/write");
    let t = transport(&url, "");
    assert_eq!(t.send(request(&url)).await.unwrap().status, 204);
    let arrived = target.recorded();
    assert_eq!(arrived.len(), 1, "the data arrives once");
    assert_eq!(arrived[0].method, "POST");
    assert_eq!(arrived[0].path, "/moved");
    assert_eq!(arrived[0].body, Bytes::from_static(b"the body"));
    assert_eq!(arrived[0].header("content-encoding"), Some("snappy"));
    // 308 to a relative location, on the same server.
    assert_eq!(t.send(request(&url)).await.unwrap().status, 204);
    let again = first.recorded();
    assert_eq!(again.last().unwrap().path, "/again");
    assert_eq!(again.last().unwrap().body, Bytes::from_static(b"the body"));
}

#[tokio::test]
async fn a_302_becomes_a_get_without_body_as_in_go_and_follow_redirects_false_keeps_the_3xx() {
    let target = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_default(Answer::status(405)),
    )
    .await
    .unwrap();
    let first = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_default(redirect(302, &target.url("/get-me"))),
    )
    .await
    .unwrap();
    let url = first.url("/api/v1/write");
    let answer = transport(&url, "").send(request(&url)).await.unwrap();
    assert_eq!(answer.status, 405);
    let got = target.recorded();
    assert_eq!((got[0].method.as_str(), got[0].body.len()), ("GET", 0));
    assert_eq!(got[0].header("content-type"), None);
    let kept = transport(&url, "    follow_redirects: false\n")
        .send(request(&url))
        .await
        .unwrap();
    assert_eq!(kept.status, 302);
    assert_eq!(target.recorded().len(), 1);
}

#[tokio::test]
async fn a_redirect_loop_is_an_error_naming_the_loop() {
    let looping = Receiver::start(
        ReceiverConfig::default()
            .recording()
            .with_default(redirect(307, "/api/v1/write")),
    )
    .await
    .unwrap();
    let url = looping.url("/api/v1/write");
    let err = transport(&url, "").send(request(&url)).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("stopped after 10 redirects (a redirect loop)"),
        "{text}"
    );
    assert_eq!(looping.recorded().len(), 10, "Go's limit: 10 requests");
}

#[tokio::test]
async fn http_goes_through_the_proxy_in_absolute_form_with_its_credentials() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let proxy = ForwardProxy::start().await.unwrap();
    let url = receiver.url("/api/v1/write");
    let proxied = proxy.url().replace("http://", "http://user:pa%20ss@");
    let t = transport(&url, &format!("    proxy_url: {proxied}\n"));
    for _ in 0..2 {
        assert_eq!(t.send(request(&url)).await.unwrap().status, 204);
    }
    let seen = proxy.seen();
    assert_eq!(seen.len(), 2, "the proxy sees every request");
    assert_eq!(seen[0].method, "POST");
    assert_eq!(seen[0].target, url, "absolute form");
    // base64("user:pa ss")
    assert_eq!(
        seen[0].header("proxy-authorization"),
        Some("Basic dXNlcjpwYSBzcw==")
    );
    assert_eq!(receiver.recorded().len(), 2);
    assert_eq!(receiver.recorded()[0].header("proxy-authorization"), None);
}

#[tokio::test]
async fn https_goes_through_a_connect_tunnel_with_proxy_connect_header() {
    let (identity, receiver) = tls_receiver("localhost").await;
    let proxy =
        ForwardProxy::start_with_hosts(BTreeMap::from([("localhost".to_owned(), receiver.addr())]))
            .await
            .unwrap();
    let url = format!("https://localhost:{}/api/v1/write", receiver.addr().port());
    let t = transport(
        &url,
        &format!(
            "    proxy_url: {}\n    proxy_connect_header:\n      X-Proxy-Tenant: [blue]\n    tls_config:\n{}",
            proxy.url(),
            ca_block(&identity)
        ),
    );
    assert_eq!(t.send(request(&url)).await.unwrap().status, 204);
    let seen = proxy.seen();
    assert_eq!(seen[0].method, "CONNECT");
    assert_eq!(
        seen[0].target,
        format!("localhost:{}", receiver.addr().port())
    );
    assert_eq!(seen[0].header("x-proxy-tenant"), Some("blue"));
    assert_eq!(receiver.recorded().len(), 1);
}

#[tokio::test]
async fn no_proxy_bypasses_the_proxy() {
    let receiver = Receiver::start(ReceiverConfig::default().recording())
        .await
        .unwrap();
    let proxy = ForwardProxy::start_with_hosts(BTreeMap::from([(
        "receiver.test".to_owned(),
        receiver.addr(),
    )]))
    .await
    .unwrap();
    // A name only the proxy can resolve: with no_proxy naming another host it is proxied.
    let named = format!(
        "http://receiver.test:{}/api/v1/write",
        receiver.addr().port()
    );
    let other = transport(
        &named,
        &format!(
            "    proxy_url: {}\n    no_proxy: other.test,10.0.0.0/8\n",
            proxy.url()
        ),
    );
    assert_eq!(other.send(request(&named)).await.unwrap().status, 204);
    assert_eq!(proxy.seen().len(), 1);
    // Listed in no_proxy (a parent domain): the relay goes direct, so the name does not
    // resolve, and the proxy sees nothing.
    let bypass = transport(
        &named,
        &format!(
            "    remote_timeout: 3s\n    proxy_url: {}\n    no_proxy: .test\n",
            proxy.url()
        ),
    );
    assert!(bypass.send(request(&named)).await.is_err());
    assert_eq!(proxy.seen().len(), 1);
    // An IP in no_proxy: direct, delivered without the proxy.
    let url = receiver.url("/api/v1/write");
    let direct = transport(
        &url,
        &format!("    proxy_url: {}\n    no_proxy: 127.0.0.1\n", proxy.url()),
    );
    assert_eq!(direct.send(request(&url)).await.unwrap().status, 204);
    assert_eq!(proxy.seen().len(), 1);
    assert_eq!(receiver.recorded().len(), 2);
}
