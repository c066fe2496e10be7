//! The receive path.
