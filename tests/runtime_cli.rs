//! CLI tests of the record-reading commands — `runs list|show|compare`, `models
//! list|show|promote|rollback` and `lineage` — with the real `mlopsc` binary in a temporary
//! folder holding the churn example and a store.
//!
//! The store is filled through the runtime's own record and registry APIs, the way the executor
//! writes it (every plan step of the churn example, its objects in the store, inputs by hash,
//! the ingested file, metrics, registrations), so these tests do not depend on the step kinds
//! being able to train a model.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use mlops_compiler::plan::Plan;
use mlops_runtime::records::{self, NewRun, OutputRecord, StepRunRecord};
use mlops_runtime::registry::{self, NewVersion};
use mlops_runtime::store::Store;
use mlops_stdlib::exec::DataFile;
use serde_json::{json, Value as Json};

const CHURN: &str = include_str!("../examples/churn/mlops.kdl");

/// A temporary folder with the churn spec and a store beside it.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(spec: &str) -> Project {
        let dir = tempfile::tempdir().expect("a temporary folder");
        std::fs::write(dir.path().join("mlops.kdl"), spec).expect("spec written");
        Project { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn store(&self) -> Store {
        Store::open(&self.path().join(".mlops")).expect("store opens")
    }

    fn run(&self, args: &[&str]) -> Output {
        run_in(self.path(), args)
    }
}

