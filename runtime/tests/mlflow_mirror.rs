//! The MLflow mirror against a real `mlflow server` on 127.0.0.1: a store filled through the
//! runtime's record and registry APIs is mirrored, then read back through MLflow's REST API.
//!
//! Needs `MLOPSC_TEST_MLFLOW`: the `mlflow` executable of a virtualenv, for example
//! `python3 -m uv venv /tmp/mlflow-venv && python3 -m uv pip install --python
//! /tmp/mlflow-venv/bin/python mlflow==3.17.2`, then `MLOPSC_TEST_MLFLOW=/tmp/mlflow-venv/bin/mlflow`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mlops_compiler::plan::Plan;
use mlops_runtime::mlflow;
use mlops_runtime::records::{self, NewRun, OutputRecord, StepRunRecord};
use mlops_runtime::registry::{self, NewVersion};
use mlops_runtime::store::Store;
use mlops_stdlib::exec::DataFile;
use serde_json::{json, Value as Json};

const SPEC: &str = r#"
project "mirror-demo" version="0.1.0"
params {
    rounds 50
    min-auc 0.6
}
tracking "mlflow" uri="URI" experiment="mlopsc-mirror-test"
dataset "customers" {
    source "data/customers.csv"
    schema {
        age int min=0
        charges float
        churned bool
    }
}
split "holdout" from="customers" train=0.7 valid=0.15 test=0.15 seed=1
train "churn" data="holdout.train" label="churned" {
    xgboost objective="binary:logistic" rounds=(param)"rounds" max_depth=3 eta=0.2
}
evaluate "churn" data="holdout.test" {
    metrics "auc" "accuracy"
    gate "auc" min=(param)"min-auc"
}
register "churn-model" model="churn" alias="staging"
"#;

/// A `mlflow server` in its own process group, stopped (the whole group) when dropped, even
/// when the test fails.
struct MlflowServer {
    child: Child,
    uri: String,
    log: PathBuf,
}

impl MlflowServer {
    fn start(mlflow: &str, dir: &Path) -> MlflowServer {
        use std::os::unix::process::CommandExt;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("free port")
            .port();
        let log = dir.join("mlflow-server.log");
        let log_file = std::fs::File::create(&log).expect("log file");
        let child = Command::new(mlflow)
            .args(["server", "--host", "127.0.0.1", "--port", &port.to_string(), "--workers", "1"])
            .arg("--backend-store-uri")
            .arg(format!("sqlite:///{}", dir.join("mlflow.db").display()))
            .args(["--default-artifact-root", "mlflow-artifacts:/"])
            .arg("--artifacts-destination")
            .arg(dir.join("artifacts"))
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log file"))
            .stderr(log_file)
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start `{mlflow} server`: {error}"));
        let server = MlflowServer { child, uri: format!("http://127.0.0.1:{port}"), log };
        server.wait_healthy(Duration::from_secs(300));
        server
    }

