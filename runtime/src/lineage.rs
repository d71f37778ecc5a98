//! `mlopsc lineage`: a model version traced back through the run that registered it, the spec,
//! every upstream step run and its content-addressed inputs, down to the data files ingested,
//! plus who registered it and every alias move since.
//!
//! The walk follows the data edges of the plan the registering run executed (each step input's
//! producing step). A producer is looked up in the same run first; when the version came from a
//! lone `mlopsc step run`, the producer is the step run that wrote the very object consumed.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value as Json;

use crate::query::{self, DataFileRow, OutputRow, RunHeader, StepRunRow};
use crate::registry::{self, AliasChange, AuditEntry, ModelVersion};
use crate::store::{Store, StoreError};

/// One step run in a model's lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineageStep {
    /// The plan step.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// The run holding this step run.
    pub run_id: i64,
    /// The step run.
    pub step_run_id: i64,
    /// `succeeded` or `cached`.
    pub status: String,
    /// The run that actually computed its outputs (differs from `run_id` when cached).
    pub computed_in_run: i64,
    /// Everything it read: input name (or `data:PATH`, `code:PATH`, `compare_to.N`) → hash.
    pub inputs: BTreeMap<String, String>,
    /// What it wrote.
    pub outputs: BTreeMap<String, OutputRow>,
    /// The steps whose outputs it read.
    pub upstream: Vec<String>,
}

/// A model version's full lineage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lineage {
    /// The version.
    pub model: ModelVersion,
    /// The run that registered it.
    pub run: RunHeader,
    /// The `train` step that produced the model, when found.
    pub train_step: Option<String>,
    /// Step runs from the register step back to ingestion, breadth-first.
    pub steps: Vec<LineageStep>,
    /// Upstream steps the plan names but no recorded step run could be found for.
    pub missing: Vec<String>,
    /// The source files ingested on the way.
    pub data_files: Vec<DataFileRow>,
    /// Every move of an alias to or away from this version, oldest first.
    pub alias_changes: Vec<AliasChange>,
    /// Audit entries about this version, oldest first.
    pub audit: Vec<AuditEntry>,
}

/// A plan step's kind and, per input name, the step producing it.
struct PlanStep {
    kind: String,
    inputs: BTreeMap<String, String>,
}

fn plan_steps(plan_json: &str) -> BTreeMap<String, PlanStep> {
    let plan: Json = serde_json::from_str(plan_json).unwrap_or(Json::Null);
    let mut steps = BTreeMap::new();
    for step in plan.get("steps").and_then(Json::as_array).into_iter().flatten() {
        let Some(id) = step.get("id").and_then(Json::as_str) else { continue };
        let kind = step.get("kind").and_then(Json::as_str).unwrap_or_default().to_string();
        let inputs = step
            .get("inputs")
            .and_then(Json::as_array)
            .into_iter()
            .flatten()
            .filter_map(|input| {
                let name = input.get("name")?.as_str()?;
                let from = input.get("from")?.get("step")?.as_str()?;
                Some((name.to_string(), from.to_string()))
            })
            .collect();
        steps.insert(id.to_string(), PlanStep { kind, inputs });
    }
    steps
}

