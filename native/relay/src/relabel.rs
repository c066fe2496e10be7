//! `write_relabel_configs` applied to one series' label set, with Prometheus semantics
//! (`model/relabel/relabel.go`).
//!
//! Invariants: a [`Labels`] is sorted by name with unique names and no empty values (setting a
//! label to `""` deletes it, as in Prometheus's label builder). Regexes are fully anchored
//! (`^(?s:...)$`) when the rule is built. Rules run in order; `keep`/`drop`/`keepequal`/
//! `dropequal` stop at the first drop. A series whose label set ends up empty is dropped, as
//! Prometheus's queue manager does.

mod labels;
mod rule;

pub use labels::{Labels, is_valid_label_name};
pub use rule::{Action, RelabelRule, hash_mod};

/// What relabelling decided for a series.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Send the (possibly rewritten) series.
    Keep,
    /// Do not send the series; its samples count as dropped.
    Drop,
}

/// Applies `rules` in order to `labels`, rewriting them in place.
pub fn relabel(rules: &[RelabelRule], labels: &mut Labels) -> Verdict {
    for rule in rules {
        if rule.apply(labels) == Verdict::Drop {
            return Verdict::Drop;
        }
    }
    if labels.is_empty() {
        Verdict::Drop
    } else {
        Verdict::Keep
    }
}

#[cfg(test)]
mod tests;
