//! Percent-encoding of query parameters (PromQL selectors in URLs).
//!
//! Hand-written: ten lines, and the e2e crate otherwise needs no URL crate.

/// Percent-encodes everything outside `[A-Za-z0-9-._~]`.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_selector_is_encoded_for_a_query_string() {
        assert_eq!(
            super::encode(r#"{job="gen"}[5ms]"#),
            "%7Bjob%3D%22gen%22%7D%5B5ms%5D"
        );
    }
}
