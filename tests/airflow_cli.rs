//! The generated Airflow DAG run end to end by the real Airflow (`airflow dags test`, with the
//! `MLOPSC_TEST_AIRFLOW` that `scripts/setup` installs) on this machine, every task running the
//! real `mlopsc step run`, giving the same model metrics as `mlopsc run` of the same spec.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_dir, mlopsc};

/// Every metric of every run in the store of the spec `spec` (relative to `dir`), by name.
fn metrics(dir: &Path, spec: &str) -> BTreeMap<String, f64> {
    let output = mlopsc(dir, &["runs", "list", "--json", "-n", "1000", "--spec", spec]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let runs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    let mut found = BTreeMap::new();
    for run in runs.as_array().expect("a list of runs") {
        assert_eq!(run["status"], "succeeded", "{run}");
        for (name, value) in run["metrics"].as_object().expect("metrics") {
            found.insert(name.clone(), value.as_f64().expect("a number"));
        }
    }
    found
}

#[test]
fn airflow_dags_test_runs_the_generated_dag_and_trains_what_mlopsc_run_trains() {
    let airflow = match std::env::var_os("MLOPSC_TEST_AIRFLOW") {
        Some(path) if !path.is_empty() => PathBuf::from(path),
        _ => {
            eprintln!(
                "skipped: MLOPSC_TEST_AIRFLOW is not set (scripts/test sets it after scripts/setup installs Airflow)"
            );
            return;
        }
    };
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/breast-cancer");
    let scratch = tempfile::tempdir().expect("a temporary folder");

    // Build in one checkout, then move it: the DAG must find the project from its own place.
    let built = scratch.path().join("built");
    copy_dir(&example, &built.join("breast-cancer"), &[".mlops"]);
    let output = mlopsc(&built, &["build", "breast-cancer/mlops.kdl", "--target", "airflow", "-o", "."]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let repo = scratch.path().join("moved");
    std::fs::rename(&built, &repo).expect("moved");
    let dag = std::fs::read_to_string(repo.join("dags/breast_cancer.py")).expect("the DAG");
    assert!(!dag.contains(&scratch.path().display().to_string()), "an absolute path in the DAG:\n{dag}");

    let binary_dir = Path::new(env!("CARGO_BIN_EXE_mlopsc")).parent().expect("a folder").to_path_buf();
    let path = std::env::join_paths(
        std::iter::once(binary_dir).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())),
    )
    .expect("a PATH");
    let run_airflow = |args: &[&str]| {
        Command::new(&airflow)
            .args(args)
            .current_dir(scratch.path())
            .env("AIRFLOW_HOME", scratch.path().join("airflow-home"))
            .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
            .env("AIRFLOW__CORE__DAGS_FOLDER", repo.join("dags"))
            .env("PATH", &path)
            .output()
            .expect("airflow runs")
    };
    let migrated = run_airflow(&["db", "migrate"]);
    assert!(migrated.status.success(), "{}", String::from_utf8_lossy(&migrated.stderr));
    let tested = run_airflow(&["dags", "test", "breast-cancer"]);
    let log = format!("{}\n{}", String::from_utf8_lossy(&tested.stdout), String::from_utf8_lossy(&tested.stderr));
    assert!(tested.status.success(), "{log}");
    assert!(log.contains("state=success"), "the DAG run did not succeed:\n{log}");
    for step in ["ingest.biopsies", "split.holdout", "train.diagnosis", "evaluate.diagnosis"] {
        assert!(log.contains(&format!("task_id='{step}'")), "{step} did not run:\n{log}");
    }

    let reference = scratch.path().join("reference");
    copy_dir(&example, &reference, &[".mlops"]);
    let output = mlopsc(&reference, &["run", "mlops.kdl", "--quiet"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    let from_airflow = metrics(&repo, "breast-cancer/mlops.kdl");
    let from_run = metrics(&reference, "mlops.kdl");
    let evaluation = |all: &BTreeMap<String, f64>| -> BTreeMap<String, f64> {
        all.iter()
            .filter(|(name, _)| name.starts_with("evaluate."))
            .map(|(name, value)| (name.clone(), *value))
            .collect()
    };
    assert!(evaluation(&from_run).len() >= 5, "{from_run:?}");
    assert_eq!(evaluation(&from_airflow), evaluation(&from_run));
}
