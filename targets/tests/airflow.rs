//! The Airflow target: golden DAG files for every example and test spec, deterministic bytes,
//! and the real Airflow (`MLOPSC_TEST_AIRFLOW`, installed by `scripts/setup`) loading every
//! generated DAG in a `DagBag` with no import error and the plan's tasks and edges.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use mlops_compiler::plan::Plan;
use mlops_targets::{plan_file, Target};

/// The DAG file among the emitted files.
fn dag_file(emitted: &mlops_targets::Emitted) -> (String, String) {
    let file = emitted.files.iter().find(|file| file.path.starts_with("dags/")).expect("a DAG file");
    (file.path.clone(), String::from_utf8(file.bytes.clone()).expect("UTF-8"))
}

#[test]
fn every_spec_builds_a_dag_as_snapshotted() {
    for common::Golden { name, plan, emitted, files } in common::golden(Target::Airflow) {
        let paths: Vec<&str> = emitted.files.iter().map(|file| file.path.as_str()).collect();
        assert_eq!(paths.len(), 2, "{name}: {paths:?}");
        assert!(paths.contains(&plan_file(&plan).as_str()), "{name}: {paths:?}");
        for (path, text) in files {
            assert!(path.starts_with("dags/"), "{name}: {path}");
            assert!(!text.contains("/work/") && !text.contains("/home/") && !text.contains("/root/"), "{name}: {text}");
            insta::assert_snapshot!(format!("{name}__{}", path.replace('/', "__")), text);
        }
        insta::assert_snapshot!(format!("{name}__notes"), emitted.notes.join("\n"));
    }
}

#[test]
fn pod_tasks_are_snapshotted_too() {
    let path = common::root().join("targets/tests/fixtures/airflow/unshared_store.kdl");
    let source = std::fs::read_to_string(path).expect("fixture");
    let emitted = common::build(&source, "mlops.kdl", &[Target::Airflow]);
    assert!(!emitted.has_errors(), "{:?}", emitted.diagnostics);
    let (dag_path, text) = dag_file(&emitted);
    assert_eq!(dag_path, "dags/pods.py");
    assert!(text.contains("KubernetesPodOperator("), "{text}");
    assert!(text.contains("MultipleCronTriggerTimetable("), "{text}");
    insta::assert_snapshot!("pods__dags__pods.py", text);
}

#[test]
fn building_twice_gives_identical_bytes() {
    common::assert_deterministic(Target::Airflow);
}

#[test]
fn a_spec_in_a_subfolder_runs_from_the_repository_root() {
    let source = std::fs::read_to_string(common::root().join("examples/churn/mlops.kdl")).expect("example");
    let emitted = common::build(&source, "examples/churn/mlops.kdl", &[Target::Airflow]);
    let (path, text) = dag_file(&emitted);
    assert_eq!(path, "dags/churn.py");
    assert!(text.contains("from examples/churn/mlops.kdl ("), "{text}");
    assert!(text.contains("\" --plan churn.plan.json --project-dir examples/churn\"\n"), "{text}");
    assert!(text.contains("\" --store examples/churn/.mlops\"\n"), "{text}");
    assert!(text.contains("str(Path(__file__).resolve().parents[1])"), "{text}");
}

#[test]
fn secrets_and_params_reach_commands_only_through_the_environment() {
    let source = std::fs::read_to_string(common::root().join("targets/tests/specs/everything.kdl")).expect("spec");
    let emitted = common::build(&source, "mlops.kdl", &[Target::Airflow]);
    let (_, text) = dag_file(&emitted);
    for line in text.lines().filter(|line| line.contains("bash_command") || line.contains("--set")) {
        assert!(!line.contains("{{"), "a template inside a command: {line}");
    }
    assert!(
        text.contains(
            "secrets=[\"MLFLOW_TRACKING_URI\", \"NOTIFY_TOKEN\"], variables=[\"AWS_REGION\", \"MLOPS_STORE\"]"
        ),
        "{text}"
    );
    assert!(text.contains("    ' --set \"region=$MLOPS_PARAM_REGION\"'\n"), "{text}");
    assert!(text.contains("\"MLOPS_PARAM_VERBOSE\": \"{{ 'true' if params['verbose'] else 'false' }}\""), "{text}");
    assert!(text.contains("mask_secret(value)"), "{text}");
    assert!(!text.contains("--store"), "an (env) store is resolved by the step itself: {text}");
}

