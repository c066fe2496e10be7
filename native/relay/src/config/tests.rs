//! Whole-document tests: every refusal names its key path.

use super::*;
use crate::config::refused;

fn ok(yaml: &str) -> Loaded {
    parse(yaml, &Overrides::default()).unwrap()
}

fn err(yaml: &str) -> ConfigError {
    parse(yaml, &Overrides::default()).unwrap_err()
}

#[test]
fn empty_document_is_all_defaults() {
    let loaded = ok("");
    let c = &loaded.config;
    assert_eq!(c.listen.address.to_string(), "127.0.0.1:9202");
    assert_eq!(c.listen.auth, None);
    assert_eq!(c.wal.dir, std::path::PathBuf::from("./data/wal"));
    assert_eq!(c.wal.segment_bytes, 64 << 20);
    assert_eq!(c.wal.max_bytes, 10 << 30);
    assert_eq!(c.wal.full_policy, FullPolicy::Block);
    assert_eq!(c.wal.sync, Sync::Always);
    assert_eq!(c.wal.max_record_bytes, 64 << 20);
    assert_eq!(c.wal.recovery, wal::Recovery::TolerateTail);
    assert_eq!(c.limits.max_body_bytes, 32 << 20);
    assert_eq!(c.limits.max_labels_per_series, 30);
    assert_eq!(c.forward_headers.len(), 1);
    assert_eq!(c.forward_headers[0].as_str(), "x-scope-orgid");
    assert!(c.destinations.is_empty());
    assert_eq!(loaded.warnings[0].path, "remote_write");
}

/// A self-signed certificate (PEM) and a directory holding it as `ca.pem` and a password
/// file `secret`, for stanzas that name files (read at load).
pub(super) fn files() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["mimir".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
    std::fs::write(dir.path().join("secret"), "hunter2\n").unwrap();
    let path = dir.path().display().to_string();
    (dir, path)
}

fn prometheus_stanza() -> (tempfile::TempDir, String) {
    let (dir, path) = files();
    (dir, PROMETHEUS_STANZA.replace("/etc", &path))
}

const PROMETHEUS_STANZA: &str = r#"
remote_write:
  - url: https://mimir.example:9009/api/v1/push
    name: mimir
    remote_timeout: 1m
    headers:
      X-Scope-OrgID: team-a
    basic_auth:
      username: u
      password_file: /etc/secret
    tls_config:
      ca_file: /etc/ca.pem
      server_name: mimir
      insecure_skip_verify: false
    protobuf_message: io.prometheus.write.v2.Request
    queue_config:
      capacity: 20000
      max_shards: 10
      min_shards: 2
      max_samples_per_send: 1000
      batch_send_deadline: 10s
      min_backoff: 100ms
      max_backoff: 10s
      retry_on_http_429: false
      sample_age_limit: 1h30m
    write_relabel_configs:
      - source_labels: [__name__]
        regex: go_.*
        action: drop
    metadata_config:
      send: true
      send_interval: 1m
    send_exemplars: true
    follow_redirects: false
    enable_http2: true
"#;

#[test]
fn prometheus_stanza_is_accepted_unchanged() {
    let (_dir, stanza) = prometheus_stanza();
    let loaded = ok(&stanza);
    let d = &loaded.config.destinations[0];
    assert_eq!(d.name, "mimir");
    assert_eq!(d.name_source, NameSource::Configured);
    assert_eq!(d.url.to_string(), "https://mimir.example:9009/api/v1/push");
    assert_eq!(d.remote_timeout, std::time::Duration::from_secs(60));
    assert_eq!(d.headers.custom()["x-scope-orgid"], "team-a");
    // The password is a file: read per request by a decorator, not a fixed header.
    assert!(!d.headers.has_authorization());
    assert_eq!(d.protobuf_message, ProtobufMessage::V2);
    assert_eq!(d.queue.max_shards, 10);
    assert!(!d.queue.retry_on_http_429);
    assert_eq!(d.relabel.len(), 1);
    assert!(!d.client.follow_redirects);
    assert!(d.client.enable_http2);
    assert_eq!(d.start, Start::Newest);
    assert!(matches!(
        d.auth,
        Some(http_client::ClientAuth::Basic { .. })
    ));
    let warned: Vec<&str> = loaded.warnings.iter().map(|w| w.path.as_str()).collect();
    assert_eq!(warned, ["remote_write[0].metadata_config"]);
    assert_eq!(d.client.tls.server_name.as_deref(), Some("mimir"));
    assert!(d.client.tls.ca_pem.is_some());
}

