//! Issue 14 with `prw relay` as a real process: every reserved header and refused key fails
//! `--check-config` and start alike (exit 64, key path, line and column); stanzas from the
//! Amazon Managed Prometheus guide (`sigv4`) and a Grafana Cloud guide (`basic_auth`) run
//! unchanged but for their `url`; SigV4 signatures are verified by botocore (an independent
//! implementation); `role_arn` goes through a local STS stub; OAuth2 tokens come from a
//! local token endpoint, expire and are refreshed, a 401 refreshes once, and a token
//! endpoint that is down means retries, not drops.
//!
//! Tools: `$PRW_BIN` (else `target/debug/prw`; `cargo build -p prw` first) and Python with
//! botocore in the repo's `.venv` (`cargo xtask test` installs it; `$PRW_PYTHON` overrides).
//! With `CI=true` a missing tool fails the test; otherwise it prints why and skips.

// Test helpers outside #[test] fns: failing loudly is their job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use prw_e2e::child::ChildProcess;
use prw_e2e::payload::{Series, v1};
use prw_e2e::receiver::{Answer, BlockingReceiver, ReceiverConfig, Recorded};
use prw_e2e::relay::{self, Relay, listening_address};
use prw_e2e::tools::{find_tool, workspace_root};
use prw_e2e::{http, wait};

const WAIT: Duration = Duration::from_secs(30);

fn relay_bin() -> Option<PathBuf> {
    relay::bin().unwrap()
}

fn python_with_botocore() -> Option<PathBuf> {
    let venv = workspace_root().join(".venv/bin/python");
    let python = find_tool(
        "python with botocore (cargo xtask test installs it)",
        "PRW_PYTHON",
        &[&venv.to_string_lossy()],
    )
    .unwrap()?;
    let ok = Command::new(&python)
        .args(["-c", "import botocore"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            !prw_e2e::tools::in_ci(),
            "botocore is not installed in {}",
            python.display()
        );
        println!("skipping: botocore not installed in {}", python.display());
        return None;
    }
    Some(python)
}

/// POSTs one v1 write with `n` series to the relay.
fn push(relay: &Relay, t: i64, n: usize) {
    let series: Vec<Series> = (0..n)
        .map(|i| {
            Series::new(
                &[("__name__", "keys_test"), ("i", &i.to_string())],
                &[(t, 1.0)],
            )
        })
        .collect();
    let answer = http::request(
        relay.addr(),
        "POST",
        "/api/v1/write",
        &[
            ("content-type", "application/x-protobuf"),
            ("content-encoding", "snappy"),
            ("x-prometheus-remote-write-version", "0.1.0"),
        ],
        &v1(&series),
    )
    .unwrap();
    assert_eq!(answer.status, 204, "{}", answer.text());
}

fn wait_recorded(receiver: &BlockingReceiver, n: usize, what: &str) -> Vec<Recorded> {
    wait::until(what, WAIT, || {
        let seen = receiver.recorded();
        if seen.len() >= n {
            Ok(seen)
        } else {
            Err(format!("{} requests so far", seen.len()))
        }
    })
    .unwrap()
}

// ---------------------------------------------------------------------------------------
// The walk: every reserved header and every refused key, through --check-config and start.

/// What `prw relay` said and how it exited.
fn run_relay(bin: &Path, config: &Path, check: bool, dir: &Path) -> (Option<i32>, String) {
    let mut command = Command::new(bin);
    command.arg("relay").arg("--config").arg(config);
    if check {
        command.arg("--check-config");
    } else {
        command
            .args(["--listen", "127.0.0.1:0", "--wal-dir"])
            .arg(dir.join("wal"));
    }
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("prw relay: bad configuration"))
        .unwrap_or_default()
        .to_owned();
    (output.status.code(), line)
}