fn run_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mlopsc"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("USER", "tester")
        .output()
        .expect("mlopsc runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

/// Runs a command that must succeed; returns its stdout.
fn ok(project: &Project, args: &[&str]) -> String {
    let output = project.run(args);
    assert_eq!(
        output.status.code(),
        Some(0),
        "mlopsc {args:?}\nstdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Runs a command that must print JSON with sorted keys; returns it parsed.
fn ok_json(project: &Project, args: &[&str]) -> Json {
    let text = ok(project, args);
    let value: Json =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{args:?} prints JSON: {error}\n{text}"));
    // serde_json's maps are sorted here, so re-printing gives the same text only when the
    // command printed its keys sorted.
    assert_eq!(text, format!("{}\n", serde_json::to_string_pretty(&value).expect("json")), "keys are sorted");
    value
}

fn plan(spec: &str, set: &[(&str, &str)]) -> Plan {
    let overrides: Vec<(String, String)> =
        set.iter().map(|(name, value)| (name.to_string(), value.to_string())).collect();
    let compilation = mlops_compiler::compile_with_params(spec, "mlops.kdl", &overrides).expect("params apply");
    compilation.plan.unwrap_or_else(|| panic!("the spec compiles: {:?}", compilation.diagnostics))
}

/// How one seeded run goes.
struct Scenario<'a> {
    auc: f64,
    data_hash: &'a str,
    /// Step whose run is reused from this earlier step run id (a cache hit).
    cached: Option<(&'a str, i64)>,
    /// Step that fails; the steps after it are skipped.
    fails: Option<&'a str>,
}

/// Records a run of every step `mlopsc run` executes, the way the executor records it.
/// Returns the run id and step id → step run id.
fn record_run(store: &Store, plan: &Plan, scenario: &Scenario) -> (i64, BTreeMap<String, i64>) {
    let mut connection = store.connect().expect("connect");
    let run_id = records::begin_run(
        store,
        &connection,
        &NewRun {
            project: plan.project.name.clone(),
            spec_file: plan.spec.file.clone(),
            spec_hash: plan.spec.hash.clone(),
            plan_json: plan.to_json(),
            params_json: serde_json::to_string(&plan.params).expect("params"),
            command: "mlopsc run mlops.kdl".to_string(),
            reproduces: None,
        },
    )
    .expect("run begins");
    let mut produced: BTreeMap<(String, String), OutputRecord> = BTreeMap::new();
    let mut step_runs = BTreeMap::new();
    let mut failed = false;
    let executed = plan.steps.iter().filter(|step| step.batch && !matches!(step.kind.as_str(), "serve" | "monitor"));
    for step in executed {
        let this_fails = scenario.fails == Some(step.id.as_str());
        let cached_from = scenario.cached.filter(|(id, _)| *id == step.id).map(|(_, from)| from);
        let status = match (this_fails, failed, cached_from) {
            (true, _, _) => "failed",
            (_, true, _) => "skipped",
            (_, _, Some(_)) => "cached",
            _ => "succeeded",
        };
        failed |= this_fails;
        let mut record = StepRunRecord {
            run_id,
            step_id: step.id.clone(),
            kind: step.kind.clone(),
            fingerprint: step.fingerprint.clone(),
            cache_key: format!("{}-{}", step.fingerprint, scenario.data_hash),
            params_json: serde_json::to_string(&step.params).expect("params"),
            status: status.to_string(),
            reason: if cached_from.is_some() { "cached (run 1)".to_string() } else { "first run".to_string() },
            cached_from,
            started_at: records::now(),
            duration_ms: Some(if cached_from.is_some() { 0 } else { 120 }),
            rows: (step.kind == "ingest").then_some(5000),
            error: this_fails.then(|| "gate `auc` failed: 0.55 < 0.8".to_string()),
            notes: Vec::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            data_files: Vec::new(),
        };
        if matches!(status, "succeeded" | "cached") {
            for input in &step.inputs {
                let key = (input.from.step.clone(), input.from.output.clone());
                record.inputs.insert(input.name.clone(), produced[&key].hash.clone());
            }
            for output in &step.outputs {
                let scratch = store.scratch().expect("scratch");
                let path = scratch.path().join("object");
                let content = format!("{} {} from data {}", step.id, output.name, scenario.data_hash);
                std::fs::write(&path, content).expect("write");
                let object = store.put(&path).expect("put");
                let stored = OutputRecord { kind: output.kind.clone(), hash: object.hash, bytes: object.bytes };
                produced.insert((step.id.clone(), output.name.clone()), stored.clone());
                record.outputs.insert(output.name.clone(), stored);
            }
        }
        if status == "succeeded" || status == "cached" {
            match step.kind.as_str() {
                "ingest" => {
                    record.inputs.insert("data:data/customers.csv".to_string(), scenario.data_hash.to_string());
                    record.data_files = vec![DataFile {
                        path: "data/customers.csv".to_string(),
                        hash: scenario.data_hash.to_string(),
                        bytes: 52_431,
                    }];
                }
                "evaluate" => {
                    record.metrics = BTreeMap::from([("auc".to_string(), scenario.auc), ("f1".to_string(), 0.61)]);
                }
                "register" => {
                    let version = registry::register(
                        store,
                        &mut connection,
                        &NewVersion {
                            name: &step.name,
                            run_id,
                            step_id: &step.id,
                            source_model: "churn",
                            model_hash: &record.inputs["model"],
                            preprocess_hash: None,
                            evaluation_hash: record.inputs.get("evaluation").map(String::as_str),
                            metrics: json!({ "auc": scenario.auc, "f1": 0.61 }),
                            spec_hash: &plan.spec.hash,
                            alias: "staging",
                        },
                    )
                    .expect("registered");
                    record.metrics = BTreeMap::from([("version".to_string(), version as f64)]);
                }
                _ => {}
            }
        }
        let id = records::record_step(store, &mut connection, &record).expect("recorded");
        step_runs.insert(step.id.clone(), id);
    }
    records::finish_run(store, &connection, run_id, if failed { "failed" } else { "succeeded" }).expect("finished");
    (run_id, step_runs)
}

/// Three runs of the churn example: 1 registers version 1; 2 (rounds=500) reuses run 1's
/// ingest and registers version 2; 3 reads changed data and fails its gate.
fn seeded(spec: &str) -> Project {
    let project = Project::new(spec);
    let store = project.store();
    let first_plan = plan(spec, &[]);
    let (_, first) = record_run(
        &store,
        &first_plan,
        &Scenario { auc: 0.82, data_hash: "blake3:aaaa1111", cached: None, fails: None },
    );
    let ingest = first["ingest.customers"];
    record_run(
        &store,
        &plan(spec, &[("rounds", "500")]),
        &Scenario { auc: 0.86, data_hash: "blake3:aaaa1111", cached: Some(("ingest.customers", ingest)), fails: None },
    );
    record_run(
        &store,
        &first_plan,
        &Scenario { auc: 0.55, data_hash: "blake3:bbbb2222", cached: None, fails: Some("evaluate.churn") },
    );
    project
}

#[test]
fn runs_list_shows_the_newest_runs_first_as_a_table_or_json() {
    let project = seeded(CHURN);
    let table = ok(&project, &["runs", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 4, "{table}");
    assert!(lines[0].trim_start().starts_with("RUN  STARTED"), "{table}");
    assert!(lines[1].trim_start().starts_with("3  "), "{table}");
    assert!(lines[1].contains("failed") && lines[1].contains("churn"), "{table}");
    assert!(lines[2].contains("succeeded") && lines[2].contains("auc=0.86 f1=0.61"), "{table}");
    let spec_hash = plan(CHURN, &[]).spec.hash;
    let short = &spec_hash["blake3:".len().."blake3:".len() + 12];
    assert!(lines[3].contains(short), "{table}");

    let limited = ok(&project, &["runs", "list", "--limit", "1"]);
    assert_eq!(limited.lines().count(), 2, "{limited}");

    let json = ok_json(&project, &["runs", "list", "--json"]);
    let runs = json.as_array().expect("an array");
    assert_eq!(runs.iter().map(|run| run["id"].as_i64().unwrap_or(0)).collect::<Vec<_>>(), [3, 2, 1]);
    assert_eq!(runs[1]["steps"], json!({ "cached": 1, "cancelled": 0, "failed": 0, "ran": 8, "skipped": 0 }));
    assert_eq!(runs[0]["steps"]["failed"], 1);
    assert_eq!(runs[0]["steps"]["skipped"], 2);
    assert_eq!(runs[1]["metrics"], json!({ "evaluate.churn/auc": 0.86, "evaluate.churn/f1": 0.61 }));
    assert_eq!(runs[2]["spec_hash"], json!(spec_hash));
}

#[test]
fn runs_show_prints_header_params_steps_metrics_data_and_models() {
    let project = seeded(CHURN);
    let text = ok(&project, &["runs", "show", "2"]);
    assert!(text.starts_with("run 2  succeeded\n"), "{text}");
    for expected in [
        "  project   churn\n",
        "  mlopsc    0.1.0\n",
        &format!("(user {})", records::actor()),
        "  command   mlopsc run mlops.kdl\n",
        "  rounds   500\n",
        "ingest.customers           ingest     cached (run 1)     0.00s  5,000  cached (run 1)",
        "ingest.customers  data/customers.csv  52,431  blake3:aaaa1111",
        "churn-classifier        2  staging",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }
    assert!(
        text.lines().any(|line| line.split_whitespace().collect::<Vec<_>>() == ["evaluate.churn", "auc", "0.86"]),
        "{text}"
    );
    let failed = ok(&project, &["runs", "show", "latest"]);
    assert!(failed.starts_with("run 3  failed\n"), "{failed}");
    assert!(failed.contains("error in evaluate.churn: gate `auc` failed: 0.55 < 0.8"), "{failed}");
    assert!(failed.contains("skipped"), "{failed}");

    let json = ok_json(&project, &["runs", "show", "1", "--json"]);
    assert_eq!(json["run"]["id"], 1);
    assert_eq!(json["params"], json!({ "min-auc": 0.8, "rounds": 300 }));
    assert_eq!(json["registered"][0]["version"], 1);
    assert_eq!(
        json["data_files"],
        json!([{ "bytes": 52431, "hash": "blake3:aaaa1111", "path": "data/customers.csv", "step_id": "ingest.customers" }])
    );
    let steps = json["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 9, "every executed step");
    assert!(steps.iter().all(|step| step["status"] == "succeeded"));
}

#[test]
fn runs_show_of_an_unknown_run_is_a_clear_error() {
    let project = seeded(CHURN);
    let output = project.run(&["runs", "show", "99"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stdout(&output), "");
    let message = stderr(&output);
    assert!(message.starts_with("error: there is no run 99 in `"), "{message}");
    assert!(
        message.ends_with("(runs go from 1 to 3)\nhelp: `mlopsc runs list` shows the recorded runs\n"),
        "{message}"
    );

    let output = project.run(&["runs", "show", "abc"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(stderr(&output).contains("expected a run id"), "{}", stderr(&output));

    let output = project.run(&["runs", "compare", "1"]);
    assert_eq!(output.status.code(), Some(2), "two runs are needed: {}", stderr(&output));
}

#[test]
fn runs_compare_shows_differing_params_metric_deltas_data_and_durations() {
    let project = seeded(CHURN);
    let text = ok(&project, &["runs", "compare", "1", "2"]);
    assert!(text.lines().next().is_some_and(|line| line.contains("RUN 1") && line.contains("RUN 2")), "{text}");
    assert!(text.contains("rounds  300    500"), "{text}");
    assert!(!text.contains("min-auc"), "equal params are left out:\n{text}");
    assert!(text.contains("evaluate.churn/auc") && text.contains("0.86 (+0.04)"), "{text}");
    assert!(text.contains("(none: every run read the same files)"), "{text}");
    assert!(text.contains("step durations"), "{text}");

    let changed = ok(&project, &["runs", "compare", "1", "3"]);
    assert!(changed.contains("ingest.customers/data/customers.csv  aaaa1111"), "{changed}");
    assert!(changed.contains("bbbb2222"), "{changed}");

    let json = ok_json(&project, &["runs", "compare", "1", "2", "3", "--json"]);
    assert_eq!(json["params"], json!({ "rounds": [300, 500, 300] }));
    assert_eq!(json["metrics"]["evaluate.churn/auc"]["values"], json!([0.82, 0.86, null]));
    let delta = json["metrics"]["evaluate.churn/auc"]["deltas"][1].as_f64().expect("delta");
    assert!((delta - 0.04).abs() < 1e-9, "{delta}");
    assert_eq!(
        json["data"]["ingest.customers/data/customers.csv"],
        json!(["blake3:aaaa1111", "blake3:aaaa1111", "blake3:bbbb2222"])
    );
    assert_eq!(json["step_durations"]["ingest.customers"], json!([120, 0, 120]));
}

#[test]
fn the_store_comes_from_store_or_the_spec_and_its_absence_is_explained() {
    let project = seeded(CHURN);
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let store: PathBuf = project.path().join(".mlops");
    let output = run_in(elsewhere.path(), &["runs", "list", "--store", store.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output).lines().count(), 4);
    let spec = project.path().join("mlops.kdl");
    let output = run_in(elsewhere.path(), &["models", "list", "--spec", spec.to_str().expect("utf-8 path")]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(stdout(&output).contains("churn-classifier"));

    let output = run_in(elsewhere.path(), &["runs", "list"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).starts_with("error: no store at `.mlops`\nhelp: run the pipeline first"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn models_list_and_show_give_versions_aliases_metrics_and_history() {
    let project = seeded(CHURN);
    let table = ok(&project, &["models", "list"]);
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("MODEL"), "{table}");
    assert!(lines[1].starts_with("churn-classifier"), "{table}");
    assert!(lines[1].contains("staging→2") && lines[1].contains("auc=0.86 f1=0.61"), "{table}");
    let json = ok_json(&project, &["models", "list", "--json"]);
    assert_eq!(json[0]["name"], "churn-classifier");
    assert_eq!((json[0]["versions"].as_i64(), json[0]["latest"].as_i64()), (Some(2), Some(2)));
    assert_eq!(json[0]["aliases"], json!({ "staging": 2 }));

    let shown = ok(&project, &["models", "show", "churn-classifier@staging"]);
    assert!(shown.starts_with("churn-classifier@2\n"), "{shown}");
    assert!(shown.contains(&format!("by {}", records::actor())) && shown.contains("alias history"), "{shown}");
    assert!(shown.lines().any(|line| line.ends_with("register  staging     1   2")), "{shown}");
    let json = ok_json(&project, &["models", "show", "churn-classifier@1", "--json"]);
    assert_eq!(json["version"]["version"], 1);
    assert_eq!(json["version"]["run_id"], 1);
    assert_eq!(json["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["alias_history"].as_array().map(Vec::len), Some(2));

    let output = project.run(&["models", "show", "churn-classifier@9"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "error: model `churn-classifier` has no version 9 (its versions are 1 to 2)\n\
         help: `mlopsc models list` shows the registered models and their aliases\n"
    );
}

#[test]
fn promote_and_rollback_move_aliases_step_by_step() {
    let project = seeded(CHURN);
    // The churn spec's register has the default `promote "production"`.
    assert_eq!(
        ok(&project, &["models", "promote", "churn-classifier@1"]),
        "promoted churn-classifier@production: `production` now points at version 1 (was unset)\n"
    );
    assert_eq!(
        ok(&project, &["models", "promote", "churn-classifier@staging"]),
        "promoted churn-classifier@production: `production` now points at version 2 (was version 1)\n"
    );
    assert_eq!(
        ok(&project, &["models", "promote", "churn-classifier@2"]),
        "churn-classifier@2 is already `production`; nothing changed\n"
    );
    let moved = ok_json(&project, &["models", "promote", "churn-classifier@1", "--to", "canary", "--json"]);
    assert_eq!(moved, json!({ "alias": "canary", "changed": true, "from": null, "name": "churn-classifier", "to": 1 }));
    assert_eq!(
        ok(&project, &["models", "rollback", "churn-classifier"]),
        "rolled back churn-classifier@production: `production` now points at version 1 (was version 2)\n"
    );
    let output = project.run(&["models", "rollback", "churn-classifier"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("has no earlier version to roll back to"), "{}", stderr(&output));
    assert_eq!(
        ok(&project, &["models", "rollback", "churn-classifier@staging"]),
        "rolled back churn-classifier@staging: `staging` now points at version 1 (was version 2)\n"
    );

    let output = project.run(&["models", "promote", "churn-classifier"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("as NAME@VERSION"), "{}", stderr(&output));
    let output = project.run(&["models", "promote", "churn-classifier@1", "--to", "latest"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));

    // Every move is in the history that `models show` prints.
    let json = ok_json(&project, &["models", "show", "churn-classifier", "--json"]);
    let actions: Vec<(String, String)> = json["alias_history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|change| {
            (
                change["action"].as_str().unwrap_or_default().to_string(),
                change["alias"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    let expected = [
        ("register", "staging"),
        ("register", "staging"),
        ("promote", "production"),
        ("promote", "production"),
        ("promote", "canary"),
        ("rollback", "production"),
        ("rollback", "staging"),
    ];
    assert_eq!(actions, expected.map(|(action, alias)| (action.to_string(), alias.to_string())));
}

#[test]
fn promote_defaults_to_the_alias_the_spec_names() {
    let spec = CHURN
        .replace(r#"alias="staging""#, r#"alias="staging" promote="live""#)
        .replace("churn-classifier@production", "churn-classifier@live");
    let project = seeded(&spec);
    assert_eq!(
        ok(&project, &["models", "promote", "churn-classifier@2"]),
        "promoted churn-classifier@live: `live` now points at version 2 (was unset)\n"
    );
}

#[test]
fn lineage_traces_a_model_to_its_run_spec_steps_data_and_promotions() {
    let project = seeded(CHURN);
    ok(&project, &["models", "promote", "churn-classifier@2"]);
    let spec_hash = plan(CHURN, &[("rounds", "500")]).spec.hash;
    let text = ok(&project, &["lineage", "churn-classifier@production"]);
    assert!(text.starts_with("churn-classifier@2  (production, staging)\n"), "{text}");
    for expected in [
        "run         2 (succeeded)",
        &format!("spec        mlops.kdl  {spec_hash}"),
        "trained by  train.churn",
        "register.churn-classifier (register): succeeded",
        "train.churn (train): succeeded",
        "ingest.customers (ingest): cached, computed in run 1",
        "in   data:data/customers.csv = blake3:aaaa1111",
        "ingest.customers  data/customers.csv  52,431  blake3:aaaa1111",
        "register  staging",
        "promote   production",
    ] {
        assert!(text.contains(expected), "`{expected}` in:\n{text}");
    }

    let json = ok_json(&project, &["lineage", "churn-classifier@2", "--json"]);
    assert_eq!(json["run"]["id"], 2);
    assert_eq!(json["run"]["spec_hash"], json!(spec_hash));
    assert_eq!(json["train_step"], "train.churn");
    let steps: Vec<&str> =
        json["steps"].as_array().expect("steps").iter().filter_map(|step| step["step_id"].as_str()).collect();
    for step in [
        "register.churn-classifier",
        "evaluate.churn",
        "train.churn",
        "tune.churn",
        "split.holdout",
        "transform.features",
        "validate.customers",
        "ingest.customers",
    ] {
        assert!(steps.contains(&step), "{step} in {steps:?}");
    }
    assert_eq!(steps.first(), Some(&"register.churn-classifier"));
    assert_eq!(steps.last(), Some(&"ingest.customers"));
    assert_eq!(json["data_files"][0]["hash"], "blake3:aaaa1111");
    let changes: Vec<&str> = json["alias_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter_map(|change| change["action"].as_str())
        .collect();
    assert_eq!(changes, ["register", "promote"]);
    assert_eq!(json["alias_changes"][1]["changed_by"], "tester");

    let output = project.run(&["lineage", "churn-classifier@canary"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("error: model `churn-classifier` has no alias `canary`"),
        "{}",
        stderr(&output)
    );
}
