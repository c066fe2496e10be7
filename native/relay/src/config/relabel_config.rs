//! `write_relabel_configs` entries as written, and Prometheus's per-action validation
//! (`model/relabel/relabel.go` `UnmarshalYAML`/`Validate`).

use regex::Regex;
use serde::Deserialize;

use super::error::{ConfigError, ConfigErrorKind, KeyPath};
use crate::relabel::{Action, RelabelRule, is_valid_label_name};

const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_REPLACEMENT: &str = "$1";

/// One `write_relabel_configs` entry as written.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator`. Default: none.
    pub source_labels: Vec<String>,
    /// Joins source values. Default: `;`.
    pub separator: String,
    /// Regex, fully anchored. Default: `(.*)`.
    pub regex: String,
    /// For `hashmod` (required there, > 0). Default: 0.
    pub modulus: u64,
    /// Label written by `replace`, `lowercase`, `uppercase`; compared by `keepequal`/`dropequal`.
    pub target_label: String,
    /// `$1`/`${1}`/`$name` expansion template. Default: `$1`.
    pub replacement: String,
    /// Case-insensitive action name. Default: `replace`.
    pub action: String,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        Self {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_owned(),
            regex: DEFAULT_REGEX.to_owned(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_owned(),
            action: "replace".to_owned(),
        }
    }
}

fn parse_action(path: &KeyPath, action: &str) -> Result<Action, ConfigError> {
    let path = path.key("action");
    Ok(match action.to_ascii_lowercase().as_str() {
        "replace" => Action::Replace,
        "keep" => Action::Keep,
        "drop" => Action::Drop,
        "keepequal" => Action::KeepEqual,
        "dropequal" => Action::DropEqual,
        "lowercase" => Action::Lowercase,
        "uppercase" => Action::Uppercase,
        "labelmap" => Action::LabelMap,
        "labeldrop" => Action::LabelDrop,
        "labelkeep" => Action::LabelKeep,
        "hashmod" => Action::HashMod,
        "" => return Err(path.invalid("relabel action cannot be empty")),
        other => return Err(path.invalid_value("relabel action", other)),
    })
}

/// Prometheus's `relabelTarget`: a label name that may contain `$1`/`${name}` references.
fn is_valid_target_template(target: &str) -> bool {
    Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$")
        .map(|re| re.is_match(target))
        .unwrap_or(false)
}

impl RelabelConfig {
    /// Validates and compiles the rule.
    pub fn build(&self, path: &KeyPath) -> Result<RelabelRule, ConfigError> {
        let action = parse_action(path, &self.action)?;
        for (index, name) in self.source_labels.iter().enumerate() {
            if !is_valid_label_name(name) {
                return Err(path
                    .key("source_labels")
                    .index(index)
                    .invalid_value("label name", name));
            }
        }
        let target_path = path.key("target_label");
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && self.target_label.is_empty() {
            return Err(target_path.invalid("this action requires target_label"));
        }
        if action == Action::Replace && !is_valid_target_template(&self.target_label) {
            return Err(target_path.invalid_value("target label", &self.target_label));
        }
        if matches!(
            action,
            Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        ) && !is_valid_label_name(&self.target_label)
        {
            return Err(target_path.invalid_value("target label", &self.target_label));
        }
        if matches!(action, Action::Lowercase | Action::Uppercase)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return Err(path
                .key("replacement")
                .invalid("lowercase and uppercase take no replacement"));
        }
        if matches!(action, Action::KeepEqual | Action::DropEqual)
            && (self.regex != DEFAULT_REGEX
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(
                path.invalid("keepequal and dropequal take only source_labels and target_label")
            );
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !self.target_label.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(path.invalid("labeldrop and labelkeep take only regex"));
        }
        if action == Action::HashMod && self.modulus == 0 {
            return Err(path
                .key("modulus")
                .invalid("relabel configuration for hashmod requires non-zero modulus"));
        }
        let regex = Regex::new(&format!("^(?s:{})$", self.regex))
            .map_err(|err| path.key("regex").error(ConfigErrorKind::Regex(err)))?;
        Ok(RelabelRule {
            source_labels: self.source_labels.clone(),
            separator: self.separator.clone(),
            regex,
            target_label: self.target_label.clone(),
            replacement: self.replacement.clone(),
            action,
            modulus: self.modulus,
        })
    }
}
