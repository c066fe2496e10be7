//! Where `sigv4` credentials and the region come from, in the order of the AWS SDK for Go v2
//! that Prometheus uses (`config.LoadDefaultConfig`):
//!
//! 1. `access_key` + `secret_key` in the stanza;
//! 2. a profile named by `profile` or `AWS_PROFILE`: its keys in the shared credentials file
//!    (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, section `[name]`) or the
//!    shared config file (`AWS_CONFIG_FILE`, default `~/.aws/config`, section
//!    `[profile name]`, `[default]` for the default profile);
//! 3. `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
//! 4. the `default` profile of those files.
//!
//! Region: `sigv4.region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the profile's
//! `region` in the config file. Sources that need the network (web identity, ECS and EC2
//! instance roles, SSO, `credential_process`) are not supported: with none of the above the
//! configuration is refused, saying so.
//!
//! Hand-written: the AWS SDK for Rust (`aws-config`) resolves the same chain but brings its
//! own HTTP stack and runtime; the part needed here is reading two INI files.

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::environment::Environment;

/// Static AWS credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct AwsCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Session token of temporary credentials.
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<secret>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

/// Why no credentials or region could be found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// A shared file exists but cannot be read.
    #[error("cannot read {file}: {reason}")]
    File {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// A named profile is not in either file.
    #[error("profile {profile:?} has no credentials in {credentials} or {config}")]
    NoProfile {
        /// The profile.
        profile: String,
        /// The credentials file looked at.
        credentials: PathBuf,
        /// The config file looked at.
        config: PathBuf,
    },
    /// Nothing found anywhere.
    #[error(
        "no AWS credentials: set sigv4.access_key and sigv4.secret_key, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or a profile in {credentials}; web identity, ECS/EC2 instance roles, SSO and credential_process are not supported"
    )]
    None {
        /// The credentials file looked at.
        credentials: PathBuf,
    },
    /// No region anywhere.
    #[error(
        "region not configured in sigv4, AWS_REGION, AWS_DEFAULT_REGION or the profile's config"
    )]
    NoRegion,
}

/// What the stanza says.
#[derive(Debug, Clone, Copy, Default)]
pub struct Wanted<'a> {
    /// `access_key` and `secret_key` (both or neither: the config checked).
    pub keys: Option<(&'a str, &'a str)>,
    /// `profile`.
    pub profile: Option<&'a str>,
    /// `region`.
    pub region: Option<&'a str>,
}

type Sections = BTreeMap<String, BTreeMap<String, String>>;

/// Sections of an AWS INI file (`[name]`, `key = value`, `#`/`;` comments). A file that
/// does not exist is empty.
fn read_ini(file: &PathBuf) -> Result<Sections, CredentialsError> {
    let text = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Sections::new()),
        Err(err) => {
            return Err(CredentialsError::File {
                file: file.clone(),
                reason: err.to_string(),
            });
        }
    };
    let mut sections = Sections::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
            sections.entry(name.clone()).or_default();
            current = Some(name);
        } else if let (Some(section), Some((key, value))) = (&current, line.split_once('=')) {
            sections
                .entry(section.clone())
                .or_default()
                .insert(key.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    Ok(sections)
}

fn home_file(env: &dyn Environment, var: &str, default: &str) -> PathBuf {
    env.var(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env.var("HOME").unwrap_or_default())
                .join(".aws")
                .join(default)
        })
}

fn keys_of(section: Option<&BTreeMap<String, String>>) -> Option<AwsCredentials> {
    let section = section?;
    let id = section.get("aws_access_key_id").filter(|v| !v.is_empty())?;
    let secret = section
        .get("aws_secret_access_key")
        .filter(|v| !v.is_empty())?;
    Some(AwsCredentials {
        access_key_id: id.clone(),
        secret_access_key: secret.clone(),
        session_token: section
            .get("aws_session_token")
            .filter(|v| !v.is_empty())
            .cloned(),
    })
}

fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".to_owned()
    } else {
        format!("profile {profile}")
    }
}