    fn wait_healthy(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if let Ok(mut response) = ureq::get(format!("{}/health", self.uri)).call() {
                if response.body_mut().read_to_string().is_ok_and(|body| body.trim() == "OK") {
                    return;
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        panic!("mlflow server at {} not healthy after {limit:?}; its log:\n{}", self.uri, self.log_text());
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Json {
        let url = format!("{}/api/2.0/{endpoint}", self.uri);
        let mut response = ureq::get(&url)
            .query_pairs(query.iter().copied())
            .call()
            .unwrap_or_else(|error| panic!("GET {url}: {error}"));
        response.body_mut().read_json().unwrap_or_else(|error| panic!("GET {url}: {error}"))
    }

    fn post(&self, endpoint: &str, body: &Json) -> Json {
        let url = format!("{}/api/2.0/{endpoint}", self.uri);
        let mut response = ureq::post(&url).send_json(body).unwrap_or_else(|error| panic!("POST {url}: {error}"));
        response.body_mut().read_json().unwrap_or_else(|error| panic!("POST {url}: {error}"))
    }
}

impl Drop for MlflowServer {
    fn drop(&mut self) {
        // The server forks workers; signal the whole group, then reap the leader.
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
        let _ = self.child.wait();
    }
}

fn object(store: &Store, bytes: &[u8]) -> OutputRecord {
    let scratch = store.scratch().expect("scratch");
    let path = scratch.path().join("object");
    std::fs::write(&path, bytes).expect("write");
    let object = store.put(&path).expect("put");
    OutputRecord { kind: String::new(), hash: object.hash, bytes: object.bytes }
}

/// Records a run of every batch step of `plan`, the way the executor does: outputs in the
/// store, inputs by hash, the ingested file, metrics, and (when `register`) a registry version.
/// `failed_from` makes that step fail and skips the ones after it.
fn record_run(store: &Store, plan: &Plan, auc: f64, failed_from: Option<&str>) -> (i64, BTreeMap<String, String>) {
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
    .expect("run");
    let mut produced: BTreeMap<(String, String), OutputRecord> = BTreeMap::new();
    let mut failed = false;
    for step in plan.steps.iter().filter(|step| step.batch) {
        failed |= failed_from == Some(step.id.as_str());
        let status = if failed_from == Some(step.id.as_str()) {
            "failed"
        } else if failed {
            "skipped"
        } else {
            "succeeded"
        };
        let mut record = StepRunRecord {
            run_id,
            step_id: step.id.clone(),
            kind: step.kind.clone(),
            fingerprint: step.fingerprint.clone(),
            cache_key: format!("{}-{run_id}", step.fingerprint),
            params_json: serde_json::to_string(&step.params).expect("params"),
            status: status.to_string(),
            reason: "first run".to_string(),
            cached_from: None,
            started_at: records::now(),
            duration_ms: Some(5),
            rows: None,
            error: (status == "failed").then(|| "gate failed: auc 0.5 < 0.6".to_string()),
            notes: Vec::new(),
            inputs: BTreeMap::new(),
            outputs: BTreeMap::new(),
            metrics: BTreeMap::new(),
            data_files: Vec::new(),
        };
        if status == "succeeded" {
            for input in &step.inputs {
                let key = (input.from.step.clone(), input.from.output.clone());
                record.inputs.insert(input.name.clone(), produced[&key].hash.clone());
            }
            for output in &step.outputs {
                let bytes = match output.kind.as_str() {
                    "model" => {
                        json!({ "learner": { "run": run_id, "step": step.id }, "version": [2, 1, 0] }).to_string()
                    }
                    _ => format!("{} {} of run {run_id}", step.id, output.name),
                };
                let mut stored = object(store, bytes.as_bytes());
                stored.kind = output.kind.clone();
                produced.insert((step.id.clone(), output.name.clone()), stored.clone());
                record.outputs.insert(output.name.clone(), stored);
            }
            match step.kind.as_str() {
                "ingest" => {
                    record.data_files = vec![DataFile {
                        path: "data/customers.csv".to_string(),
                        hash: "blake3:da7a".to_string(),
                        bytes: 4096,
                    }]
                }
                "train" => record.metrics = BTreeMap::from([("best_iteration".to_string(), 42.0)]),
                "evaluate" => {
                    record.metrics = BTreeMap::from([("auc".to_string(), auc), ("accuracy".to_string(), 0.75)])
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
                            metrics: json!({ "auc": auc }),
                            spec_hash: &plan.spec.hash,
                            alias: "staging",
                        },
                    )
                    .expect("register");
                    record.metrics = BTreeMap::from([("version".to_string(), version as f64)]);
                }
                _ => {}
            }
        }
        records::record_step(store, &mut connection, &record).expect("record");
    }
    records::finish_run(store, &connection, run_id, if failed { "failed" } else { "succeeded" }).expect("finish");
    let models = produced
        .into_iter()
        .filter(|(_, output)| output.kind == "model")
        .map(|((step, _), output)| (step, output.hash))
        .collect();
    (run_id, models)
}

fn plan_for(uri: &str) -> Plan {
    let compilation = mlops_compiler::compile(&SPEC.replace("URI", uri), "mlops.kdl");
    compilation.plan.unwrap_or_else(|| panic!("the test spec compiles: {:?}", compilation.diagnostics))
}

fn pairs(list: &Json) -> BTreeMap<String, Json> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|entry| (entry["key"].as_str().unwrap_or_default().to_string(), entry["value"].clone()))
        .collect()
}