/// The lineage of `NAME@VERSION`, `NAME@ALIAS` or `NAME` (latest).
pub fn trace(store: &Store, connection: &Connection, reference: &str) -> Result<Lineage, StoreError> {
    let db = |source| store.db_error(source);
    let model = registry::resolve_existing(store, connection, reference)?;
    let run = query::run_header(store, connection, model.run_id)?;
    let plan_json: String = connection
        .query_row("SELECT plan_json FROM runs WHERE id = ?1", params![model.run_id], |row| row.get(0))
        .map_err(db)?;
    let plan = plan_steps(&plan_json);

    let mut runs: BTreeMap<i64, Vec<StepRunRow>> = BTreeMap::new();
    let mut steps = Vec::new();
    let mut missing = Vec::new();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut queue: VecDeque<(String, i64, Option<String>)> =
        VecDeque::from([(model.step_id.clone(), model.run_id, None)]);
    while let Some((step_id, run_id, wanted_hash)) = queue.pop_front() {
        if !seen.insert(step_id.clone()) {
            continue;
        }
        let found = find_step_run(store, connection, &mut runs, &step_id, run_id, wanted_hash.as_deref())?;
        let Some((holding_run, row)) = found else {
            missing.push(step_id);
            continue;
        };
        let plan_step = plan.get(&step_id);
        let mut upstream = BTreeSet::new();
        for (input, producer) in plan_step.map(|step| &step.inputs).into_iter().flatten() {
            upstream.insert(producer.clone());
            queue.push_back((producer.clone(), holding_run, row.inputs.get(input).cloned()));
        }
        steps.push(LineageStep {
            kind: plan_step.map_or_else(|| row.kind.clone(), |step| step.kind.clone()),
            step_id,
            run_id: holding_run,
            step_run_id: row.id,
            status: row.status.clone(),
            computed_in_run: row.cached_from_run.unwrap_or(holding_run),
            inputs: row.inputs.clone(),
            outputs: row.outputs.clone(),
            upstream: upstream.into_iter().collect(),
        });
    }
    missing.sort();

    let mut data_files = Vec::new();
    for step in steps.iter().filter(|step| step.kind == "ingest") {
        data_files.extend(
            query::data_files(store, connection, step.run_id)?.into_iter().filter(|file| file.step_id == step.step_id),
        );
    }
    data_files.sort_by(|a, b| (&a.step_id, &a.path).cmp(&(&b.step_id, &b.path)));
    let train_step = steps.iter().find(|step| step.kind == "train").map(|step| step.step_id.clone());
    let alias_changes = registry::alias_history(store, connection, &model.name)?
        .into_iter()
        .filter(|change| change.version == model.version || change.previous_version == Some(model.version))
        .collect();
    let subject = format!("{}@{}", model.name, model.version);
    let about_version = |entry: &AuditEntry| {
        let moved = |key: &str| entry.detail.get(key).and_then(Json::as_i64) == Some(model.version);
        entry.subject == subject || (entry.action == "rollback" && (moved("from") || moved("to")))
    };
    let audit = registry::audit_log(store, connection, &model.name)?.into_iter().filter(about_version).collect();
    Ok(Lineage { model, run, train_step, steps, missing, data_files, alias_changes, audit })
}

/// The successful step run of `step_id` that produced `wanted_hash` (any output, when `None`):
/// in `run_id` when it is there, else the newest step run anywhere that wrote that object.
fn find_step_run(
    store: &Store,
    connection: &Connection,
    runs: &mut BTreeMap<i64, Vec<StepRunRow>>,
    step_id: &str,
    run_id: i64,
    wanted_hash: Option<&str>,
) -> Result<Option<(i64, StepRunRow)>, StoreError> {
    let produced = |row: &StepRunRow| {
        row.step_id == step_id
            && matches!(row.status.as_str(), "succeeded" | "cached")
            && wanted_hash.is_none_or(|hash| row.outputs.values().any(|output| output.hash == hash))
    };
    if let Some(row) = rows_of(store, connection, runs, run_id)?.iter().rev().find(|row| produced(row)) {
        return Ok(Some((run_id, row.clone())));
    }
    let Some(hash) = wanted_hash else { return Ok(None) };
    let elsewhere: Option<i64> = connection
        .query_row(
            "SELECT s.run_id FROM step_outputs o JOIN step_runs s ON s.id = o.step_run_id
             WHERE s.step_id = ?1 AND o.object_hash = ?2 AND s.status IN ('succeeded', 'cached')
             ORDER BY s.id DESC LIMIT 1",
            params![step_id, hash],
            |row| row.get(0),
        )
        .optional()
        .map_err(|source| store.db_error(source))?;
    let Some(other_run) = elsewhere else { return Ok(None) };
    let rows = rows_of(store, connection, runs, other_run)?;
    Ok(rows.iter().rev().find(|row| produced(row)).map(|row| (other_run, row.clone())))
}

