//! The whole document: reading, command-line overrides, and building the runtime config.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use hyper::header::HeaderName;
use serde::Deserialize;
use serde_yaml::Value;

use super::capture::{Capture, CaptureConfig};
use super::error::{ConfigError, ConfigErrorKind, ConfigWarning, KeyPath, Location};
use super::limits::{Limits, LimitsConfig};
use super::listen::{Listen, ListenConfig};
use super::remote_write::{Destination, RemoteWriteConfig};
use super::tail::{Tail, TailConfig};
use super::wal::{Wal, WalConfig};
use crate::environment::{Environment, ProcessEnvironment};

/// Headers forwarded by default: the tenant header of Mimir/Cortex/Loki.
pub const DEFAULT_FORWARD_HEADERS: [&str; 1] = ["X-Scope-OrgID"];

/// The document as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfigFile {
    /// The HTTP listener.
    pub listen: ListenConfig,
    /// The write-ahead log.
    pub wal: WalConfig,
    /// Per-request limits.
    pub limits: LimitsConfig,
    /// Request headers stored with each record and forwarded. Default: `[X-Scope-OrgID]`;
    /// an empty list (or null) forwards none.
    #[serde(deserialize_with = "null_as_empty")]
    pub forward_headers: Vec<String>,
    /// Destinations, Prometheus's stanza. A bare `remote_write:` (null) means none.
    #[serde(deserialize_with = "null_as_empty")]
    pub remote_write: Vec<RemoteWriteConfig>,
    /// What the relay keeps of what it refused (`capture:`).
    pub capture: CaptureConfig,
    /// The in-memory tail of decoded records.
    pub tail: TailConfig,
}

/// Reads a YAML null (a key with nothing after it) as an empty list, as Prometheus does.
fn null_as_empty<'de, D, T>(deserializer: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<Vec<T>>::deserialize(deserializer).map(Option::unwrap_or_default)
}

impl Default for RelayConfigFile {
    fn default() -> Self {
        Self {
            listen: ListenConfig::default(),
            wal: WalConfig::default(),
            limits: LimitsConfig::default(),
            forward_headers: DEFAULT_FORWARD_HEADERS
                .iter()
                .map(|h| (*h).to_owned())
                .collect(),
            remote_write: Vec::new(),
            capture: CaptureConfig::default(),
            tail: TailConfig::default(),
        }
    }
}

/// Command-line values that replace or extend the file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Replaces `listen.address`.
    pub listen: Option<String>,
    /// Replaces `wal.dir`.
    pub wal_dir: Option<PathBuf>,
    /// Each adds a destination `{url: URL}` with default settings, after the file's.
    pub remote_write_urls: Vec<String>,
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct RelayConfig {
    /// Listener.
    pub listen: Listen,
    /// WAL.
    pub wal: Wal,
    /// Per-request limits.
    pub limits: Limits,
    /// Headers stored with each record and forwarded to every destination.
    pub forward_headers: Vec<HeaderName>,
    /// Destinations, names unique.
    pub destinations: Vec<Destination>,
    /// Capture of refused payloads.
    pub capture: Capture,
    /// The in-memory tail of decoded records.
    pub tail: Tail,
}

/// A validated configuration and the warnings to log.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The configuration.
    pub config: RelayConfig,
    /// Accepted-and-ignored keys.
    pub warnings: Vec<ConfigWarning>,
}

fn syntax_error(err: serde_path_to_error::Error<serde_yaml::Error>) -> ConfigError {
    let path = err.path().to_string();
    let inner = err.into_inner();
    let location = inner.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    });
    ConfigError {
        path,
        location,
        kind: ConfigErrorKind::Syntax(inner.to_string()),
    }
}

fn forward_headers(path: &KeyPath, names: &[String]) -> Result<Vec<HeaderName>, ConfigError> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        let path = path.index(index);
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| path.invalid_value("header name", name))?;
        if crate::send::headers::reserved(header.as_str()).is_some() {
            return Err(path.invalid_value(
                "forwardable header (not a reserved header: transport, auth, SigV4 or retry)",
                name,
            ));
        }
        if !seen.insert(header.clone()) {
            return Err(path.invalid_value("header listed once", name));
        }
        out.push(header);
    }
    Ok(out)
}

