//! A destination's identity. A configured `name` is used as is. Without one, the name is
//! derived like Prometheus does (the first 6 hex digits of a hash of the stanza), so the same
//! stanza always maps to the same WAL cursor.
//!
//! What is hashed: the stanza as parsed from YAML (every key the user wrote, with its value,
//! defaults NOT filled in), minus the prw-only `start` and `forward_as_received` keys (how
//! a destination starts and sends, not what it is), with mapping keys sorted
//! recursively, serialised as YAML, hashed with SHA-256. Prometheus hashes its Go YAML
//! rendering with MD5, so the two names differ; both change whenever any key of the stanza
//! changes, which starts a new cursor: give destinations a `name` to keep their cursor across
//! edits.

use serde_yaml::{Mapping, Value};
use sha2::{Digest, Sha256};

/// Hex digits kept from the hash, as Prometheus (`hash[:6]`).
const DERIVED_NAME_LEN: usize = 6;

fn canonical(value: &Value) -> Value {
    match value {
        Value::Mapping(map) => {
            let mut entries: Vec<(String, Value, Value)> = map
                .iter()
                .map(|(k, v)| {
                    let key_text = serde_yaml::to_string(k).unwrap_or_default();
                    (key_text, k.clone(), canonical(v))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut sorted = Mapping::new();
            for (_, k, v) in entries {
                sorted.insert(k, v);
            }
            Value::Mapping(sorted)
        }
        Value::Sequence(items) => Value::Sequence(items.iter().map(canonical).collect()),
        Value::Tagged(tagged) => canonical(&tagged.value),
        other => other.clone(),
    }
}

/// Derives the name of a stanza without `name`.
pub fn derive(stanza: &Value) -> String {
    let mut stanza = canonical(stanza);
    if let Value::Mapping(map) = &mut stanza {
        // Order-preserving removal: a stanza with the key hashes as the same stanza without
        // it. (`start` keeps its historical swap-removal: changing it would rename existing
        // nameless destinations.)
        map.shift_remove("forward_as_received");
        map.remove("start");
        map.remove("name");
    }
    let text = serde_yaml::to_string(&stanza).unwrap_or_default();
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    hex.chars().take(DERIVED_NAME_LEN).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stanza(yaml: &str) -> Value {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn key_order_start_and_forward_as_received_do_not_change_the_name() {
        let a = derive(&stanza("url: http://a/\nremote_timeout: 1s"));
        let b = derive(&stanza("remote_timeout: 1s\nurl: http://a/\nstart: oldest"));
        let c = derive(&stanza(
            "url: http://a/\nremote_timeout: 1s\nforward_as_received: false",
        ));
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.len(), 6);
    }

    #[test]
    fn any_other_change_changes_the_name() {
        let a = derive(&stanza("url: http://a/"));
        let b = derive(&stanza("url: http://b/"));
        let c = derive(&stanza("url: http://a/\nqueue_config: {max_shards: 2}"));
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
