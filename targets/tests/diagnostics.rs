//! What a target cannot express: every `fixtures/<target>/*.kdl` checks cleanly but gives at
//! least one build diagnostic, rendered and snapshotted; and `docs/diagnostics.md` lists
//! exactly the codes of `src/diagnostic.rs`, each shown by some fixture.

mod common;

use std::collections::BTreeSet;

use mlops_targets::Target;

#[test]
fn fixtures_report_what_github_actions_cannot_express() {
    insta::glob!("fixtures/github-actions/*.kdl", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let compilation = mlops_compiler::compile(&source, &name);
        assert!(!compilation.has_errors(), "{name} must check cleanly: {:?}", compilation.diagnostics);
        let emitted = common::build(&source, &name, &[Target::GithubActions]);
        assert!(!emitted.diagnostics.is_empty(), "{name} should give at least one build diagnostic");
        insta::assert_snapshot!(common::render(&name, &source, &emitted.diagnostics));
    });
}

// --- Kubeflow ----------------------------------------------------------------------------------
#[test]
fn fixtures_report_what_kubeflow_cannot_express() {
    insta::glob!("fixtures/kubeflow/*.kdl", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let compilation = mlops_compiler::compile(&source, &name);
        assert!(!compilation.has_errors(), "{name} must check cleanly: {:?}", compilation.diagnostics);
        let emitted = common::build(&source, &name, &[Target::Kubeflow]);
        assert!(!emitted.diagnostics.is_empty(), "{name} should give at least one build diagnostic");
        insta::assert_snapshot!(common::render(&name, &source, &emitted.diagnostics));
    });
}
// --- end Kubeflow ------------------------------------------------------------------------------

#[test]
fn fixtures_report_what_airflow_cannot_express() {
    insta::glob!("fixtures/airflow/*.kdl", |path| {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        let name = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let compilation = mlops_compiler::compile(&source, &name);
        assert!(!compilation.has_errors(), "{name} must check cleanly: {:?}", compilation.diagnostics);
        let emitted = common::build(&source, &name, &[Target::Airflow]);
        assert!(!emitted.diagnostics.is_empty(), "{name} should give at least one build diagnostic");
        insta::assert_snapshot!(common::render(&name, &source, &emitted.diagnostics));
    });
}

#[test]
fn an_error_means_the_build_has_errors_and_a_warning_does_not() {
    let fixtures = common::root().join("targets/tests/fixtures/github-actions");
    let read = |name: &str| std::fs::read_to_string(fixtures.join(name)).expect("fixture");
    let errors = common::build(&read("unsupported_cron.kdl"), "mlops.kdl", &[Target::GithubActions]);
    assert!(errors.has_errors());
    assert_eq!(errors.diagnostics.len(), 3, "{:?}", errors.diagnostics);
    let warnings = common::build(&read("ignored_option.kdl"), "mlops.kdl", &[Target::GithubActions]);
    assert!(!warnings.has_errors());
    assert_eq!(warnings.diagnostics.len(), 2, "{:?}", warnings.diagnostics);
}

/// Every `code("mlops::target::…")` in the crate's source.
fn codes_in_source() -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::root().join("targets/src/diagnostic.rs")).expect("source");
    text.split("code(\"")
        .skip(1)
        .filter_map(|piece| piece.split('"').next())
        .filter(|code| code.starts_with("mlops::target::"))
        .map(str::to_string)
        .collect()
}

#[test]
fn docs_list_exactly_the_codes_in_the_source() {
    let source = codes_in_source();
    assert!(source.len() >= 5, "expected the target codes, found {source:?}");
    let docs = std::fs::read_to_string(common::root().join("docs/diagnostics.md")).expect("docs/diagnostics.md");
    let documented: BTreeSet<String> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("### `"))
        .map(|rest| rest.trim_end_matches('`').to_string())
        .filter(|code| code.starts_with("mlops::target::"))
        .collect();
    let undocumented: Vec<_> = source.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&source).collect();
    assert!(undocumented.is_empty(), "codes missing from docs/diagnostics.md: {undocumented:?}");
    assert!(stale.is_empty(), "docs/diagnostics.md lists target codes that no longer exist: {stale:?}");
}

#[test]
fn every_code_has_a_fixture() {
    let snapshots = common::root().join("targets/tests/snapshots");
    let mut seen = String::new();
    for entry in std::fs::read_dir(&snapshots).expect("snapshots exist") {
        let path = entry.expect("readable entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with("diagnostics__fixtures_report") {
            seen.push_str(&std::fs::read_to_string(&path).expect("snapshot is readable"));
        }
    }
    let uncovered: Vec<String> =
        codes_in_source().into_iter().filter(|code| !seen.lines().any(|line| line.trim() == code.as_str())).collect();
    assert!(uncovered.is_empty(), "codes no fixture shows: {uncovered:?}");
}