#[test]
fn runs_are_mirrored_to_a_real_mlflow_server() {
    let Ok(mlflow_binary) = std::env::var("MLOPSC_TEST_MLFLOW") else {
        panic!(
            "MLOPSC_TEST_MLFLOW is not set: point it at the `mlflow` executable of a virtualenv, e.g.\n  \
             python3 -m pip install uv && python3 -m uv venv /tmp/mlflow-venv && \
             python3 -m uv pip install --python /tmp/mlflow-venv/bin/python mlflow==3.17.2\n  \
             MLOPSC_TEST_MLFLOW=/tmp/mlflow-venv/bin/mlflow cargo test -p mlops-runtime --test mlflow_mirror"
        );
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(".mlops")).expect("store");

    // Nothing listens on a port just released: the error says so, and names the server.
    let closed =
        std::net::TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("port").port();
    let closed_uri = format!("http://127.0.0.1:{closed}");
    let (run_id, _) = record_run(&store, &plan_for(&closed_uri), 0.9, None);
    let refused = mlflow::mirror_if_configured(&store, &plan_for(&closed_uri), run_id).expect_err("nothing listens");
    assert_eq!(refused, format!("cannot reach MLflow at {closed_uri}: connection refused"));

    // `(env)` URIs are read from the environment, and a missing variable is named.
    let mut from_env = plan_for(&closed_uri);
    from_env.tracking.options.insert("uri".to_string(), json!({ "env": "MLOPSC_TEST_MIRROR_URI_UNSET" }));
    let unset = mlflow::mirror_if_configured(&store, &from_env, run_id).expect_err("variable unset");
    assert!(unset.contains("`MLOPSC_TEST_MIRROR_URI_UNSET` is not set"), "{unset}");

    let server = MlflowServer::start(&mlflow_binary, dir.path());
    let plan = plan_for(&server.uri);
    let (succeeded, _) = record_run(&store, &plan, 0.91, None);
    let line = mlflow::mirror_if_configured(&store, &plan, succeeded)
        .unwrap_or_else(|error| panic!("mirror failed: {error}\nserver log:\n{}", server.log_text()))
        .expect("a line for the user");
    assert!(
        line.starts_with(&format!(
            "mirrored run {succeeded} to MLflow at {}: experiment `mlopsc-mirror-test`",
            server.uri
        )),
        "{line}"
    );
    let (failed, trained) = record_run(&store, &plan, 0.5, Some("evaluate.churn"));
    mlflow::mirror_if_configured(&store, &plan, failed).unwrap_or_else(|error| panic!("mirror failed: {error}"));

    let experiment = server.get("mlflow/experiments/get-by-name", &[("experiment_name", "mlopsc-mirror-test")]);
    let experiment_id = experiment["experiment"]["experiment_id"].as_str().expect("experiment id").to_string();
    let search = server.post("mlflow/runs/search", &json!({ "experiment_ids": [experiment_id], "max_results": 10 }));
    let runs = search["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2, "one MLflow run per mirrored run, in one experiment: {search}");
    let by_mlopsc_run: BTreeMap<String, &Json> = runs
        .iter()
        .map(|run| (pairs(&run["data"]["tags"])["mlopsc.run_id"].as_str().unwrap_or_default().to_string(), run))
        .collect();

    let mirrored = by_mlopsc_run[&succeeded.to_string()];
    let run_uuid = mirrored["info"]["run_id"].as_str().expect("run id");
    let fetched = server.get("mlflow/runs/get", &[("run_id", run_uuid)]);
    let run = &fetched["run"];
    assert_eq!(run["info"]["status"], "FINISHED");
    let tags = pairs(&run["data"]["tags"]);
    assert_eq!(tags["mlopsc.spec_hash"], json!(plan.spec.hash));
    assert_eq!(tags["mlopsc.version"], json!(mlops_compiler::plan::MLOPSC_VERSION));
    let params = pairs(&run["data"]["params"]);
    assert_eq!(params["rounds"], "50");
    assert_eq!(params["min-auc"], "0.6");
    assert_eq!(params["train.churn/eta"], "0.2");
    assert_eq!(params["train.churn/max_depth"], "3");
    assert_eq!(params["train.churn/rounds"], "50");
    let metrics = pairs(&run["data"]["metrics"]);
    assert_eq!(metrics["evaluate.churn/auc"], 0.91);
    assert_eq!(metrics["evaluate.churn/accuracy"], 0.75);
    assert_eq!(metrics["train.churn/best_iteration"], 42.0);
    // Version 1 came from the run mirrored to the closed port.
    assert_eq!(metrics["register.churn-model/version"], 2.0);

    let listed = server.get("mlflow/artifacts/list", &[("run_id", run_uuid), ("path", "model")]);
    let files: Vec<&str> =
        listed["files"].as_array().expect("files").iter().filter_map(|file| file["path"].as_str()).collect();
    assert_eq!(files, ["model/model.json"]);
    // The uploaded bytes are the registered model's, byte for byte.
    let connection = store.connect().expect("connect");
    let registered = registry::registered_by_run(&store, &connection, succeeded).expect("versions").remove(0);
    assert_eq!(registered.version, 2);
    let artifact_root = run["info"]["artifact_uri"].as_str().expect("artifact uri");
    let path = mlflow::proxied_artifact_path(artifact_root).expect("proxied");
    let mut download = ureq::get(format!("{}/api/2.0/mlflow-artifacts/artifacts/{path}/model/model.json", server.uri))
        .call()
        .expect("download");
    let bytes = download.body_mut().read_to_vec().expect("bytes");
    assert_eq!(bytes, std::fs::read(store.object_path(&registered.model_hash)).expect("model object"));

    // A failed run is FAILED in MLflow, and without a registered version its trained model is
    // uploaded instead.
    let failed_run = by_mlopsc_run[&failed.to_string()];
    assert_eq!(failed_run["info"]["status"], "FAILED");
    let failed_uuid = failed_run["info"]["run_id"].as_str().expect("run id");
    let failed_root =
        mlflow::proxied_artifact_path(failed_run["info"]["artifact_uri"].as_str().expect("uri")).expect("proxied");
    let mut download =
        ureq::get(format!("{}/api/2.0/mlflow-artifacts/artifacts/{failed_root}/model/model.json", server.uri))
            .call()
            .expect("download");
    let bytes = download.body_mut().read_to_vec().expect("bytes");
    assert_eq!(bytes, std::fs::read(store.object_path(&trained["train.churn"])).expect("model object"));
    let failed_metrics = pairs(&server.get("mlflow/runs/get", &[("run_id", failed_uuid)])["run"]["data"]["metrics"]);
    assert!(!failed_metrics.contains_key("evaluate.churn/auc"), "metrics of failed steps are not recorded");
}