/// The credentials and region for `wanted`, read from `env` and the shared files.
pub fn resolve(
    wanted: Wanted<'_>,
    env: &dyn Environment,
) -> Result<(AwsCredentials, String), CredentialsError> {
    let non_empty = |name: &str| env.var(name).filter(|v| !v.is_empty());
    let credentials_file = home_file(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
    let config_file = home_file(env, "AWS_CONFIG_FILE", "config");
    let explicit_profile = wanted
        .profile
        .filter(|p| !p.is_empty())
        .map(str::to_owned)
        .or_else(|| non_empty("AWS_PROFILE"));
    let profile = explicit_profile
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let shared = read_ini(&credentials_file)?;
    let config = read_ini(&config_file)?;
    let from_profile =
        || keys_of(shared.get(&profile)).or_else(|| keys_of(config.get(&config_section(&profile))));
    let from_env = || {
        Some(AwsCredentials {
            access_key_id: non_empty("AWS_ACCESS_KEY_ID")?,
            secret_access_key: non_empty("AWS_SECRET_ACCESS_KEY")?,
            session_token: non_empty("AWS_SESSION_TOKEN"),
        })
    };
    let credentials = match (wanted.keys, &explicit_profile) {
        (Some((id, secret)), _) => AwsCredentials {
            access_key_id: id.to_owned(),
            secret_access_key: secret.to_owned(),
            session_token: None,
        },
        (None, Some(_)) => from_profile().ok_or_else(|| CredentialsError::NoProfile {
            profile: profile.clone(),
            credentials: credentials_file.clone(),
            config: config_file.clone(),
        })?,
        (None, None) => from_env()
            .or_else(from_profile)
            .ok_or(CredentialsError::None {
                credentials: credentials_file.clone(),
            })?,
    };
    let region = wanted
        .region
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .or_else(|| non_empty("AWS_REGION"))
        .or_else(|| non_empty("AWS_DEFAULT_REGION"))
        .or_else(|| {
            config
                .get(&config_section(&profile))
                .and_then(|s| s.get("region"))
                .filter(|r| !r.is_empty())
                .cloned()
        })
        .ok_or(CredentialsError::NoRegion)?;
    Ok((credentials, region))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::MapEnvironment;

    fn home() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".aws")).unwrap();
        std::fs::write(
            dir.path().join(".aws/credentials"),
            "[default]\naws_access_key_id = DEFAULTID\naws_secret_access_key = defaultsecret\n\n# team\n[team]\naws_access_key_id=TEAMID\naws_secret_access_key=teamsecret\naws_session_token=teamtoken\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".aws/config"),
            "[default]\nregion = eu-west-1\n[profile team]\nregion = us-east-2\n[profile cfgonly]\naws_access_key_id = CFGID\naws_secret_access_key = cfgsecret\n",
        )
        .unwrap();
        dir
    }

    fn env(home: &tempfile::TempDir, extra: &[(&str, &str)]) -> MapEnvironment {
        let mut env = MapEnvironment::from_pairs(extra.iter().copied());
        env.0
            .insert("HOME".into(), home.path().display().to_string());
        env
    }

    #[test]
    fn static_keys_win() {
        let home = home();
        let (c, region) = resolve(
            Wanted {
                keys: Some(("AK", "SK")),
                profile: Some("team"),
                region: Some("ap-south-1"),
            },
            &env(&home, &[("AWS_ACCESS_KEY_ID", "ENVID")]),
        )
        .unwrap();
        assert_eq!(
            (c.access_key_id.as_str(), region.as_str()),
            ("AK", "ap-south-1")
        );
    }

    #[test]
    fn an_explicit_profile_wins_over_the_environment() {
        let home = home();
        let e = env(
            &home,
            &[
                ("AWS_ACCESS_KEY_ID", "ENVID"),
                ("AWS_SECRET_ACCESS_KEY", "s"),
            ],
        );
        let (c, region) = resolve(
            Wanted {
                profile: Some("team"),
                ..Wanted::default()
            },
            &e,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "TEAMID");
        assert_eq!(c.session_token.as_deref(), Some("teamtoken"));
        assert_eq!(region, "us-east-2");
        let (c, _) = resolve(
            Wanted {
                profile: Some("cfgonly"),
                region: Some("r"),
                ..Wanted::default()
            },
            &e,
        )
        .unwrap();
        assert_eq!(c.access_key_id, "CFGID");
        let e = env(&home, &[("AWS_PROFILE", "team")]);
        assert_eq!(
            resolve(Wanted::default(), &e).unwrap().0.access_key_id,
            "TEAMID"
        );
    }

    #[test]
    fn environment_then_default_profile() {
        let home = home();
        let e = env(
            &home,
            &[
                ("AWS_ACCESS_KEY_ID", "ENVID"),
                ("AWS_SECRET_ACCESS_KEY", "envsecret"),
                ("AWS_SESSION_TOKEN", "envtoken"),
                ("AWS_REGION", "us-west-2"),
            ],
        );
        let (c, region) = resolve(Wanted::default(), &e).unwrap();
        assert_eq!(c.access_key_id, "ENVID");
        assert_eq!(c.session_token.as_deref(), Some("envtoken"));
        assert_eq!(region, "us-west-2");
        let (c, region) = resolve(Wanted::default(), &env(&home, &[])).unwrap();
        assert_eq!(c.access_key_id, "DEFAULTID");
        assert_eq!(region, "eu-west-1");
    }

    #[test]
    fn nothing_found_says_what_was_tried() {
        let empty = tempfile::tempdir().unwrap();
        let e = env(&empty, &[]);
        let err = resolve(Wanted::default(), &e).unwrap_err();
        assert!(matches!(err, CredentialsError::None { .. }), "{err}");
        let err = resolve(
            Wanted {
                profile: Some("nope"),
                ..Wanted::default()
            },
            &e,
        )
        .unwrap_err();
        assert!(err.to_string().contains("\"nope\""), "{err}");
        let err = resolve(
            Wanted {
                keys: Some(("a", "b")),
                ..Wanted::default()
            },
            &e,
        )
        .unwrap_err();
        assert_eq!(err, CredentialsError::NoRegion);
    }
}
