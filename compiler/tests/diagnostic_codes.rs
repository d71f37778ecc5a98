//! Keeps the diagnostic codes, `docs/diagnostics.md` and the error fixtures in step.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn rust_files(dir: &Path, files: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("source dir is readable") {
        let path = entry.expect("readable entry").path();
        if path.is_dir() {
            rust_files(&path, files);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
}

/// Every `code("mlops::…")` declared on a diagnostic variant in the compiler's source.
fn codes_in_source() -> BTreeSet<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut codes = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("source is readable");
        for piece in text.split("code(\"").skip(1) {
            let code = piece.split('"').next().unwrap_or_default();
            if code.starts_with("mlops::") {
                codes.insert(code.to_string());
            }
        }
    }
    codes
}

#[test]
fn docs_list_exactly_the_codes_in_the_source() {
    let source = codes_in_source();
    assert!(source.len() >= 40, "expected the full set of codes, found {}", source.len());
    let docs = std::fs::read_to_string(root().join("../docs/diagnostics.md")).expect("docs/diagnostics.md exists");
    // `mlops::target::` codes belong to the targets crate, which keeps its own section in step.
    let documented: BTreeSet<String> = docs
        .lines()
        .filter_map(|line| line.strip_prefix("### `"))
        .map(|rest| rest.trim_end_matches('`').to_string())
        .filter(|code| !code.starts_with("mlops::target::"))
        .collect();
    let undocumented: Vec<_> = source.difference(&documented).collect();
    let stale: Vec<_> = documented.difference(&source).collect();
    assert!(undocumented.is_empty(), "codes missing from docs/diagnostics.md: {undocumented:?}");
    assert!(stale.is_empty(), "docs/diagnostics.md lists codes that no longer exist: {stale:?}");
}

#[test]
fn every_code_has_an_error_fixture() {
    let snapshots = root().join("tests/snapshots");
    let mut seen = String::new();
    for entry in std::fs::read_dir(&snapshots).expect("snapshots exist") {
        let path = entry.expect("readable entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
        if name.starts_with("fixtures__err_fixtures_report_problems") {
            seen.push_str(&std::fs::read_to_string(&path).expect("snapshot is readable"));
        }
    }
    let uncovered: Vec<String> =
        codes_in_source().into_iter().filter(|code| !seen.lines().any(|line| line.trim() == code.as_str())).collect();
    assert!(uncovered.is_empty(), "codes no error fixture shows: {uncovered:?}");
}
