//! Helpers for the runtime's unit tests: a store in a temporary folder, runs, objects and step
//! records written through the same APIs the executor uses.

use std::collections::BTreeMap;

use crate::records::{self, NewRun, OutputRecord, StepRunRecord};
use crate::registry::{self, NewVersion};
use crate::store::{ObjectRef, Store};

/// A fresh store; keep the folder alive as long as the store.
pub(crate) fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join(".mlops")).expect("store opens");
    (dir, store)
}

/// Begins a run of project `churn` with these params (`{name: {type, value}}` JSON) and plan.
pub(crate) fn begin(store: &Store, params_json: &str, plan_json: &str) -> i64 {
    let connection = store.connect().expect("connect");
    records::begin_run(
        store,
        &connection,
        &NewRun {
            project: "churn".to_string(),
            spec_file: "mlops.kdl".to_string(),
            spec_hash: "blake3:5pec".to_string(),
            plan_json: plan_json.to_string(),
            params_json: params_json.to_string(),
            command: "mlopsc run".to_string(),
            reproduces: None,
        },
    )
    .expect("run begins")
}

/// Marks a run finished.
pub(crate) fn finish(store: &Store, run_id: i64, status: &str) {
    let connection = store.connect().expect("connect");
    records::finish_run(store, &connection, run_id, status).expect("run finishes");
}

/// Puts bytes into the store as an object.
pub(crate) fn object(store: &Store, bytes: &[u8]) -> ObjectRef {
    let scratch = store.scratch().expect("scratch");
    let path = scratch.path().join("object");
    std::fs::write(&path, bytes).expect("write");
    store.put(&path).expect("put")
}

/// An output record of an object.
pub(crate) fn output(kind: &str, object: &ObjectRef) -> OutputRecord {
    OutputRecord { kind: kind.to_string(), hash: object.hash.clone(), bytes: object.bytes }
}

/// A step record with nothing attached; fill in what a test needs.
pub(crate) fn step(run_id: i64, step_id: &str, kind: &str, status: &str) -> StepRunRecord {
    StepRunRecord {
        run_id,
        step_id: step_id.to_string(),
        kind: kind.to_string(),
        fingerprint: format!("blake3:{step_id}"),
        cache_key: format!("blake3:key-{step_id}"),
        params_json: "{}".to_string(),
        status: status.to_string(),
        reason: "first run".to_string(),
        cached_from: None,
        started_at: records::now(),
        duration_ms: Some(10),
        rows: None,
        error: None,
        notes: Vec::new(),
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        metrics: BTreeMap::new(),
        data_files: Vec::new(),
    }
}

/// Records a step run; returns its id.
pub(crate) fn record(store: &Store, record: &StepRunRecord) -> i64 {
    let mut connection = store.connect().expect("connect");
    records::record_step(store, &mut connection, record).expect("step recorded")
}

/// Registers a version of `name` made by `run_id`, with this alias; returns the version.
pub(crate) fn register(store: &Store, run_id: i64, name: &str, alias: &str) -> i64 {
    let mut connection = store.connect().expect("connect");
    let model = format!("blake3:model-{run_id}");
    registry::register(
        store,
        &mut connection,
        &NewVersion {
            name,
            run_id,
            step_id: &format!("register.{name}"),
            source_model: "churn",
            model_hash: &model,
            preprocess_hash: None,
            evaluation_hash: None,
            metrics: serde_json::json!({ "auc": 0.9 }),
            spec_hash: "blake3:5pec",
            alias,
        },
    )
    .expect("registered")
}
