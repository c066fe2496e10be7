//! The hyper transport against a tiny one-shot HTTP/1.1 server on 127.0.0.1 (real socket).

use std::time::Duration;

use bytes::Bytes;
use hyper::http::HeaderMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// Answers one connection with `answer` and returns what the client sent.
async fn one_shot(answer: &'static [u8]) -> (String, tokio::task::JoinHandle<Vec<u8>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/v1/write", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        // Read the head and the 5-byte body.
        while !seen.ends_with(b"hello") {
            let n = socket.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        socket.write_all(answer).await.unwrap();
        socket.shutdown().await.unwrap();
        seen
    });
    (url, task)
}

fn settings(timeout_secs: u64) -> ClientSettings {
    ClientSettings {
        timeout: Duration::from_secs(timeout_secs),
        follow_redirects: true,
        ..ClientSettings::default()
    }
}

fn request(url: &str) -> OutgoingRequest {
    let mut headers = HeaderMap::new();
    headers.insert("content-encoding", "snappy".parse().unwrap());
    OutgoingRequest {
        url: url.parse().unwrap(),
        headers,
        body: Bytes::from_static(b"hello"),
    }
}

#[tokio::test]
async fn posts_headers_and_body_and_reads_status_headers_and_body_prefix() {
    let body = "x".repeat(3000);
    let answer: &'static [u8] = Box::leak(
        format!(
            "HTTP/1.1 400 Bad Request\r\nRetry-After: 7\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
        .into_boxed_slice(),
    );
    let (url, server) = one_shot(answer).await;
    let transport = HttpTransport::new(&settings(5)).unwrap();
    let response = transport.send(request(&url)).await.unwrap();
    assert_eq!(response.status, 400);
    assert_eq!(response.header("retry-after"), Some("7"));
    assert_eq!(response.body_prefix.len(), BODY_PREFIX_LIMIT);
    let seen = String::from_utf8(server.await.unwrap()).unwrap();
    assert!(
        seen.starts_with("POST /api/v1/write HTTP/1.1\r\n"),
        "{seen}"
    );
    assert!(seen.contains("content-encoding: snappy"), "{seen}");
    assert!(seen.ends_with("hello"), "{seen}");
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    drop(listener);
    let transport = HttpTransport::new(&settings(5)).unwrap();
    let err = transport.send(request(&url)).await.unwrap_err();
    assert!(matches!(err, TransportError::Connect(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn silent_server_is_a_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let transport = HttpTransport::new(&settings(2)).unwrap();
    let err = transport.send(request(&url)).await.unwrap_err();
    assert!(matches!(err, TransportError::Timeout(d) if d == Duration::from_secs(2)));
    drop(listener);
}

#[test]
fn bad_ca_pem_is_refused_naming_the_file() {
    let mut settings = settings(1);
    settings.tls.ca_pem =
        Some(b"-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n".to_vec());
    let err = HttpTransport::new(&settings).unwrap_err();
    assert!(err.to_string().starts_with("ca is not valid PEM"), "{err}");
}

#[tokio::test]
async fn https_with_a_configured_ca_reaches_a_tls_receiver() {
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        let mut tls = acceptor.accept(socket).await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.ends_with(b"hello") {
            let n = tls.read(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            seen.extend_from_slice(&buf[..n]);
        }
        tls.write_all(b"HTTP/1.1 204 No Content\r\n\r\n")
            .await
            .unwrap();
        tls.shutdown().await.unwrap();
    });
    let mut settings = settings(5);
    settings.tls.ca_pem = Some(cert.pem().into_bytes());
    let transport = HttpTransport::new(&settings).unwrap();
    let response = transport
        .send(request(&format!("https://localhost:{port}/api/v1/write")))
        .await
        .unwrap();
    assert_eq!(response.status, 204);
    server.await.unwrap();
}

#[tokio::test]
async fn https_to_an_untrusted_certificate_fails_to_connect() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let server_config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(server_config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let (socket, _) = listener.accept().await.unwrap();
        // The client refuses the certificate: the handshake fails on our side too.
        assert!(acceptor.accept(socket).await.is_err());
    });
    let transport = HttpTransport::new(&settings(5)).unwrap();
    let err = transport
        .send(request(&format!("https://localhost:{port}/")))
        .await
        .unwrap_err();
    assert!(matches!(err, TransportError::Connect(_)), "{err:?}");
    server.await.unwrap();
}
