//! A series' label set, sorted by name, names unique, values never empty.

/// Legacy Prometheus label name rule: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Sorted, de-duplicated label pairs. Setting an empty value deletes the label.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Labels(Vec<(String, String)>);

impl Labels {
    /// Builds from pairs in any order; a later duplicate name wins; empty values are dropped.
    pub fn from_pairs<N: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        let mut labels = Self::default();
        for (name, value) in pairs {
            labels.set(&name.into(), value.into());
        }
        labels
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.position(name)
            .ok()
            .and_then(|index| self.0.get(index))
            .map(|(_, value)| value.as_str())
    }

    /// Sets `name` to `value`; an empty `value` deletes the label.
    pub fn set(&mut self, name: &str, value: String) {
        if value.is_empty() {
            self.delete(name);
            return;
        }
        match self.position(name) {
            Ok(index) => {
                if let Some(pair) = self.0.get_mut(index) {
                    pair.1 = value;
                }
            }
            Err(index) => self.0.insert(index, (name.to_owned(), value)),
        }
    }

    /// Deletes `name` if present.
    pub fn delete(&mut self, name: &str) {
        if let Ok(index) = self.position(name) {
            self.0.remove(index);
        }
    }

    /// Keeps only the labels for which `keep(name)` is true.
    pub fn retain_names(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.0.retain(|(name, _)| keep(name));
    }

    /// Whether there are no labels.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, sorted by name.
    pub fn as_slice(&self) -> &[(String, String)] {
        &self.0
    }

    /// The pairs, sorted by name.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.0
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_sorted_and_unique() {
        let mut labels = Labels::from_pairs([("b", "2"), ("a", "1"), ("b", "3")]);
        labels.set("c", "4".into());
        assert_eq!(
            labels.as_slice(),
            &[
                ("a".into(), "1".into()),
                ("b".into(), "3".into()),
                ("c".into(), "4".into())
            ]
        );
    }

    #[test]
    fn empty_value_deletes() {
        let mut labels = Labels::from_pairs([("a", "1"), ("z", "")]);
        assert_eq!(labels.get("z"), None);
        labels.set("a", String::new());
        assert!(labels.is_empty());
    }

    proptest::proptest! {
        #[test]
        fn stays_sorted_unique_and_non_empty(
            ops in proptest::collection::vec(("[a-d]", "[xy]{0,1}", proptest::bool::ANY), 0..40)
        ) {
            let mut labels = Labels::default();
            for (name, value, delete) in ops {
                if delete { labels.delete(&name) } else { labels.set(&name, value) }
            }
            let pairs = labels.as_slice();
            proptest::prop_assert!(pairs.windows(2).all(|w| w[0].0 < w[1].0));
            proptest::prop_assert!(pairs.iter().all(|(_, v)| !v.is_empty()));
        }
    }
}
