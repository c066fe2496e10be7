//! THE table of `remote_write` keys and values the relay refuses, with the reason printed.
//!
//! One table serves three readers: the config code refuses through these constants
//! ([`super::error::KeyPath::refuse`]), the refusal walk test (`tests/tests/relay_keys.rs`)
//! runs every [`Refusal::example`] through `--check-config` and start, and a doc-consistency
//! test keeps the "Refused keys and values" table of docs/relay-config.md equal to
//! [`markdown_table`]. A new refusal is added here, never as a bare string at its call site.

/// Where else a refusal applies besides its own key path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Only at [`Refusal::key`].
    Stanza,
    /// In every `tls_config` block: the stanza's and `oauth2.tls_config`.
    Tls,
    /// With every set of proxy keys: the stanza's and `oauth2`'s.
    Proxy,
}

/// One refused key, or refused values of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    /// The key path inside a `remote_write` stanza, e.g. `tls_config.ca_ref`.
    pub key: &'static str,
    /// `None`: the key itself is refused, whatever its value; `Some`: only these values.
    pub values: Option<&'static str>,
    /// Where else it applies.
    pub scope: Scope,
    /// Lines of a stanza (indented 4 spaces, after `url`) that are refused for this reason.
    pub example: &'static str,
    /// Why, as the error says it.
    pub reason: &'static str,
}

impl Refusal {
    /// The last key of [`Refusal::key`] (`ca_ref` of `tls_config.ca_ref`).
    pub fn leaf(&self) -> &'static str {
        self.key.rsplit('.').next().unwrap_or(self.key)
    }
}

const SECRET_REF: &str =
    "secret references (a secret store) are not supported; use the *_file key, or the value inline";

const JWT: &str =
    "the JWT bearer grant (RFC 7523) is not supported; use the client credentials grant";

const OLD_TLS: &str = "TLS 1.0 and 1.1 are not supported (rustls implements TLS 1.2 and 1.3 only)";

const fn stanza(
    key: &'static str,
    values: Option<&'static str>,
    example: &'static str,
    reason: &'static str,
) -> Refusal {
    Refusal {
        key,
        values,
        scope: Scope::Stanza,
        example,
        reason,
    }
}

const fn tls(
    key: &'static str,
    values: Option<&'static str>,
    example: &'static str,
    reason: &'static str,
) -> Refusal {
    Refusal {
        key,
        values,
        scope: Scope::Tls,
        example,
        reason,
    }
}