impl RelayConfigFile {
    fn apply(&mut self, overrides: &Overrides, raw: &mut Vec<Value>) {
        if let Some(listen) = &overrides.listen {
            self.listen.address.clone_from(listen);
        }
        if let Some(dir) = &overrides.wal_dir {
            self.wal.dir.clone_from(dir);
        }
        for url in &overrides.remote_write_urls {
            self.remote_write.push(RemoteWriteConfig {
                url: Some(url.clone()),
                ..RemoteWriteConfig::default()
            });
            let mut stanza = serde_yaml::Mapping::new();
            stanza.insert(Value::from("url"), Value::from(url.as_str()));
            raw.push(Value::Mapping(stanza));
        }
    }

    /// Validates the document. `raw` holds the `remote_write` stanzas as parsed (for names).
    fn build(&self, raw: &[Value], env: &dyn Environment) -> Result<Loaded, ConfigError> {
        let root = KeyPath::root();
        let mut warnings = Vec::new();
        let listen = self.listen.build(&root.key("listen"))?;
        let wal = self.wal.build(&root.key("wal"))?;
        let limits = self.limits.build(&root.key("limits"))?;
        let forward_headers = forward_headers(&root.key("forward_headers"), &self.forward_headers)?;
        let capture = self.capture.build(&root.key("capture"), &listen)?;
        let mut destinations: Vec<Destination> = Vec::with_capacity(self.remote_write.len());
        for (index, stanza) in self.remote_write.iter().enumerate() {
            let path = root.key("remote_write").index(index);
            let raw_stanza = raw.get(index).cloned().unwrap_or(Value::Null);
            let destination = stanza.build(&path, &raw_stanza, env, &mut warnings)?;
            if destinations.iter().any(|d| d.name == destination.name) {
                return Err(path
                    .key("name")
                    .error(ConfigErrorKind::DuplicateName(destination.name)));
            }
            destinations.push(destination);
        }
        if destinations.is_empty() {
            warnings.push(
                root.key("remote_write")
                    .warning("no destinations: received data is only stored in the WAL"),
            );
        }
        Ok(Loaded {
            config: RelayConfig {
                listen,
                wal,
                limits,
                forward_headers,
                destinations,
                capture,
                tail: self.tail.build(&root.key("tail"))?,
            },
            warnings,
        })
    }
}

/// Parses and validates a document (empty text = all defaults), then applies `overrides`;
/// the process environment is read where a key says so (`proxy_from_environment`, `sigv4`).
pub fn parse(text: &str, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    parse_with_env(text, overrides, &ProcessEnvironment)
}

/// [`parse`] with the environment variables taken from `env`.
pub fn parse_with_env(
    text: &str,
    overrides: &Overrides,
    env: &dyn Environment,
) -> Result<Loaded, ConfigError> {
    let (mut file, mut raw) = if text.trim().is_empty() {
        (RelayConfigFile::default(), Vec::new())
    } else {
        let file: RelayConfigFile =
            serde_path_to_error::deserialize(serde_yaml::Deserializer::from_str(text))
                .map_err(syntax_error)?;
        let document: Value = serde_yaml::from_str(text).map_err(|err| ConfigError {
            path: ".".to_owned(),
            location: err.location().map(|l| Location {
                line: l.line(),
                column: l.column(),
            }),
            kind: ConfigErrorKind::Syntax(err.to_string()),
        })?;
        let raw = match document.get("remote_write") {
            Some(Value::Sequence(stanzas)) => stanzas.clone(),
            _ => Vec::new(),
        };
        (file, raw)
    };
    let file_destinations = file.remote_write.len();
    file.apply(overrides, &mut raw);
    file.build(&raw, env).map_err(|mut err| {
        if err.location.is_none() && !overridden(&err.path, overrides, file_destinations) {
            err.location = super::locate::locate(text, &err.path);
        }
        err
    })
}

/// Whether the value at `path` came from the command line (so has no place in the file).
fn overridden(path: &str, overrides: &Overrides, file_destinations: usize) -> bool {
    (overrides.listen.is_some() && path.starts_with("listen.address"))
        || (overrides.wal_dir.is_some() && path.starts_with("wal.dir"))
        || (0..overrides.remote_write_urls.len())
            .any(|i| path.starts_with(&format!("remote_write[{}]", file_destinations + i)))
}

/// Reads `path` (or uses defaults when `None`), then [`parse`]s it.
pub fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Loaded, ConfigError> {
    let text = match path {
        None => String::new(),
        Some(path) => std::fs::read_to_string(path).map_err(|err| {
            ConfigError::at(path.display().to_string(), ConfigErrorKind::Read(err))
        })?,
    };
    parse(&text, overrides)
}