/// (YAML document, the key path the refusal must name).
fn refusals() -> Vec<(String, String)> {
    let mut cases = Vec::new();
    let stanza = |extra: &str| format!("remote_write:\n  - url: http://127.0.0.1:1/w\n{extra}");
    for reserved in prw_relay::send::headers::RESERVED {
        // Written as users write them: Title-Case.
        let name: String = reserved
            .name
            .split('-')
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |c| {
                    c.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect::<Vec<_>>()
            .join("-");
        cases.push((
            stanza(&format!("    headers:\n      {name}: \"1\"\n")),
            format!("remote_write[0].headers.{name}"),
        ));
        cases.push((
            format!("forward_headers:\n  - {name}\n"),
            "forward_headers[0]".to_owned(),
        ));
    }
    let refused = [
        ("    azuread:\n      cloud: AzurePublic\n", "azuread"),
        (
            "    google_iam:\n      credentials_file: /x\n",
            "google_iam",
        ),
        (
            "    http_headers:\n      X-A:\n        values: [b]\n",
            "http_headers",
        ),
        (
            "    tls_config:\n      min_version: TLS10\n",
            "tls_config.min_version",
        ),
        (
            "    tls_config:\n      ca_ref: vault\n",
            "tls_config.ca_ref",
        ),
        (
            "    basic_auth:\n      password_ref: vault\n",
            "basic_auth.password_ref",
        ),
        (
            "    authorization:\n      credentials_ref: vault\n",
            "authorization.credentials_ref",
        ),
        (
            "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n",
            "oauth2.grant_type",
        ),
        (
            "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_secret_ref: vault\n",
            "oauth2.client_secret_ref",
        ),
        ("    proxy_url: socks5://127.0.0.1:1080\n", "proxy_url"),
        (
            "    sigv4:\n      region: us-east-1\n      access_key: A\n",
            "sigv4.secret_key",
        ),
        (
            "    tls_config:\n      ca_file: /nonexistent/ca.pem\n",
            "tls_config.ca_file",
        ),
        (
            "    basic_auth:\n      username: u\n      password_file: /nonexistent/p\n",
            "basic_auth.password_file",
        ),
    ];
    for (extra, key) in refused {
        cases.push((stanza(extra), format!("remote_write[0].{key}")));
    }
    cases
}

#[test]
fn every_reserved_header_and_refused_key_fails_check_config_and_start_alike() {
    let Some(bin) = relay_bin() else { return };
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.yaml");
    for (yaml, key) in refusals() {
        std::fs::write(&config, &yaml).unwrap();
        let (check_code, check_line) = run_relay(&bin, &config, true, dir.path());
        let (start_code, start_line) = run_relay(&bin, &config, false, dir.path());
        assert_eq!(
            check_code,
            Some(64),
            "--check-config of\n{yaml}\n{check_line}"
        );
        assert_eq!(start_code, Some(64), "start of\n{yaml}\n{start_line}");
        assert_eq!(check_line, start_line, "same verdict for\n{yaml}");
        assert!(
            check_line.contains(&format!("bad configuration: {key}:")),
            "{key} not named in {check_line:?} for\n{yaml}"
        );
        let location = check_line.rsplit_once("(line ").map(|(_, l)| l);
        assert!(
            location.is_some_and(|l| l.contains(", column ")),
            "no line and column in {check_line:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// SigV4, checked by botocore.

const ACCESS_KEY: &str = "AKIDPRWTEST";
const SECRET_KEY: &str = "prw/test+secret/key";
const REGION: &str = "us-west-2";

/// The Python receiver verifying SigV4 with botocore.
struct Verifier {
    process: ChildProcess,
    addr: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Verifier {
    fn start(python: &Path, access_key: &str, secret_key: &str, token: Option<&str>) -> Verifier {
        let dir = tempfile::tempdir().unwrap();
        let script = workspace_root().join("tests/sigv4/verify_receiver.py");
        let mut args = vec![
            script.to_string_lossy().into_owned(),
            "--access-key".into(),
            access_key.into(),
            "--secret-key".into(),
            secret_key.into(),
            "--region".into(),
            REGION.into(),
        ];
        if let Some(token) = token {
            args.extend(["--token".into(), token.into()]);
        }
        let mut process = ChildProcess::new("sigv4 verifier", python, args, dir.path().join("log"));
        process.spawn().unwrap();
        let addr = process
            .wait_ready("`listening on`", WAIT, |p| listening_address(&p.log()))
            .unwrap();
        Verifier {
            process,
            addr,
            _dir: dir,
        }
    }

    fn stats(&self) -> serde_json::Value {
        serde_json::from_str(&http::get(self.addr, "/-/stats").unwrap().text()).unwrap()
    }

    fn wait_accepted(&self, n: u64) -> serde_json::Value {
        wait::until("signatures accepted by botocore", WAIT, || {
            let stats = self.stats();
            if stats["rejected"].as_u64() != Some(0) {
                return Err(format!("rejected: {stats}"));
            }
            if stats["accepted"].as_u64().unwrap_or(0) >= n {
                Ok(stats)
            } else {
                Err(format!("{stats}"))
            }
        })
        .unwrap()
    }
}

impl Drop for Verifier {
    fn drop(&mut self) {
        self.process.kill();
    }
}

/// The `remote_write` stanza of the Amazon Managed Service for Prometheus setup guide
/// (Helm values / prometheus.yml), unchanged but for the `url`.
fn amp_stanza(url: &str) -> String {
    format!(
        "remote_write:\n  - url: {url}\n    queue_config:\n        max_samples_per_send: 1000\n        max_shards: 200\n        capacity: 2500\n    sigv4:\n        region: {REGION}\n"
    )
}

#[test]
fn the_amp_sigv4_stanza_is_signed_so_botocore_accepts_it_and_a_tampered_request_is_rejected() {
    let (Some(bin), Some(python)) = (relay_bin(), python_with_botocore()) else {
        return;
    };
    let verifier = Verifier::start(&python, ACCESS_KEY, SECRET_KEY, None);
    let url = format!(
        "http://{}/workspaces/ws-00000000-0000-0000-0000-000000000000/api/v1/remote_write",
        verifier.addr
    );
    let home = tempfile::tempdir().unwrap();
    let relay = Relay::start_with_env(
        &bin,
        &amp_stanza(&url),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("HOME", &home.path().to_string_lossy()),
        ],
    )
    .unwrap();
    let t = wait::now_ms();
    push(&relay, t, 3);
    push(&relay, t + 1, 3);
    let stats = verifier.wait_accepted(1);
    assert!(
        stats["paths"][0]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/remote_write")
    );

    // The same signer, driven directly, then one byte of the body changed: botocore must
    // refuse it, so the acceptances above mean something.
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (status_ok, status_tampered) = runtime.block_on(signed_pair(&verifier, &url));
    assert_eq!(status_ok, 204);
    assert_eq!(status_tampered, 403);
    assert_eq!(verifier.stats()["rejected"].as_u64(), Some(1));
}

/// Signs one request with the relay's SigV4 decorator and sends it as signed and with a
/// tampered body.
async fn signed_pair(verifier: &Verifier, url: &str) -> (u16, u16) {
    use prw_relay::send::auth::aws_credentials::AwsCredentials;
    use prw_relay::send::auth::sigv4::{SigV4Decorator, SigV4Settings};
    use prw_relay::send::{OutgoingRequest, RequestDecorator};
    let decorator = SigV4Decorator::new(SigV4Settings {
        region: REGION.into(),
        service: "aps".into(),
        credentials: AwsCredentials {
            access_key_id: ACCESS_KEY.into(),
            secret_access_key: SECRET_KEY.into(),
            session_token: None,
        },
        assume_role: None,
    })
    .unwrap();
    let mut request = OutgoingRequest {
        url: url.parse().unwrap(),
        headers: hyper::HeaderMap::new(),
        body: bytes::Bytes::from_static(b"remote write body"),
    };
    request
        .headers
        .insert("content-type", "application/x-protobuf".parse().unwrap());
    decorator.decorate(&mut request).await.unwrap();
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap().to_owned()))
        .collect();
    let send = |body: &'static [u8]| {
        let headers = headers.clone();
        let path = request.url.path().to_owned();
        let addr = verifier.addr;
        async move {
            let refs: Vec<(&str, &str)> = headers
                .iter()
                .filter(|(k, _)| k != "host")
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            prw_e2e::client::send(addr, "POST", &path, &refs, body.to_vec())
                .await
                .unwrap()
                .status
        }
    };
    (
        send(b"remote write body").await,
        send(b"remote write bodY").await,
    )
}

#[test]
fn role_arn_assumes_the_role_at_a_local_sts_and_signs_with_its_credentials() {
    let (Some(bin), Some(python)) = (relay_bin(), python_with_botocore()) else {
        return;
    };
    const TEMP_KEY: &str = "ASIAPRWTEMPORARY";
    const TEMP_SECRET: &str = "temporary/secret";
    const TEMP_TOKEN: &str = "FwoGZXIvYXdzEPRW//token=";
    let answer = format!(
        "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials><AccessKeyId>{TEMP_KEY}</AccessKeyId><SecretAccessKey>{TEMP_SECRET}</SecretAccessKey><SessionToken>{TEMP_TOKEN}</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>"
    );
    let sts = BlockingReceiver::start(ReceiverConfig::default().recording().with_default(
        Answer::Status {
            status: 200,
            headers: vec![("content-type".into(), "text/xml".into())],
            body: answer,
        },
    ))
    .unwrap();
    let verifier = Verifier::start(&python, TEMP_KEY, TEMP_SECRET, Some(TEMP_TOKEN));
    let url = format!("http://{}/api/v1/remote_write", verifier.addr);
    let config = format!(
        "remote_write:\n  - url: {url}\n    sigv4:\n      region: {REGION}\n      access_key: {ACCESS_KEY}\n      secret_key: {SECRET_KEY}\n      role_arn: arn:aws:iam::123456789012:role/prw\n      external_id: ext-1\n"
    );
    let home = tempfile::tempdir().unwrap();
    let relay = Relay::start_with_env(
        &bin,
        &config,
        &[
            ("AWS_ENDPOINT_URL_STS", &sts.url("/")),
            ("HOME", &home.path().to_string_lossy()),
        ],
    )
    .unwrap();
    push(&relay, wait::now_ms(), 2);
    verifier.wait_accepted(1);
    let calls = sts.recorded();
    assert_eq!(calls.len(), 1, "one AssumeRole, then cached");
    let form = String::from_utf8_lossy(&calls[0].body).into_owned();
    assert!(form.contains("Action=AssumeRole"), "{form}");
    assert!(
        form.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fprw"),
        "{form}"
    );
    assert!(form.contains("ExternalId=ext-1"), "{form}");
    let auth = calls[0].header("authorization").unwrap();
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/"))
            && auth.contains("/sts/aws4_request"),
        "{auth}"
    );
}

