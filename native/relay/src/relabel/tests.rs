//! One test per action, mirroring Prometheus's `relabel_test.go` cases.

use super::*;
use crate::config::{KeyPath, RelabelConfig};

fn rules(yaml: &str) -> Vec<RelabelRule> {
    let configs: Vec<RelabelConfig> = serde_yaml::from_str(yaml).unwrap();
    configs
        .iter()
        .enumerate()
        .map(|(i, c)| c.build(&KeyPath::root().index(i)).unwrap())
        .collect()
}

fn run(yaml: &str, labels: &[(&str, &str)]) -> (Verdict, Vec<(String, String)>) {
    let mut labels = Labels::from_pairs(labels.iter().copied());
    let verdict = relabel(&rules(yaml), &mut labels);
    (verdict, labels.into_vec())
}

fn pairs(labels: &[(&str, &str)]) -> Vec<(String, String)> {
    Labels::from_pairs(labels.iter().copied()).into_vec()
}

#[test]
fn replace_with_defaults_copies_the_source() {
    let (v, l) = run("- {source_labels: [a], target_label: d}", &[("a", "foo")]);
    assert_eq!(v, Verdict::Keep);
    assert_eq!(l, pairs(&[("a", "foo"), ("d", "foo")]));
}

#[test]
fn replace_expands_numbered_and_braced_groups() {
    let yaml = "- {source_labels: [a, b], separator: '-', regex: '(f.*)-(b.*)', target_label: t, replacement: '${2}x$1'}";
    let (_, l) = run(yaml, &[("a", "foo"), ("b", "bar")]);
    assert_eq!(l, pairs(&[("a", "foo"), ("b", "bar"), ("t", "barxfoo")]));
}

#[test]
fn replace_regex_is_fully_anchored() {
    let (_, l) = run(
        "- {source_labels: [a], regex: 'o', target_label: t}",
        &[("a", "foo")],
    );
    assert_eq!(l, pairs(&[("a", "foo")]));
}

#[test]
fn replace_without_match_changes_nothing() {
    let (_, l) = run(
        "- {source_labels: [a], regex: 'x(.*)', target_label: t}",
        &[("a", "foo")],
    );
    assert_eq!(l, pairs(&[("a", "foo")]));
}

#[test]
fn replace_with_empty_result_deletes_the_target() {
    let yaml = "- {source_labels: [a], regex: 'foo', target_label: a, replacement: ''}";
    let (v, l) = run(yaml, &[("a", "foo"), ("b", "x")]);
    assert_eq!(v, Verdict::Keep);
    assert_eq!(l, pairs(&[("b", "x")]));
}

#[test]
fn replace_target_can_use_groups_and_invalid_result_is_skipped() {
    let (_, l) = run(
        "- {source_labels: [a], regex: '(.*)', target_label: 'x_${1}', replacement: v}",
        &[("a", "b")],
    );
    assert_eq!(l, pairs(&[("a", "b"), ("x_b", "v")]));
    let (_, l) = run(
        "- {source_labels: [a], regex: '(.*)', target_label: '${1}', replacement: v}",
        &[("a", "1bad")],
    );
    assert_eq!(l, pairs(&[("a", "1bad")]));
}

#[test]
fn regex_dot_matches_newline() {
    let (v, _) = run(
        "- {source_labels: [a], regex: 'x.y', action: keep}",
        &[("a", "x\ny")],
    );
    assert_eq!(v, Verdict::Keep);
}

#[test]
fn keep_drops_series_that_do_not_match() {
    let yaml = "- {source_labels: [__name__], regex: 'up|go_.*', action: keep}";
    assert_eq!(run(yaml, &[("__name__", "go_gc")]).0, Verdict::Keep);
    assert_eq!(run(yaml, &[("__name__", "node_load1")]).0, Verdict::Drop);
}

#[test]
fn keep_treats_missing_source_as_empty() {
    assert_eq!(
        run(
            "- {source_labels: [x], regex: '', action: keep}",
            &[("a", "1")]
        )
        .0,
        Verdict::Keep
    );
}

#[test]
fn drop_drops_series_that_match() {
    let yaml = "- {source_labels: [__name__, job], regex: 'go_.*;api', action: drop}";
    assert_eq!(
        run(yaml, &[("__name__", "go_gc"), ("job", "api")]).0,
        Verdict::Drop
    );
    assert_eq!(
        run(yaml, &[("__name__", "go_gc"), ("job", "db")]).0,
        Verdict::Keep
    );
}

#[test]
fn rules_stop_at_the_first_drop() {
    let yaml =
        "- {source_labels: [a], action: drop, regex: '1'}\n- {source_labels: [a], target_label: b}";
    let (v, l) = run(yaml, &[("a", "1")]);
    assert_eq!(v, Verdict::Drop);
    assert_eq!(l, pairs(&[("a", "1")]));
}

#[test]
fn labeldrop_removes_matching_names() {
    let (_, l) = run(
        "- {regex: 'tmp_.*', action: labeldrop}",
        &[("tmp_a", "1"), ("tmp_b", "2"), ("job", "x")],
    );
    assert_eq!(l, pairs(&[("job", "x")]));
}

#[test]
fn labelkeep_keeps_only_matching_names() {
    let (_, l) = run(
        "- {regex: '__name__|job', action: labelkeep}",
        &[("__name__", "up"), ("job", "x"), ("pod", "p")],
    );
    assert_eq!(l, pairs(&[("__name__", "up"), ("job", "x")]));
}

