//! The process environment as a value, so configuration that reads it (proxies from
//! `HTTP_PROXY`/`NO_PROXY`, AWS credentials from `AWS_*` and `~/.aws/credentials`) can be
//! tested without changing the environment of the test process.

#[cfg(any(test, feature = "test-util"))]
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

/// A fixed set of variables (nothing else is set); for tests (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapEnvironment(pub BTreeMap<String, String>);

#[cfg(any(test, feature = "test-util"))]
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

#[cfg(any(test, feature = "test-util"))]
impl Environment for MapEnvironment {
    fn var(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