// ---------------------------------------------------------------------------------------
// basic_auth: a Grafana Cloud stanza.

#[test]
fn the_grafana_cloud_basic_auth_stanza_runs_unchanged_but_for_its_url() {
    let Some(bin) = relay_bin() else { return };
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    // As Grafana Cloud's "Configure Prometheus" page writes it: the instance id is a number.
    let config = format!(
        "remote_write:\n- url: {}\n  basic_auth:\n    username: 123456\n    password: glc_eyJvIjoiMTIzNDU2In0=\n",
        receiver.url("/api/prom/push")
    );
    let relay = Relay::start(&bin, &config).unwrap();
    push(&relay, wait::now_ms(), 2);
    let seen = wait_recorded(&receiver, 1, "the Grafana Cloud destination");
    // base64("123456:glc_eyJvIjoiMTIzNDU2In0=")
    assert_eq!(
        seen[0].header("authorization"),
        Some("Basic MTIzNDU2OmdsY19leUp2SWpvaU1USXpORFUySW4wPQ==")
    );
    assert_eq!(seen[0].path, "/api/prom/push");
}

// ---------------------------------------------------------------------------------------
// OAuth2.

fn token(n: u32, expires_in: u64) -> Answer {
    Answer::Status {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: format!(
            "{{\"access_token\":\"tok-{n}\",\"token_type\":\"bearer\",\"expires_in\":{expires_in}}}"
        ),
    }
}

