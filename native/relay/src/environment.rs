//! The process environment as a value, so configuration that reads it (proxies from
//! `HTTP_PROXY`/`NO_PROXY`, AWS credentials from `AWS_*` and `~/.aws/credentials`) can be
//! tested without changing the environment of the test process.

use std::collections::BTreeMap;

/// Where environment variables come from.
pub trait Environment: Send + Sync {
    /// The value of `name`, if set (empty values included).
    fn var(&self, name: &str) -> Option<String>;
}

/// The real process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnvironment;

impl Environment for ProcessEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        std::env::var(name).ok()
    }
}

/// A fixed set of variables (nothing else is set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapEnvironment(pub BTreeMap<String, String>);

impl MapEnvironment {
    /// From `(name, value)` pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        MapEnvironment(
            pairs
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        )
    }
}

impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