/// `azuread`.
pub const AZUREAD: Refusal = stanza(
    "azuread",
    None,
    "    azuread:\n      cloud: AzurePublic\n",
    "azuread is not supported: Azure AD token acquisition (managed identity, workload identity, SDK) has no well-kept Rust crate testable offline here; for an Azure AD app with a client secret, use oauth2 with token_url https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token and scopes [https://monitor.azure.com/.default]",
);
/// `google_iam`.
pub const GOOGLE_IAM: Refusal = stanza(
    "google_iam",
    None,
    "    google_iam:\n      credentials_file: /x\n",
    "google_iam is not supported: Google service-account token acquisition has no well-kept Rust crate testable offline here; put an OAuth2-capable proxy in front, or use authorization with a credentials_file kept fresh by another process",
);
/// `http_headers`.
pub const HTTP_HEADERS: Refusal = stanza(
    "http_headers",
    None,
    "    http_headers:\n      X-A:\n        values: [b]\n",
    "http_headers is not supported; use headers (values), or basic_auth/authorization with *_file (secrets in files)",
);
/// `send_exemplars: false`.
pub const SEND_EXEMPLARS_FALSE: Refusal = stanza(
    "send_exemplars",
    Some("`false`"),
    "    send_exemplars: false\n",
    "the relay forwards the exemplars it receives and cannot drop them; remove the key (or set true), and drop exemplars before the relay",
);
/// `send_native_histograms: false`.
pub const SEND_NATIVE_HISTOGRAMS_FALSE: Refusal = stanza(
    "send_native_histograms",
    Some("`false`"),
    "    send_native_histograms: false\n",
    "the relay forwards the native histograms it receives and cannot drop them; remove the key (or set true), and drop native histograms before the relay",
);
/// `basic_auth.username_ref`.
pub const USERNAME_REF: Refusal = stanza(
    "basic_auth.username_ref",
    None,
    "    basic_auth:\n      username_ref: vault\n",
    SECRET_REF,
);
/// `basic_auth.password_ref`.
pub const PASSWORD_REF: Refusal = stanza(
    "basic_auth.password_ref",
    None,
    "    basic_auth:\n      username: u\n      password_ref: vault\n",
    SECRET_REF,
);
/// `authorization.credentials_ref`.
pub const CREDENTIALS_REF: Refusal = stanza(
    "authorization.credentials_ref",
    None,
    "    authorization:\n      credentials_ref: vault\n",
    SECRET_REF,
);
/// `tls_config.ca_ref`.
pub const CA_REF: Refusal = tls(
    "tls_config.ca_ref",
    None,
    "    tls_config:\n      ca_ref: vault\n",
    SECRET_REF,
);
/// `tls_config.cert_ref`.
pub const CERT_REF: Refusal = tls(
    "tls_config.cert_ref",
    None,
    "    tls_config:\n      cert_ref: vault\n",
    SECRET_REF,
);
/// `tls_config.key_ref`.
pub const KEY_REF: Refusal = tls(
    "tls_config.key_ref",
    None,
    "    tls_config:\n      key_ref: vault\n",
    SECRET_REF,
);
/// `tls_config.min_version: TLS10|TLS11`.
pub const MIN_VERSION_OLD: Refusal = tls(
    "tls_config.min_version",
    Some("`TLS10`, `TLS11`"),
    "    tls_config:\n      min_version: TLS10\n",
    OLD_TLS,
);
/// `tls_config.max_version: TLS10|TLS11`.
pub const MAX_VERSION_OLD: Refusal = tls(
    "tls_config.max_version",
    Some("`TLS10`, `TLS11`"),
    "    tls_config:\n      max_version: TLS11\n",
    OLD_TLS,
);
/// `proxy_url: https://...`.
pub const PROXY_HTTPS: Refusal = Refusal {
    key: "proxy_url",
    values: Some("`https://` URLs"),
    scope: Scope::Proxy,
    example: "    proxy_url: https://127.0.0.1:3129\n",
    reason: "https:// proxies (TLS to the proxy itself) are not supported; use an http:// proxy (https destinations still go through it in a CONNECT tunnel)",
};
/// `proxy_url: socks5://...` and other schemes.
pub const PROXY_SCHEME: Refusal = Refusal {
    key: "proxy_url",
    values: Some("`socks5://` and any scheme but `http://`"),
    scope: Scope::Proxy,
    example: "    proxy_url: socks5://127.0.0.1:1080\n",
    reason: "only http:// proxies are supported; socks5:// proxies are not implemented",
};
/// `oauth2.grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer`.
pub const JWT_GRANT: Refusal = stanza(
    "oauth2.grant_type",
    Some("`urn:ietf:params:oauth:grant-type:jwt-bearer`"),
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      grant_type: urn:ietf:params:oauth:grant-type:jwt-bearer\n",
    JWT,
);
/// `oauth2.client_certificate_key_id`.
pub const JWT_KEY_ID: Refusal = stanza(
    "oauth2.client_certificate_key_id",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_certificate_key_id: k\n",
    JWT,
);
/// `oauth2.client_certificate_key`.
pub const JWT_KEY: Refusal = stanza(
    "oauth2.client_certificate_key",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_certificate_key: k\n",
    JWT,
);
/// `oauth2.client_certificate_key_file`.
pub const JWT_KEY_FILE: Refusal = stanza(
    "oauth2.client_certificate_key_file",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_certificate_key_file: /k.pem\n",
    JWT,
);
/// `oauth2.client_certificate_key_ref`.
pub const JWT_KEY_REF: Refusal = stanza(
    "oauth2.client_certificate_key_ref",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_certificate_key_ref: vault\n",
    JWT,
);
/// `oauth2.signature_algorithm`.
pub const JWT_SIGNATURE_ALGORITHM: Refusal = stanza(
    "oauth2.signature_algorithm",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      signature_algorithm: RS256\n",
    JWT,
);
/// `oauth2.iss`.
pub const JWT_ISS: Refusal = stanza(
    "oauth2.iss",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      iss: me\n",
    JWT,
);
/// `oauth2.audience`.
pub const JWT_AUDIENCE: Refusal = stanza(
    "oauth2.audience",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      audience: you\n",
    JWT,
);
/// `oauth2.claims`.
pub const JWT_CLAIMS: Refusal = stanza(
    "oauth2.claims",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      claims:\n        k: v\n",
    JWT,
);
/// `oauth2.client_secret_ref`.
pub const CLIENT_SECRET_REF: Refusal = stanza(
    "oauth2.client_secret_ref",
    None,
    "    oauth2:\n      client_id: a\n      token_url: http://127.0.0.1:1/t\n      client_secret_ref: vault\n",
    SECRET_REF,
);