fn bearer_of(request: &Recorded) -> String {
    request
        .header("authorization")
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn oauth2_tokens_are_fetched_cached_refreshed_on_expiry_and_once_on_a_401() {
    let Some(bin) = relay_bin() else { return };
    // Token 1 lives 11 s (renewed 10 s early: after 1 s), token 2 an hour, token 3 too.
    let tokens = BlockingReceiver::start(
        ReceiverConfig::default()
            .recording()
            .with_script([token(1, 11), token(2, 3600), token(3, 3600)])
            .with_default(Answer::status(500)),
    )
    .unwrap();
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("client_secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let config = format!(
        "remote_write:\n  - url: {}\n    queue_config: {{batch_send_deadline: 50ms, min_backoff: 50ms, max_backoff: 200ms}}\n    oauth2:\n      client_id: prw-relay\n      client_secret_file: {}\n      scopes: [metrics.write, other]\n      token_url: {}\n      endpoint_params:\n        audience: https://metrics.test\n",
        receiver.url("/api/v1/write"),
        secret.display(),
        tokens.url("/oauth/token")
    );
    let relay = Relay::start(&bin, &config).unwrap();
    push(&relay, wait::now_ms(), 1);
    let first = wait_recorded(&receiver, 1, "the first write");
    assert_eq!(bearer_of(&first[0]), "Bearer tok-1");
    let request = &tokens.recorded()[0];
    assert_eq!(
        request.header("authorization"),
        // base64("prw-relay:s3cret")
        Some("Basic cHJ3LXJlbGF5OnMzY3JldA==")
    );
    let form = String::from_utf8_lossy(&request.body).into_owned();
    assert!(form.contains("grant_type=client_credentials"), "{form}");
    assert!(form.contains("scope=metrics.write+other"), "{form}");
    assert!(
        form.contains("audience=https%3A%2F%2Fmetrics.test"),
        "{form}"
    );

    // Token 1 is past its renewal time: the next write fetches token 2.
    std::thread::sleep(Duration::from_millis(1500));
    push(&relay, wait::now_ms(), 1);
    let seen = wait_recorded(&receiver, 2, "the second write");
    assert_eq!(bearer_of(&seen[1]), "Bearer tok-2");
    assert_eq!(tokens.recorded().len(), 2);

    // Token 2 is cached; a 401 drops it, token 3 is fetched and the batch resent at once.
    receiver.receiver().push_answers([Answer::status(401)]);
    push(&relay, wait::now_ms(), 1);
    let seen = wait_recorded(&receiver, 4, "the 401 and the resend");
    assert_eq!(bearer_of(&seen[2]), "Bearer tok-2");
    assert_eq!(bearer_of(&seen[3]), "Bearer tok-3");
    assert_eq!(seen[2].body, seen[3].body, "the same batch was resent");
    assert_eq!(tokens.recorded().len(), 3);
}

#[test]
fn a_token_endpoint_that_is_down_means_retries_not_drops() {
    let Some(bin) = relay_bin() else { return };
    // Reserve an address for the token endpoint, then close it: it is down.
    let token_addr = BlockingReceiver::start(ReceiverConfig::default())
        .unwrap()
        .addr();
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let config = format!(
        "remote_write:\n  - url: {}\n    queue_config: {{batch_send_deadline: 50ms, min_backoff: 50ms, max_backoff: 200ms}}\n    oauth2:\n      client_id: id\n      client_secret: s\n      token_url: http://{token_addr}/token\n",
        receiver.url("/api/v1/write"),
    );
    let relay = Relay::start(&bin, &config).unwrap();
    push(&relay, wait::now_ms(), 2);
    wait::until("decoration failures counted", WAIT, || {
        let failures = relay.metric("prw_remote_decorate_errors_total").unwrap();
        if failures >= 2.0 {
            Ok(())
        } else {
            Err(format!("{failures} so far"))
        }
    })
    .unwrap();
    assert!(
        receiver.recorded().is_empty(),
        "nothing sent without a token"
    );
    // The token endpoint comes up: the same data arrives (it was never dropped).
    let _tokens = BlockingReceiver::start_on(
        token_addr,
        ReceiverConfig::default().with_default(token(7, 3600)),
    )
    .unwrap();
    let seen = wait_recorded(&receiver, 1, "the retried write");
    assert_eq!(bearer_of(&seen[0]), "Bearer tok-7");
    assert_eq!(
        relay
            .metric("prometheus_remote_storage_samples_failed_total")
            .unwrap(),
        0.0
    );
}

#[test]
fn a_sigv4_request_redirected_to_another_host_is_signed_again_for_it() {
    let (Some(bin), Some(python)) = (relay_bin(), python_with_botocore()) else {
        return;
    };
    let verifier = Verifier::start(&python, ACCESS_KEY, SECRET_KEY, None);
    let target = format!("http://{}/api/v1/remote_write", verifier.addr);
    let redirector = BlockingReceiver::start(ReceiverConfig::default().recording().with_default(
        Answer::Status {
            status: 307,
            headers: vec![("location".into(), target)],
            body: String::new(),
        },
    ))
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let relay = Relay::start_with_env(
        &bin,
        &amp_stanza(&redirector.url("/api/v1/remote_write")),
        &[
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY),
            ("HOME", &home.path().to_string_lossy()),
        ],
    )
    .unwrap();
    push(&relay, wait::now_ms(), 2);
    // The verifier checks the signed Host: a signature made for the redirector would fail.
    verifier.wait_accepted(1);
    assert!(!redirector.recorded().is_empty());
}