#[test]
fn tls_options_are_applied_not_warned_about() {
    let loaded = ok(
        "remote_write:\n  - url: https://a/\n    tls_config:\n      server_name: b\n      insecure_skip_verify: true\n      min_version: TLS13\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let tls = &loaded.config.destinations[0].client.tls;
    assert_eq!(tls.server_name.as_deref(), Some("b"));
    assert!(tls.insecure_skip_verify);
    assert_eq!(tls.min_version, Some(crate::send::tls::TlsVersion::Tls13));
}

#[test]
fn unreadable_files_are_refused_at_load_naming_the_key() {
    for (key, block) in [
        (
            "tls_config.ca_file",
            "tls_config: {ca_file: /nonexistent/ca.pem}",
        ),
        (
            "basic_auth.password_file",
            "basic_auth: {username: u, password_file: /nonexistent/p}",
        ),
        (
            "authorization.credentials_file",
            "authorization: {credentials_file: /nonexistent/t}",
        ),
        ("bearer_token_file", "bearer_token_file: /nonexistent/t"),
    ] {
        let e = err(&format!(
            "remote_write:\n  - url: https://a/\n    {block}\n"
        ));
        assert_eq!(e.path, format!("remote_write[0].{key}"), "{e}");
        assert!(matches!(e.kind, ConfigErrorKind::File(..)), "{e}");
        assert!(e.to_string().contains("/nonexistent/"), "{e}");
    }
}

#[test]
fn unknown_key_is_an_error_with_path_and_line() {
    let e = err("remote_write:\n  - url: http://a/\n    queue_config:\n      max_retries: 3\n");
    assert_eq!(e.path, "remote_write[0].queue_config.max_retries");
    assert!(matches!(e.kind, ConfigErrorKind::Syntax(_)));
    assert_eq!(e.location.map(|l| l.line), Some(4));
    assert!(e.to_string().contains("max_retries"), "{e}");
}

#[test]
fn unknown_top_level_key_is_an_error() {
    let e = err("global:\n  scrape_interval: 15s\n");
    assert!(matches!(e.kind, ConfigErrorKind::Syntax(_)));
    assert!(e.to_string().contains("global"), "{e}");
}

#[test]
fn wrong_type_names_the_key() {
    let e = err(
        "remote_write:\n  - url: http://a/\n  - url: http://b/\n    queue_config:\n      min_shards: many\n",
    );
    assert_eq!(e.path, "remote_write[1].queue_config.min_shards");
    assert_eq!(e.location.map(|l| l.line), Some(5));
}

#[test]
fn bad_duration_names_the_key() {
    let e = err("remote_write:\n  - url: http://a/\n    remote_timeout: 30 seconds\n");
    assert_eq!(e.path, "remote_write[0].remote_timeout");
}

#[test]
fn queue_rule_error_names_the_indexed_key() {
    let e = err(
        "remote_write:\n  - url: http://a/\n  - url: http://b/\n    queue_config: {min_shards: 9, max_shards: 3}\n",
    );
    assert_eq!(e.path, "remote_write[1].queue_config.min_shards");
}

#[test]
fn every_refusal_of_the_table_is_refused_by_name_with_its_reason() {
    for refusal in refused::REFUSED {
        let yaml = format!(
            "remote_write:\n  - url: http://127.0.0.1:1/w\n{}",
            refusal.example
        );
        let e = err(&yaml);
        assert_eq!(e.path, format!("remote_write[0].{}", refusal.key), "{yaml}");
        assert!(
            matches!(e.kind, ConfigErrorKind::Refused(reason) if reason == refusal.reason),
            "{yaml}: {e}"
        );
    }
}

#[test]
fn send_exemplars_and_native_histograms_true_are_what_the_relay_does() {
    let loaded = ok(
        "remote_write:\n  - url: http://a/\n    send_exemplars: true\n    send_native_histograms: true\n",
    );
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn url_user_info_becomes_basic_auth_and_leaves_the_url() {
    let loaded = ok(
        "remote_write:\n  - url: https://Aladdin:open%20sesame@receiver.test/push\n    name: r\n",
    );
    let d = &loaded.config.destinations[0];
    assert_eq!(d.url.to_string(), "https://receiver.test/push");
    assert!(d.headers.has_authorization());
    assert_eq!(
        d.auth,
        Some(http_client::ClientAuth::Fixed(
            hyper::header::HeaderValue::from_static("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        ))
    );
    let shown = format!("{}{:?}", loaded.config, loaded.config);
    assert!(
        !shown.contains("sesame") && !shown.contains("Aladdin"),
        "{shown}"
    );
    // With another auth method: refused, as at most one method is allowed.
    for other in [
        "basic_auth: {username: u}",
        "authorization: {credentials: t}",
        "bearer_token: t",
    ] {
        let e = err(&format!(
            "remote_write:\n  - url: https://u:p@receiver.test/\n    {other}\n"
        ));
        assert!(e.path.starts_with("remote_write[0]."), "{other}: {e}");
        assert!(e.to_string().contains("user info"), "{e}");
    }
    // An unusable URL is shown with its password redacted.
    let e = err("remote_write:\n  - url: ftp://u:s3cret@receiver.test/\n");
    assert_eq!(e.path, "remote_write[0].url");
    assert!(
        !e.to_string().contains("s3cret") && e.to_string().contains("u:xxxxx@"),
        "{e}"
    );
}

#[test]
fn inline_credentials_and_backoff_are_built_at_load() {
    let loaded = ok("remote_write:\n  - url: http://a/\n    bearer_token: tok\n");
    assert!(loaded.config.destinations[0].headers.has_authorization());
    for (yaml, key) in [
        (
            "    bearer_token: \"t\\u0001k\"\n",
            "remote_write[0].bearer_token",
        ),
        (
            "    authorization:\n      credentials: \"a\\nb\"\n",
            "remote_write[0].authorization.credentials",
        ),
        (
            "    queue_config:\n      min_backoff: 0s\n",
            "remote_write[0].queue_config.min_backoff",
        ),
    ] {
        let e = err(&format!("remote_write:\n  - url: http://a/\n{yaml}"));
        assert_eq!(e.path, key, "{yaml}: {e}");
    }
}

#[test]
fn hashmod_is_supported() {
    let loaded = ok(
        "remote_write:\n  - url: http://a/\n    write_relabel_configs:\n      - {source_labels: [a], modulus: 4, target_label: b, action: hashmod}\n",
    );
    assert_eq!(
        loaded.config.destinations[0].relabel[0].action(),
        crate::relabel::Action::HashMod
    );
}

#[test]
fn missing_url_is_an_error() {
    let e = err("remote_write:\n  - name: a\n");
    assert_eq!(e.path, "remote_write[0].url");
}

#[test]
fn url_needs_http_scheme_and_host() {
    for url in ["ftp://a/", "/api/v1/write", "http://"] {
        let e = err(&format!("remote_write:\n  - url: {url}\n"));
        assert_eq!(e.path, "remote_write[0].url", "{url}");
    }
}

#[test]
fn duplicate_names_are_an_error() {
    let e = err("remote_write:\n  - {url: http://a/, name: x}\n  - {url: http://b/, name: x}\n");
    assert_eq!(e.path, "remote_write[1].name");
    assert!(matches!(e.kind, ConfigErrorKind::DuplicateName(ref n) if n == "x"));
}

#[test]
fn identical_nameless_stanzas_are_duplicates() {
    let e = err("remote_write:\n  - url: http://a/\n  - url: http://a/\n");
    assert!(matches!(e.kind, ConfigErrorKind::DuplicateName(_)));
}

#[test]
fn nameless_destination_gets_a_stable_derived_name() {
    let a = ok("remote_write:\n  - url: http://a/\n");
    let b = ok("remote_write:\n  - url: http://a/\n    start: oldest\n");
    let (da, db) = (&a.config.destinations[0], &b.config.destinations[0]);
    assert_eq!(da.name_source, NameSource::Derived);
    assert_eq!(da.name, db.name);
    assert_eq!(db.start, Start::Oldest);
}

#[test]
fn reserved_and_authorization_headers_are_refused() {
    let e = err("remote_write:\n  - url: http://a/\n    headers: {Authorization: x}\n");
    assert_eq!(e.path, "remote_write[0].headers.Authorization");
    let e = err("remote_write:\n  - url: http://a/\n    headers: {Content-Type: x}\n");
    assert_eq!(e.path, "remote_write[0].headers.Content-Type");
}

#[test]
fn two_auth_methods_are_an_error() {
    let e = err(
        "remote_write:\n  - url: http://a/\n    basic_auth: {username: u}\n    authorization: {credentials: t}\n",
    );
    assert_eq!(e.path, "remote_write[0].authorization");
}

#[test]
fn unknown_protobuf_message_is_an_error() {
    let e = err("remote_write:\n  - url: http://a/\n    protobuf_message: v2\n");
    assert_eq!(e.path, "remote_write[0].protobuf_message");
}

#[test]
fn bad_relabel_regex_names_the_key() {
    let e = err(
        "remote_write:\n  - url: http://a/\n    write_relabel_configs:\n      - {source_labels: [a], regex: '(', action: keep}\n",
    );
    assert_eq!(e.path, "remote_write[0].write_relabel_configs[0].regex");
    assert!(matches!(e.kind, ConfigErrorKind::Regex(_)));
}

#[test]
fn relay_sections_are_validated() {
    assert_eq!(err("listen: {address: 'localhost'}").path, "listen.address");
    assert_eq!(
        err("listen: {tls: {cert_file: c}}").path,
        "listen.tls.key_file"
    );
    assert_eq!(err("listen: {auth: {}}").path, "listen.auth");
    assert_eq!(err("wal: {segment_bytes: 1KiB}").path, "wal.segment_bytes");
    assert_eq!(
        err("wal: {segment_bytes: 64MiB, max_bytes: 100MiB}").path,
        "wal.max_bytes"
    );
    assert_eq!(err("wal: {sync_interval: 1s}").path, "wal.sync_interval");
    assert_eq!(err("wal: {full_policy: panic}").path, "wal.full_policy");
    assert_eq!(err("limits: {max_series: 0}").path, "limits.max_series");
    assert_eq!(
        err("wal: {max_record_bytes: 5GiB}").path,
        "wal.max_record_bytes"
    );
    assert_eq!(err("wal: {recovery: yolo}").path, "wal.recovery");
    assert_eq!(
        err("forward_headers: [Content-Type]").path,
        "forward_headers[0]"
    );
    assert_eq!(err("forward_headers: [a, A]").path, "forward_headers[1]");
}

/// A directory with `token`, `users`, `cert.pem`, `key.pem` (self-signed) and `junk.pem`.
fn listen_files() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    std::fs::write(dir.path().join("token"), "s3cret\n").unwrap();
    std::fs::write(dir.path().join("users"), "alice:pw\n").unwrap();
    std::fs::write(dir.path().join("empty"), "\n").unwrap();
    std::fs::write(dir.path().join("cert.pem"), certified.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        certified.key_pair.serialize_pem(),
    )
    .unwrap();
    std::fs::write(dir.path().join("junk.pem"), "junk").unwrap();
    let path = dir.path().display().to_string();
    (dir, path)
}

#[test]
fn listen_files_are_read_and_parsed_at_load() {
    let (_dir, d) = listen_files();
    for (yaml, key) in [
        (
            format!("listen: {{auth: {{bearer_token_file: {d}/missing}}}}"),
            "listen.auth.bearer_token_file",
        ),
        (
            format!("listen: {{auth: {{bearer_token_file: {d}/empty}}}}"),
            "listen.auth.bearer_token_file",
        ),
        (
            format!("listen: {{auth: {{basic_auth_users_file: {d}/empty}}}}"),
            "listen.auth.basic_auth_users_file",
        ),
        (
            format!("listen: {{tls: {{cert_file: {d}/missing, key_file: {d}/key.pem}}}}"),
            "listen.tls.cert_file",
        ),
        (
            format!("listen: {{tls: {{cert_file: {d}/junk.pem, key_file: {d}/key.pem}}}}"),
            "listen.tls.cert_file",
        ),
        (
            format!("listen: {{tls: {{cert_file: {d}/cert.pem, key_file: {d}/junk.pem}}}}"),
            "listen.tls.key_file",
        ),
    ] {
        let e = err(&yaml);
        assert_eq!(e.path, key, "{yaml}: {e}");
        assert!(e.location.is_some(), "{yaml}: {e}");
    }
}

#[test]
fn relay_sections_are_read() {
    let (_dir, d) = listen_files();
    let c = ok(&format!("listen:\n  address: 0.0.0.0:9300\n  auth: {{bearer_token_file: {d}/token}}\n  tls: {{cert_file: {d}/cert.pem, key_file: {d}/key.pem}}\nwal:\n  dir: /var/wal\n  segment_bytes: 8MiB\n  max_bytes: 1GiB\n  full_policy: drop_oldest\n  sync: interval\n  sync_interval: 200ms\nforward_headers: [X-Scope-OrgID, X-Tenant]\n")).config;
    assert_eq!(c.listen.address.port(), 9300);
    assert!(matches!(
        &c.listen.auth,
        Some(ListenAuth::BearerToken { token, .. }) if token == "s3cret"
    ));
    assert!(c.listen.tls.is_some());
    assert_eq!(c.wal.segment_bytes, 8 << 20);
    assert_eq!(c.wal.full_policy, FullPolicy::DropOldest);
    assert_eq!(
        c.wal.sync,
        Sync::Interval(std::time::Duration::from_millis(200))
    );
    assert_eq!(c.forward_headers.len(), 2);
}

#[test]
fn overrides_replace_listen_and_wal_dir_and_add_destinations() {
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        wal_dir: Some("/tmp/w".into()),
        remote_write_urls: vec!["http://x/api/v1/write".into()],
    };
    let c = parse("remote_write:\n  - {url: http://a/, name: a}\n", &overrides)
        .unwrap()
        .config;
    assert_eq!(c.listen.address.port(), 0);
    assert_eq!(c.wal.dir, std::path::PathBuf::from("/tmp/w"));
    assert_eq!(c.destinations.len(), 2);
    assert_eq!(c.destinations[1].name_source, NameSource::Derived);
    assert_eq!(c.destinations[1].queue.max_shards, 50);
}

#[test]
fn error_display_names_key_and_line() {
    let e = err("remote_write:\n  - url: http://a/\n    queue_config:\n      capacity: x\n");
    let shown = e.to_string();
    assert!(
        shown.starts_with("remote_write[0].queue_config.capacity: "),
        "{shown}"
    );
    assert!(shown.contains("line 4"), "{shown}");
}

#[test]
fn summary_shows_destinations_without_secrets() {
    let (_dir, stanza) = prometheus_stanza();
    let loaded = ok(&stanza);
    let shown = loaded.config.to_string();
    assert!(
        shown.contains("mimir: https://mimir.example:9009/api/v1/push v2"),
        "{shown}"
    );
    assert!(!shown.contains("/secret"), "{shown}");
}

#[test]
fn validation_errors_carry_the_line_of_the_key() {
    let e = err(
        "remote_write:\n  - url: http://a/\n  - url: http://b/\n    queue_config:\n      min_shards: 9\n      max_shards: 3\n",
    );
    assert_eq!(e.path, "remote_write[1].queue_config.min_shards");
    assert_eq!(e.location.map(|l| l.line), Some(5));
    let e = err("remote_write:\n  - name: a\n");
    assert_eq!(e.path, "remote_write[0].url");
    assert_eq!(e.location.map(|l| l.line), Some(2));
}

#[test]
fn command_line_values_get_no_file_location() {
    let overrides = Overrides {
        remote_write_urls: vec!["ftp://x/".into()],
        ..Overrides::default()
    };
    let e = parse("remote_write:\n  - url: http://a/\n", &overrides).unwrap_err();
    assert_eq!(e.path, "remote_write[1].url");
    assert_eq!(e.location, None);
}

#[test]
fn bare_list_keys_mean_empty_lists() {
    let c = ok("remote_write:\nforward_headers:\n").config;
    assert!(c.destinations.is_empty());
    assert!(c.forward_headers.is_empty());
}

#[test]
fn destinations_compare_equal_only_when_every_setting_is_equal() {
    let a = ok(
        "remote_write:\n  - {url: http://a/, name: a, write_relabel_configs: [{source_labels: [x], action: drop}]}\n",
    );
    let same = ok(
        "remote_write:\n  - name: a\n    url: http://a/\n    write_relabel_configs:\n      - {action: drop, source_labels: [x]}\n",
    );
    let other = ok(
        "remote_write:\n  - {url: http://a/, name: a, write_relabel_configs: [{source_labels: [y], action: drop}]}\n",
    );
    assert_eq!(a.config.destinations, same.config.destinations);
    assert_ne!(a.config.destinations, other.config.destinations);
}