/// Every refusal, in the order of the docs table.
pub const REFUSED: &[Refusal] = &[
    AZUREAD,
    GOOGLE_IAM,
    HTTP_HEADERS,
    SEND_EXEMPLARS_FALSE,
    SEND_NATIVE_HISTOGRAMS_FALSE,
    USERNAME_REF,
    PASSWORD_REF,
    CREDENTIALS_REF,
    CA_REF,
    CERT_REF,
    KEY_REF,
    MIN_VERSION_OLD,
    MAX_VERSION_OLD,
    PROXY_HTTPS,
    PROXY_SCHEME,
    JWT_GRANT,
    JWT_KEY_ID,
    JWT_KEY,
    JWT_KEY_FILE,
    JWT_KEY_REF,
    JWT_SIGNATURE_ALGORITHM,
    JWT_ISS,
    JWT_AUDIENCE,
    JWT_CLAIMS,
    CLIENT_SECRET_REF,
];

/// The docs table of [`REFUSED`] (docs/relay-config.md holds it between the
/// `refused-keys` markers; a test keeps them equal).
pub fn markdown_table() -> String {
    let mut out = String::from("| key | refused | also under | reason |\n|---|---|---|---|\n");
    for r in REFUSED {
        let also = match r.scope {
            Scope::Stanza => "",
            Scope::Tls => "`oauth2.tls_config`",
            Scope::Proxy => "`oauth2`",
        };
        out.push_str(&format!(
            "| `{}` | {} | {also} | {} |\n",
            r.key,
            r.values.unwrap_or("any value"),
            r.reason
                .replace('|', "\\|")
                .replace('*', "\\*")
                .replace('<', "&lt;"),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEGIN: &str = "<!-- refused-keys:begin (generated from prw_relay::config::refused::REFUSED; PRW_BLESS_DOCS=1 cargo test -p prw-relay refused rewrites it) -->\n";
    const END: &str = "<!-- refused-keys:end -->";

    #[test]
    fn the_docs_table_is_the_code_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/relay-config.md");
        let docs = std::fs::read_to_string(path).unwrap();
        let start = docs
            .find(BEGIN)
            .expect("begin marker in docs/relay-config.md")
            + BEGIN.len();
        let end = docs.find(END).expect("end marker in docs/relay-config.md");
        let expected = markdown_table();
        if std::env::var_os("PRW_BLESS_DOCS").is_some() {
            let fixed = format!("{}{expected}{}", &docs[..start], &docs[end..]);
            std::fs::write(path, fixed).unwrap();
            return;
        }
        assert_eq!(
            &docs[start..end],
            expected,
            "docs/relay-config.md's refused-keys table is stale: run PRW_BLESS_DOCS=1 cargo test -p prw-relay refused"
        );
    }

    #[test]
    fn keys_are_unique_per_value_class_and_examples_name_their_key() {
        for (i, a) in REFUSED.iter().enumerate() {
            assert!(
                a.example.contains(&format!("{}:", a.leaf())),
                "{} example does not set it",
                a.key
            );
            for b in REFUSED.iter().skip(i + 1) {
                assert!(
                    (a.key, a.values) != (b.key, b.values),
                    "{} listed twice",
                    a.key
                );
            }
        }
    }
}
