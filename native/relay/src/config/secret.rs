//! Credentials given inline or by file: the send side's [`SecretSource`], re-exported where
//! the configuration builds it.

pub use crate::send::auth::secret::SecretSource;
