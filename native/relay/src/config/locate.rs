//! Finds the line and column of a key path in the YAML text, for errors found after
//! deserialisation (validation rules), which serde_yaml cannot place by itself.
//!
//! How: serde_yaml attaches the position of the current node to any error a `Deserialize`
//! impl returns. [`locate`] walks the document with a seed that follows the path and fails
//! deliberately on the node it names; the position of that error is the node's. A path that
//! is not in the text (a key missing, so defaulted) is placed at its nearest present parent.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use super::error::Location;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// Splits `a.b[1].c` into segments; `None` for the root (`.`) or a malformed path.
fn segments(path: &str) -> Option<Vec<Segment>> {
    if path == "." || path.is_empty() {
        return None;
    }
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, mut rest) = match part.find('[') {
            Some(at) => part.split_at(at),
            None => (part, ""),
        };
        if !key.is_empty() {
            out.push(Segment::Key(key.to_owned()));
        }
        while let Some(stripped) = rest.strip_prefix('[') {
            let end = stripped.find(']')?;
            let (index, after) = stripped.split_at(end);
            out.push(Segment::Index(index.parse().ok()?));
            rest = after.get(1..)?;
        }
    }
    Some(out)
}

struct Seek<'a> {
    rest: &'a [Segment],
    found: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Seek<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        if self.rest.is_empty() {
            self.found.set(true);
            // Fails on purpose inside the node: serde_yaml marks the error with its position.
            return deserializer.deserialize_any(Refuse);
        }
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seek<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML node")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((Segment::Key(wanted), rest)) = self.rest.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        while let Some(key) = map.next_key::<serde_yaml::Value>()? {
            if key.as_str() == Some(wanted.as_str()) {
                return map.next_value_seed(Seek {
                    rest,
                    found: self.found,
                });
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let Some((Segment::Index(wanted), rest)) = self.rest.split_first() else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut index = 0;
        loop {
            if index == *wanted {
                seq.next_element_seed(Seek {
                    rest,
                    found: self.found,
                })?;
                return Ok(());
            }
            if seq.next_element::<IgnoredAny>()?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// A visitor that accepts nothing: every `visit_*` is serde's default, an error.
struct Refuse;

impl Visitor<'_> for Refuse {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("nothing (locating a node)")
    }
}

fn locate_exact(text: &str, path: &[Segment]) -> Option<Location> {
    let found = Cell::new(false);
    let seek = Seek {
        rest: path,
        found: &found,
    };
    let err = seek
        .deserialize(serde_yaml::Deserializer::from_str(text))
        .err()?;
    if !found.get() {
        return None;
    }
    err.location().map(|l| Location {
        line: l.line(),
        column: l.column(),
    })
}

/// The position of `path` (e.g. `remote_write[1].queue_config.min_shards`) in `text`, or of
/// its nearest parent present in the text.
pub fn locate(text: &str, path: &str) -> Option<Location> {
    let segments = segments(path)?;
    (1..=segments.len()).rev().find_map(|len| {
        segments
            .get(..len)
            .and_then(|prefix| locate_exact(text, prefix))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = "listen:\n  address: x\nremote_write:\n  - url: http://a/\n    send_exemplars: true\n  - url: http://b/\n    queue_config:\n      min_shards: 9\n";

    #[test]
    fn finds_nested_keys_and_indexes() {
        let at = locate(DOC, "remote_write[1].queue_config.min_shards").unwrap();
        assert_eq!((at.line, at.column), (8, 19));
        assert_eq!(locate(DOC, "remote_write[1]").unwrap().line, 6);
        assert_eq!(locate(DOC, "remote_write[1].queue_config").unwrap().line, 8);
        assert_eq!(locate(DOC, "listen.address").unwrap().line, 2);
        assert_eq!(locate(DOC, "remote_write[0].url").unwrap().line, 4);
        assert_eq!(
            locate(DOC, "remote_write[0].send_exemplars").unwrap().line,
            5
        );
    }

    #[test]
    fn missing_key_falls_back_to_its_parent() {
        assert_eq!(locate(DOC, "remote_write[0].queue_config").unwrap().line, 4);
        assert_eq!(locate(DOC, "nothing.here"), None);
    }

    #[test]
    fn splits_paths() {
        assert_eq!(
            segments("a[1][2].b"),
            Some(vec![
                Segment::Key("a".into()),
                Segment::Index(1),
                Segment::Index(2),
                Segment::Key("b".into())
            ])
        );
        assert_eq!(segments("."), None);
        assert_eq!(segments("a[x]"), None);
    }
}