#[test]
fn a_token_endpoint_refusing_basic_auth_gets_the_credentials_in_the_form_as_go_does() {
    let Some(bin) = relay_bin() else { return };
    let tokens = BlockingReceiver::start(
        ReceiverConfig::default()
            .recording()
            .with_script([Answer::status(401), token(9, 3600)]),
    )
    .unwrap();
    let receiver = BlockingReceiver::start(ReceiverConfig::default().recording()).unwrap();
    let config = format!(
        "remote_write:\n  - url: {}\n    oauth2:\n      client_id: my id\n      client_secret: s\n      token_url: {}\n",
        receiver.url("/api/v1/write"),
        tokens.url("/token")
    );
    let relay = Relay::start(&bin, &config).unwrap();
    push(&relay, wait::now_ms(), 1);
    let seen = wait_recorded(&receiver, 1, "the write");
    assert_eq!(bearer_of(&seen[0]), "Bearer tok-9");
    let calls = tokens.recorded();
    // base64("my+id:s"): Go URL-encodes the id and secret inside Basic.
    assert_eq!(calls[0].header("authorization"), Some("Basic bXkraWQ6cw=="));
    assert_eq!(calls[1].header("authorization"), None);
    let form = String::from_utf8_lossy(&calls[1].body).into_owned();
    assert!(
        form.contains("client_id=my+id") && form.contains("client_secret=s"),
        "{form}"
    );
}