/// The step runs of a run, loaded once per trace.
fn rows_of<'a>(
    store: &Store,
    connection: &Connection,
    runs: &'a mut BTreeMap<i64, Vec<StepRunRow>>,
    run_id: i64,
) -> Result<&'a [StepRunRow], StoreError> {
    Ok(match runs.entry(run_id) {
        Entry::Occupied(entry) => entry.into_mut(),
        Entry::Vacant(entry) => entry.insert(query::step_runs(store, connection, run_id)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{begin, finish, object, output, record, register, step, temp_store};
    use mlops_stdlib::exec::DataFile;

    const PLAN: &str = r#"{"steps": [
        {"id": "ingest.customers", "kind": "ingest", "inputs": []},
        {"id": "train.churn", "kind": "train", "inputs": [{"name": "data", "from": {"step": "ingest.customers", "output": "raw"}}]},
        {"id": "register.churn", "kind": "register", "inputs": [{"name": "model", "from": {"step": "train.churn", "output": "model"}}]}
    ]}"#;

    #[test]
    fn a_version_is_traced_to_its_run_steps_data_and_alias_moves() {
        let (_dir, store) = temp_store();
        let run = begin(&store, "{}", PLAN);
        let raw = object(&store, b"raw");
        let model = object(&store, b"{\"learner\": {}}");
        let mut ingest = step(run, "ingest.customers", "ingest", "succeeded");
        ingest.data_files =
            vec![DataFile { path: "data/customers.csv".to_string(), hash: "blake3:dada".to_string(), bytes: 9 }];
        ingest.inputs.insert("data:data/customers.csv".to_string(), "blake3:dada".to_string());
        ingest.outputs.insert("raw".to_string(), output("table", &raw));
        record(&store, &ingest);
        let mut train = step(run, "train.churn", "train", "succeeded");
        train.inputs.insert("data".to_string(), raw.hash.clone());
        train.outputs.insert("model".to_string(), output("model", &model));
        record(&store, &train);
        let mut registering = step(run, "register.churn", "register", "succeeded");
        registering.inputs.insert("model".to_string(), model.hash.clone());
        record(&store, &registering);
        register(&store, run, "churn", "staging");
        finish(&store, run, "succeeded");
        let mut connection = store.connect().expect("connect");
        registry::promote(&store, &mut connection, "churn", 1, "production").expect("promote");

        let lineage = trace(&store, &connection, "churn@production").expect("lineage");
        assert_eq!((lineage.model.name.as_str(), lineage.model.version), ("churn", 1));
        assert_eq!(lineage.run.id, run);
        assert_eq!(lineage.train_step.as_deref(), Some("train.churn"));
        let chain: Vec<&str> = lineage.steps.iter().map(|step| step.step_id.as_str()).collect();
        assert_eq!(chain, ["register.churn", "train.churn", "ingest.customers"]);
        assert_eq!(lineage.steps[1].inputs["data"], raw.hash);
        assert_eq!(lineage.steps[1].upstream, ["ingest.customers"]);
        assert!(lineage.missing.is_empty());
        assert_eq!(lineage.data_files.len(), 1);
        assert_eq!(lineage.data_files[0].hash, "blake3:dada");
        let moves: Vec<(&str, &str)> =
            lineage.alias_changes.iter().map(|change| (change.action.as_str(), change.alias.as_str())).collect();
        assert_eq!(moves, [("register", "staging"), ("promote", "production")]);
        assert_eq!(
            lineage.audit.iter().map(|entry| entry.action.as_str()).collect::<Vec<_>>(),
            ["register", "promote"]
        );

        // A version registered by a lone `mlopsc step run` is traced through the run that
        // produced the model it consumed.
        let lone = begin(&store, "{}", PLAN);
        let mut registering = step(lone, "register.churn", "register", "succeeded");
        registering.inputs.insert("model".to_string(), model.hash.clone());
        record(&store, &registering);
        register(&store, lone, "churn", "staging");
        let traced = trace(&store, &connection, "churn@2").expect("lineage");
        let runs: Vec<(&str, i64)> = traced.steps.iter().map(|step| (step.step_id.as_str(), step.run_id)).collect();
        assert_eq!(runs, [("register.churn", lone), ("train.churn", run), ("ingest.customers", run)]);

        let unknown = trace(&store, &connection, "churn@canary").expect_err("no alias canary");
        assert!(matches!(unknown, StoreError::NotFound(_)));
    }
}
