//! `sigv4` as written (Prometheus's `sigv4.SigV4Config`: `region`, `access_key`,
//! `secret_key`, `profile`, `role_arn`, `external_id`, `use_fips_sts_endpoint`,
//! `service_name`) and its validation into [`SigV4Settings`]: the credentials and region are
//! resolved at load from the stanza, the environment and the shared AWS files, so a stanza
//! without usable credentials is refused before start, as Prometheus refuses it.

use serde::Deserialize;

use super::error::{ConfigError, KeyPath};
use super::proxy;
use crate::environment::Environment;
use crate::send::auth::aws_credentials::{self, Wanted};
use crate::send::auth::sigv4::{AssumeRole, SigV4Settings, sts_endpoint};
use crate::send::http::ClientSettings;

/// `sigv4` as written.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SigV4Config {
    /// AWS region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's.
    pub region: Option<String>,
    /// Access key id (with `secret_key`).
    pub access_key: Option<String>,
    /// Secret access key (with `access_key`).
    pub secret_key: Option<String>,
    /// Profile of the shared credentials/config files.
    pub profile: Option<String>,
    /// Role to assume through STS.
    pub role_arn: Option<String>,
    /// External id for `role_arn`.
    pub external_id: Option<String>,
    /// Use the FIPS STS endpoint for `role_arn`.
    pub use_fips_sts_endpoint: bool,
    /// Service signed for. Default: `aps`.
    pub service_name: Option<String>,
}

fn non_empty(value: Option<&String>) -> Option<&str> {
    value.map(String::as_str).filter(|v| !v.is_empty())
}

impl SigV4Config {
    /// Validates the block and resolves credentials and region.
    pub fn build(
        &self,
        path: &KeyPath,
        env: &dyn Environment,
    ) -> Result<SigV4Settings, ConfigError> {
        let keys = match (
            non_empty(self.access_key.as_ref()),
            non_empty(self.secret_key.as_ref()),
        ) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            (Some(_), None) | (None, Some(_)) => {
                return Err(path.key("secret_key").invalid(
                    "must provide a AWS SigV4 Access key and Secret Key if credentials are specified in the SigV4 config",
                ));
            }
        };
        let role_arn = non_empty(self.role_arn.as_ref());
        let external_id = non_empty(self.external_id.as_ref());
        if external_id.is_some() && role_arn.is_none() {
            return Err(path
                .key("external_id")
                .invalid("external_id can only be used with role_arn"));
        }
        let (credentials, region) = aws_credentials::resolve(
            Wanted {
                keys,
                profile: non_empty(self.profile.as_ref()),
                region: non_empty(self.region.as_ref()),
            },
            env,
        )
        .map_err(|e| {
            let key = match e {
                aws_credentials::CredentialsError::NoRegion => "region",
                aws_credentials::CredentialsError::NoProfile { .. } => "profile",
                _ => "access_key",
            };
            path.key(key).unusable(e.to_string())
        })?;
        let assume_role = match role_arn {
            None => None,
            Some(arn) => Some(AssumeRole {
                role_arn: arn.to_owned(),
                external_id: external_id.map(str::to_owned),
                sts_endpoint: sts_endpoint(&region, self.use_fips_sts_endpoint, env).ok_or_else(
                    || {
                        path.key("role_arn")
                            .unusable("AWS_ENDPOINT_URL_STS is not a URL")
                    },
                )?,
                client: ClientSettings {
                    timeout: std::time::Duration::from_secs(30),
                    proxy: proxy::from_environment(
                        &path.key("role_arn"),
                        env,
                        hyper::HeaderMap::new(),
                    )?,
                    follow_redirects: true,
                    ..ClientSettings::default()
                },
            }),
        };
        Ok(SigV4Settings {
            region,
            service: non_empty(self.service_name.as_ref())
                .unwrap_or("aps")
                .to_owned(),
            credentials,
            assume_role,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::environment::MapEnvironment;

    fn build(yaml: &str, env: &[(&str, &str)]) -> Result<SigV4Settings, ConfigError> {
        let mut env = MapEnvironment::from_pairs(env.iter().copied());
        env.0.insert("HOME".into(), "/nonexistent-home".into());
        serde_yaml::from_str::<SigV4Config>(yaml)
            .unwrap()
            .build(&KeyPath::root().key("sigv4"), &env)
    }

    #[test]
    fn the_amp_stanza_takes_credentials_from_the_environment() {
        let s = build(
            "{region: us-west-2}",
            &[("AWS_ACCESS_KEY_ID", "AK"), ("AWS_SECRET_ACCESS_KEY", "SK")],
        )
        .unwrap();
        assert_eq!(s.region, "us-west-2");
        assert_eq!(s.service, "aps");
        assert_eq!(s.credentials.access_key_id, "AK");
        assert_eq!(s.assume_role, None);
    }

    #[test]
    fn role_arn_uses_an_overridable_sts_endpoint() {
        let s = build(
            "{region: eu-west-1, access_key: A, secret_key: S, role_arn: 'arn:aws:iam::1:role/r', external_id: x, service_name: other}",
            &[("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:9/")],
        )
        .unwrap();
        let role = s.assume_role.unwrap();
        assert_eq!(role.sts_endpoint, "http://127.0.0.1:9/");
        // The STS client's proxy comes from the environment; a bad one is the same error as
        // proxy_from_environment's, not a silent direct connection.
        let bad = build(
            "{region: eu-west-1, access_key: A, secret_key: S, role_arn: 'arn:aws:iam::1:role/r'}",
            &[("HTTPS_PROXY", "socks5://p:1")],
        )
        .unwrap_err();
        assert_eq!(bad.path, "sigv4.role_arn");
        assert!(
            bad.to_string()
                .contains("proxy from HTTP_PROXY/HTTPS_PROXY"),
            "{bad}"
        );
        let no_host = build(
            "{region: eu-west-1, access_key: A, secret_key: S, role_arn: 'arn:aws:iam::1:role/r'}",
            &[("HTTPS_PROXY", "http://u:s3cret@")],
        )
        .unwrap_err();
        assert!(!no_host.to_string().contains("s3cret"), "{no_host}");
        // A usable one is what the STS client connects through.
        let proxied = build(
            "{region: eu-west-1, access_key: A, secret_key: S, role_arn: 'arn:aws:iam::1:role/r'}",
            &[("HTTPS_PROXY", "http://u:pw@envproxy:3128")],
        )
        .unwrap();
        match proxied.assume_role.unwrap().client.proxy {
            crate::send::proxy::ProxySettings::Rules(rules) => {
                let https = rules.https.unwrap();
                assert_eq!(https.uri, "http://envproxy:3128");
                assert!(https.authorization.is_some());
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(role.external_id.as_deref(), Some("x"));
        assert_eq!(s.service, "other");
    }

    #[test]
    fn rules_name_the_key() {
        assert_eq!(
            build("{region: r, access_key: A}", &[]).unwrap_err().path,
            "sigv4.secret_key"
        );
        assert_eq!(
            build(
                "{region: r, access_key: A, secret_key: S, external_id: x}",
                &[]
            )
            .unwrap_err()
            .path,
            "sigv4.external_id"
        );
        let none = build("{region: r}", &[]).unwrap_err();
        assert_eq!(none.path, "sigv4.access_key");
        assert!(none.to_string().contains("no AWS credentials"), "{none}");
        assert_eq!(
            build("{access_key: A, secret_key: S}", &[])
                .unwrap_err()
                .path,
            "sigv4.region"
        );
    }
}