#[test]
fn series_left_without_labels_is_dropped() {
    let (v, _) = run("- {regex: 'nothing', action: labelkeep}", &[("a", "1")]);
    assert_eq!(v, Verdict::Drop);
}

#[test]
fn labelmap_copies_matching_labels_under_new_names() {
    let (_, l) = run(
        "- {regex: 'meta_(.+)', action: labelmap}",
        &[("meta_pod", "p"), ("job", "x")],
    );
    assert_eq!(l, pairs(&[("job", "x"), ("meta_pod", "p"), ("pod", "p")]));
}

#[test]
fn lowercase_and_uppercase_write_the_target() {
    let (_, l) = run(
        "- {source_labels: [a], target_label: lo, action: lowercase}\n- {source_labels: [a], target_label: up, action: uppercase}",
        &[("a", "MiX")],
    );
    assert_eq!(l, pairs(&[("a", "MiX"), ("lo", "mix"), ("up", "MIX")]));
}

#[test]
fn keepequal_and_dropequal_compare_with_the_target() {
    let keep = "- {source_labels: [a], target_label: b, action: keepequal}";
    assert_eq!(run(keep, &[("a", "1"), ("b", "1")]).0, Verdict::Keep);
    assert_eq!(run(keep, &[("a", "1"), ("b", "2")]).0, Verdict::Drop);
    let drop = "- {source_labels: [a], target_label: b, action: DropEqual}";
    assert_eq!(run(drop, &[("a", "1"), ("b", "1")]).0, Verdict::Drop);
}

fn build_err(yaml: &str) -> String {
    let configs: Vec<RelabelConfig> = serde_yaml::from_str(yaml).unwrap();
    configs[0]
        .build(&KeyPath::root().index(0))
        .unwrap_err()
        .path
}

#[test]
fn prometheus_validation_rules_name_the_key() {
    assert_eq!(build_err("- {source_labels: [a]}"), "[0].target_label");
    assert_eq!(
        build_err("- {source_labels: [a], target_label: '1x'}"),
        "[0].target_label"
    );
    assert_eq!(
        build_err("- {regex: a, target_label: b, action: labeldrop}"),
        "[0]"
    );
    assert_eq!(
        build_err("- {source_labels: [a], target_label: b, replacement: x, action: lowercase}"),
        "[0].replacement"
    );
    assert_eq!(
        build_err("- {source_labels: [a], target_label: b, regex: x, action: keepequal}"),
        "[0]"
    );
    assert_eq!(
        build_err("- {source_labels: ['bad-name'], action: keep}"),
        "[0].source_labels[0]"
    );
    assert_eq!(build_err("- {action: ''}"), "[0].action");
    assert_eq!(build_err("- {action: explode}"), "[0].action");
}

/// Expected values computed outside this code: `976` is Prometheus's own `relabel_test.go`
/// case; the others are Python's `int.from_bytes(hashlib.md5(v).digest()[8:], "big") % m`.
#[test]
fn hashmod_matches_prometheus_hash() {
    let (v, l) = run(
        "- {source_labels: [c], modulus: 1000, target_label: d, action: hashmod}",
        &[("a", "foo"), ("b", "bar"), ("c", "baz")],
    );
    assert_eq!(v, Verdict::Keep);
    assert_eq!(
        l,
        pairs(&[("a", "foo"), ("b", "bar"), ("c", "baz"), ("d", "976")])
    );
    for (value, modulus, expected) in [
        ("foo;bar", 2, 0),
        ("", 7, 1),
        ("job;instance-1", 2, 0),
        ("job;instance-2", 2, 1),
        ("web;10.0.0.1:9100", 4, 3),
    ] {
        assert_eq!(hash_mod(value, modulus), expected, "{value:?} % {modulus}");
    }
}

#[test]
fn hashmod_splits_series_between_two_relays_with_keep() {
    let split = |shard: &str| {
        format!(
            "- {{source_labels: [job, instance], modulus: 2, target_label: __tmp_shard, action: hashmod}}\n- {{source_labels: [__tmp_shard], regex: '{shard}', action: keep}}\n- {{regex: __tmp_shard, action: labeldrop}}"
        )
    };
    let one = [("job", "job"), ("instance", "instance-1")];
    let two = [("job", "job"), ("instance", "instance-2")];
    assert_eq!(run(&split("0"), &one).0, Verdict::Keep);
    assert_eq!(run(&split("1"), &one).0, Verdict::Drop);
    assert_eq!(run(&split("0"), &two).0, Verdict::Drop);
    let (v, l) = run(&split("1"), &two);
    assert_eq!(v, Verdict::Keep);
    assert_eq!(l, pairs(&two));
}

#[test]
fn hashmod_needs_a_modulus_and_a_valid_target() {
    for (yaml, key) in [
        (
            "{source_labels: [a], target_label: b, action: hashmod}",
            "modulus",
        ),
        (
            "{source_labels: [a], modulus: 2, action: hashmod}",
            "target_label",
        ),
        (
            "{source_labels: [a], modulus: 2, target_label: '$1', action: hashmod}",
            "target_label",
        ),
    ] {
        let config: RelabelConfig = serde_yaml::from_str(yaml).unwrap();
        let err = config.build(&KeyPath::root()).unwrap_err();
        assert_eq!(err.path, key, "{yaml}");
    }
}