/// The Airflow executable `MLOPSC_TEST_AIRFLOW` names, or `None` (with a note).
fn airflow() -> Option<PathBuf> {
    match std::env::var_os("MLOPSC_TEST_AIRFLOW") {
        Some(path) if !path.is_empty() => Some(PathBuf::from(path)),
        _ => {
            eprintln!(
                "skipped: MLOPSC_TEST_AIRFLOW is not set (scripts/test sets it after scripts/setup installs Airflow)"
            );
            None
        }
    }
}

/// Loads every DAG under `folder` in a `DagBag` and prints, as JSON, the import errors, the
/// parse time and each DAG's tasks with their upstream task ids.
const DAGBAG_SCRIPT: &str = r#"
import json, sys, time
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:
    from airflow.models.dagbag import DagBag
start = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
seconds = time.perf_counter() - start
print(json.dumps({
    "import_errors": {path: str(error) for path, error in bag.import_errors.items()},
    "seconds": seconds,
    "dags": {dag_id: {task.task_id: sorted(task.upstream_task_ids) for task in dag.tasks}
             for dag_id, dag in bag.dags.items()},
}))
"#;

/// Writes the DAG of every spec that builds (examples, test specs, Airflow fixtures), each in
/// its own project folder; returns the plans by DAG id.
fn write_dags(dir: &Path) -> BTreeMap<String, Plan> {
    let mut specs = common::specs();
    for entry in std::fs::read_dir(common::root().join("targets/tests/fixtures/airflow")).expect("fixtures") {
        let path = entry.expect("readable entry").path();
        specs.push((format!("fixture-{}", path.file_stem().expect("a name").to_string_lossy()), path));
    }
    let mut plans = BTreeMap::new();
    for (name, path) in specs {
        let source = std::fs::read_to_string(&path).expect("spec is readable");
        let file = path.file_name().expect("a file name").to_string_lossy().into_owned();
        let emitted = common::build(&source, &file, &[Target::Airflow]);
        if emitted.has_errors() {
            continue;
        }
        let plan = mlops_compiler::compile(&source, &file).plan.expect("a plan");
        for output in &emitted.files {
            let target = dir.join(&name).join(&output.path);
            std::fs::create_dir_all(target.parent().expect("a parent")).expect("folder");
            std::fs::write(&target, &output.bytes).expect("written");
        }
        let (_, text) = dag_file(&emitted);
        let dag_id = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("dag_id=\""))
            .and_then(|rest| rest.strip_suffix("\","))
            .expect("a dag_id line")
            .to_string();
        plans.insert(dag_id, plan);
    }
    assert!(plans.len() >= 7, "expected DAGs of every spec, found {}", plans.len());
    plans
}

#[test]
fn airflow_loads_every_generated_dag_with_the_plans_tasks_and_edges() {
    let Some(airflow) = airflow() else { return };
    let python = airflow.with_file_name("python");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let plans = write_dags(&dir.path().join("projects"));
    let output = Command::new(&python)
        .arg("-c")
        .arg(DAGBAG_SCRIPT)
        .arg(dir.path().join("projects"))
        .env("AIRFLOW_HOME", dir.path().join("airflow-home"))
        .env("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let line = stdout.lines().rev().find(|line| line.starts_with('{')).expect("a JSON line");
    let report: serde_json::Value = serde_json::from_str(line).expect("JSON");
    assert_eq!(report["import_errors"], serde_json::json!({}), "{stderr}");
    eprintln!("DagBag parsed {} DAGs in {:.3}s", plans.len(), report["seconds"].as_f64().unwrap_or(-1.0));
    let dags = report["dags"].as_object().expect("dags");
    assert_eq!(dags.keys().collect::<Vec<_>>(), plans.keys().collect::<Vec<_>>());
    for (dag_id, plan) in &plans {
        let runs = |step: &&mlops_compiler::plan::Step| step.batch && step.kind != "monitor";
        let expected: BTreeMap<String, Vec<String>> = plan
            .steps
            .iter()
            .filter(runs)
            .map(|step| {
                let mut upstream: Vec<String> = step
                    .depends_on
                    .iter()
                    .filter(|id| plan.step(id).is_some_and(|producer| runs(&producer)))
                    .cloned()
                    .collect();
                upstream.sort();
                (step.id.clone(), upstream)
            })
            .collect();
        let found: BTreeMap<String, Vec<String>> =
            serde_json::from_value(dags[dag_id].clone()).expect("task → upstream ids");
        assert_eq!(found, expected, "{dag_id}");
    }
}
