//! One validated relabel rule and how it rewrites a label set. Built only by
//! `config::RelabelConfig::build`, which enforces Prometheus's rules per action.

use regex::Regex;

use super::{Labels, Verdict, is_valid_label_name};

/// A relabel action (every action Prometheus has).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Set `target_label` to the expanded `replacement` when `regex` matches.
    Replace,
    /// Drop the series unless `regex` matches the joined source values.
    Keep,
    /// Drop the series when `regex` matches the joined source values.
    Drop,
    /// Drop the series unless the joined source values equal `target_label`'s value.
    KeepEqual,
    /// Drop the series when the joined source values equal `target_label`'s value.
    DropEqual,
    /// Set `target_label` to the lowercased joined source values.
    Lowercase,
    /// Set `target_label` to the uppercased joined source values.
    Uppercase,
    /// Copy every label whose name matches `regex` to the name given by `replacement`.
    LabelMap,
    /// Delete every label whose name matches `regex`.
    LabelDrop,
    /// Delete every label whose name does not match `regex`.
    LabelKeep,
    /// Set `target_label` to `md5(joined sources)` (its low 8 bytes, big-endian) modulo
    /// `modulus`, as Prometheus does, so series split between relays the same way.
    HashMod,
}

/// A validated `write_relabel_configs` entry.
#[derive(Clone, Debug)]
pub struct RelabelRule {
    pub(crate) source_labels: Vec<String>,
    pub(crate) separator: String,
    /// Already anchored: `^(?s:<regex>)$`.
    pub(crate) regex: Regex,
    pub(crate) target_label: String,
    pub(crate) replacement: String,
    pub(crate) action: Action,
    /// `hashmod` only (> 0 there).
    pub(crate) modulus: u64,
}

/// Two rules are equal when they were written the same way (regexes compared by source),
/// so a reload can tell a changed destination from an unchanged one.
impl PartialEq for RelabelRule {
    fn eq(&self, other: &Self) -> bool {
        self.source_labels == other.source_labels
            && self.separator == other.separator
            && self.regex.as_str() == other.regex.as_str()
            && self.target_label == other.target_label
            && self.replacement == other.replacement
            && self.action == other.action
            && self.modulus == other.modulus
    }
}

impl Eq for RelabelRule {}

impl RelabelRule {
    /// The action of this rule.
    pub fn action(&self) -> Action {
        self.action
    }

    fn joined_source(&self, labels: &Labels) -> String {
        let values: Vec<&str> = self
            .source_labels
            .iter()
            .map(|name| labels.get(name).unwrap_or(""))
            .collect();
        values.join(&self.separator)
    }

    /// Applies the rule to `labels`.
    pub(crate) fn apply(&self, labels: &mut Labels) -> Verdict {
        match self.action {
            Action::Keep | Action::Drop => {
                let matched = self.regex.is_match(&self.joined_source(labels));
                if matched == (self.action == Action::Keep) {
                    Verdict::Keep
                } else {
                    Verdict::Drop
                }
            }
            Action::KeepEqual | Action::DropEqual => {
                let equal =
                    labels.get(&self.target_label).unwrap_or("") == self.joined_source(labels);
                if equal == (self.action == Action::KeepEqual) {
                    Verdict::Keep
                } else {
                    Verdict::Drop
                }
            }
            Action::Replace => {
                self.replace(labels);
                Verdict::Keep
            }
            Action::Lowercase => {
                let value = self.joined_source(labels).to_lowercase();
                labels.set(&self.target_label, value);
                Verdict::Keep
            }
            Action::Uppercase => {
                let value = self.joined_source(labels).to_uppercase();
                labels.set(&self.target_label, value);
                Verdict::Keep
            }
            Action::LabelMap => {
                let snapshot = labels.clone();
                for (name, value) in snapshot.as_slice() {
                    if self.regex.is_match(name) {
                        let new_name = self.regex.replace_all(name, self.replacement.as_str());
                        labels.set(&new_name, value.clone());
                    }
                }
                Verdict::Keep
            }
            Action::LabelDrop => {
                labels.retain_names(|name| !self.regex.is_match(name));
                Verdict::Keep
            }
            Action::LabelKeep => {
                labels.retain_names(|name| self.regex.is_match(name));
                Verdict::Keep
            }
            Action::HashMod => {
                let bucket = hash_mod(&self.joined_source(labels), self.modulus);
                labels.set(&self.target_label, bucket.to_string());
                Verdict::Keep
            }
        }
    }

    /// Prometheus `Replace`: no match leaves the labels alone; a target that expands to an
    /// invalid name is skipped; an empty result deletes the target.
    fn replace(&self, labels: &mut Labels) {
        let value = self.joined_source(labels);
        let Some(captures) = self.regex.captures(&value) else {
            return;
        };
        let mut target = String::new();
        captures.expand(&self.target_label, &mut target);
        if !is_valid_label_name(&target) {
            return;
        }
        let mut result = String::new();
        captures.expand(&self.replacement, &mut result);
        labels.set(&target, result);
    }
}

/// Prometheus's `hashmod`: the last 8 bytes of the MD5 sum of `value`, big-endian, modulo
/// `modulus` (0 never reaches here: the config refuses it).
pub fn hash_mod(value: &str, modulus: u64) -> u64 {
    use md5::Digest;
    let sum = md5::Md5::digest(value.as_bytes());
    let mut low = [0u8; 8];
    if let Some(tail) = sum.get(8..16) {
        low.copy_from_slice(tail);
    }
    u64::from_be_bytes(low).checked_rem(modulus).unwrap_or(0)
}
