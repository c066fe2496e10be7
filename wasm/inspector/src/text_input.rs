//! Pasted text -> body bytes: hex or base64, as people copy them out of logs, `xxd -p`,
//! `base64` or a debugger.
//!
//! ASCII whitespace anywhere is ignored (line breaks from `xxd -p`/`base64`), a leading
//! `0x` marks hex, both base64 alphabets (standard and URL-safe) are accepted with or without
//! padding. Errors give the character offset in the text as pasted (whitespace included),
//! so the page can point at it. Decoding itself is done by the `hex` and `base64` crates.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde::Deserialize;

/// How pasted text is encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TextEncoding {
    /// Hex if the text is only hex digits (or starts with `0x`), else base64.
    #[default]
    Auto,
    /// Hex digits, two per byte.
    Hex,
    /// Base64, standard or URL-safe alphabet, padding optional.
    Base64,
}

impl TextEncoding {
    /// Reads `auto`, `hex` or `base64` (what the page's selector sends).
    pub fn parse(name: &str) -> Result<TextEncoding, TextInputError> {
        match name {
            "" | "auto" => Ok(TextEncoding::Auto),
            "hex" => Ok(TextEncoding::Hex),
            "base64" => Ok(TextEncoding::Base64),
            other => Err(TextInputError::UnknownEncoding(other.into())),
        }
    }

    /// `auto`, `hex` or `base64`.
    pub fn as_str(self) -> &'static str {
        match self {
            TextEncoding::Auto => "auto",
            TextEncoding::Hex => "hex",
            TextEncoding::Base64 => "base64",
        }
    }
}

/// Why pasted text cannot be turned into bytes. Offsets count characters of the text as
/// pasted, starting at 0.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextInputError {
    /// Nothing but whitespace was pasted.
    #[error("the pasted text is empty")]
    Empty,
    /// The encoding selector named something else.
    #[error("unknown text encoding {0:?} (expected auto, hex or base64)")]
    UnknownEncoding(String),
    /// Hex needs two digits per byte.
    #[error("hex: odd number of digits ({digits}); each byte needs two")]
    OddHexDigits {
        /// How many digits there were.
        digits: usize,
    },
    /// A character that is not a hex digit.
    #[error("hex: {found:?} at character {offset} is not a hex digit")]
    NotHex {
        /// Offset in the pasted text.
        offset: usize,
        /// The character.
        found: char,
    },
    /// A character outside the base64 alphabets, or padding in the wrong place.
    #[error("base64: {found:?} at character {offset} is not valid here")]
    NotBase64 {
        /// Offset in the pasted text.
        offset: usize,
        /// The character.
        found: char,
    },
    /// The number of base64 symbols cannot encode whole bytes.
    #[error("base64: {symbols} symbols cannot encode whole bytes (truncated paste?)")]
    Base64Length {
        /// How many symbols (without whitespace) there were.
        symbols: usize,
    },
    /// The padding at the end is malformed.
    #[error("base64: malformed '=' padding at the end")]
    Base64Padding,
}

/// Pasted text with whitespace removed, remembering where each kept character was.
struct Compact {
    text: String,
    offsets: Vec<usize>,
}

impl Compact {
    fn new(text: &str) -> Compact {
        let mut compact = Compact {
            text: String::with_capacity(text.len()),
            offsets: Vec::new(),
        };
        for (offset, c) in text.chars().enumerate() {
            if !c.is_ascii_whitespace() {
                compact.text.push(c);
                compact.offsets.push(offset);
            }
        }
        compact
    }

    /// Offset in the pasted text of the character at byte `index` of the compact text.
    fn origin(&self, index: usize) -> (usize, char) {
        let char_index = self
            .text
            .get(..index)
            .map_or(0, |head| head.chars().count());
        let offset = self.offsets.get(char_index).copied().unwrap_or(char_index);
        let found = self
            .text
            .get(index..)
            .and_then(|rest| rest.chars().next())
            .unwrap_or('?');
        (offset, found)
    }
}

/// Which encoding [`TextEncoding::Auto`] picks for `text`: hex when, whitespace removed, it
/// starts with `0x` or holds only hex digits, else base64.
pub fn detect(text: &str) -> TextEncoding {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.starts_with("0x")
        || compact.starts_with("0X")
        || (!compact.is_empty() && compact.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        TextEncoding::Hex
    } else {
        TextEncoding::Base64
    }
}

