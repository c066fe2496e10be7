//! A request header that travels with the data from the sender to every destination.

use super::RecordError;

/// A header name (lower-cased ASCII token) and its value (visible ASCII, spaces and tabs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedHeader {
    name: String,
    value: String,
}

impl ForwardedHeader {
    /// A header from its name and value; `None` if either is not valid in HTTP/1.1.
    pub fn new(name: &str, value: &str) -> Option<Self> {
        Self::from_bytes(name.as_bytes(), value.as_bytes())
    }

    /// Like [`ForwardedHeader::new`], from raw bytes (as stored in the WAL).
    pub fn from_bytes(name: &[u8], value: &[u8]) -> Option<Self> {
        let name_ok = !name.is_empty() && name.iter().all(|b| is_token_byte(*b));
        let value_ok = value
            .iter()
            .all(|b| *b == b'\t' || (0x20..0x7f).contains(b));
        if !name_ok || !value_ok {
            return None;
        }
        let name = String::from_utf8(name.to_ascii_lowercase()).ok()?;
        let value = String::from_utf8(value.to_vec()).ok()?;
        Some(ForwardedHeader { name, value })
    }

    /// The header name, lower-case.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The header value.
    pub fn value(&self) -> &str {
        &self.value
    }

    pub(super) fn encoded_len(&self) -> usize {
        4 + self.name.len() + self.value.len()
    }

    pub(super) fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), RecordError> {
        for field in [self.name.as_bytes(), self.value.as_bytes()] {
            let len = u16::try_from(field.len()).map_err(|_| RecordError::HeadersTooLarge)?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(field);
        }
        Ok(())
    }
}

/// RFC 9110 `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}