/// Decodes pasted text.
pub fn decode_text(text: &str, encoding: TextEncoding) -> Result<Vec<u8>, TextInputError> {
    let compact = Compact::new(text);
    if compact.text.is_empty() {
        return Err(TextInputError::Empty);
    }
    match encoding {
        TextEncoding::Auto => decode_text(text, detect(text)),
        TextEncoding::Hex => decode_hex(&compact),
        TextEncoding::Base64 => decode_base64(&compact),
    }
}

fn decode_hex(compact: &Compact) -> Result<Vec<u8>, TextInputError> {
    let skip = if compact.text.starts_with("0x") || compact.text.starts_with("0X") {
        2
    } else {
        0
    };
    let digits = compact.text.get(skip..).unwrap_or_default();
    hex::decode(digits).map_err(|err| match err {
        hex::FromHexError::InvalidHexCharacter { index, .. } => {
            let (offset, found) = compact.origin(index + skip);
            TextInputError::NotHex { offset, found }
        }
        hex::FromHexError::OddLength | hex::FromHexError::InvalidStringLength => {
            TextInputError::OddHexDigits {
                digits: digits.chars().count(),
            }
        }
    })
}

fn decode_base64(compact: &Compact) -> Result<Vec<u8>, TextInputError> {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let url_safe = compact.text.contains(['-', '_']);
    let alphabet = if url_safe {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    GeneralPurpose::new(alphabet, config)
        .decode(&compact.text)
        .map_err(|err| match err {
            base64::DecodeError::InvalidByte(index, _)
            | base64::DecodeError::InvalidLastSymbol(index, _) => {
                let (offset, found) = compact.origin(index);
                TextInputError::NotBase64 { offset, found }
            }
            base64::DecodeError::InvalidLength(symbols) => TextInputError::Base64Length { symbols },
            base64::DecodeError::InvalidPadding => TextInputError::Base64Padding,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_line_breaks_and_prefix_decodes() {
        assert_eq!(
            decode_text("0x00ff\n 10", TextEncoding::Auto),
            Ok(vec![0, 0xff, 0x10])
        );
        assert_eq!(
            decode_text("DEADbeef", TextEncoding::Hex),
            Ok(vec![0xde, 0xad, 0xbe, 0xef])
        );
    }

    #[test]
    fn base64_both_alphabets_with_or_without_padding() {
        assert_eq!(
            decode_text("AP8Q", TextEncoding::Auto),
            Ok(vec![0, 0xff, 0x10])
        );
        assert_eq!(
            decode_text("-_8=", TextEncoding::Base64),
            Ok(vec![0xfb, 0xff])
        );
        assert_eq!(
            decode_text("+/8", TextEncoding::Base64),
            Ok(vec![0xfb, 0xff])
        );
        assert_eq!(
            decode_text("aGVs\nbG8=\n", TextEncoding::Auto),
            Ok(b"hello".to_vec())
        );
    }

    #[test]
    fn auto_prefers_hex_only_when_every_character_is_a_hex_digit() {
        assert_eq!(detect(" 0a0b "), TextEncoding::Hex);
        assert_eq!(detect("aGVsbG8="), TextEncoding::Base64);
        assert_eq!(detect("0xZZ"), TextEncoding::Hex);
    }

    #[test]
    fn bad_hex_names_the_character_and_its_offset_in_the_pasted_text() {
        assert_eq!(
            decode_text("00 1g", TextEncoding::Hex),
            Err(TextInputError::NotHex {
                offset: 4,
                found: 'g'
            })
        );
        assert_eq!(
            decode_text("0x0 0 0", TextEncoding::Auto),
            Err(TextInputError::OddHexDigits { digits: 3 })
        );
    }

    #[test]
    fn bad_base64_names_the_character_and_its_offset() {
        assert_eq!(
            decode_text("aGVs\nb*8=", TextEncoding::Base64),
            Err(TextInputError::NotBase64 {
                offset: 6,
                found: '*'
            })
        );
        assert_eq!(
            decode_text("aGVsb", TextEncoding::Base64),
            Err(TextInputError::Base64Length { symbols: 5 })
        );
    }

    #[test]
    fn empty_and_unknown_encoding_are_errors() {
        assert_eq!(
            decode_text(" \n\t", TextEncoding::Auto),
            Err(TextInputError::Empty)
        );
        assert_eq!(
            TextEncoding::parse("uuencode"),
            Err(TextInputError::UnknownEncoding("uuencode".into()))
        );
    }
}
