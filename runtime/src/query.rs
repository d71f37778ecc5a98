//! Read-side queries over recorded runs, for `mlopsc runs list|show|compare` and the MLflow
//! mirror. The types here serialize to the `--json` output of those commands: their field names
//! are a compatibility boundary, and every map is a `BTreeMap` so the output is sorted.

use std::collections::{BTreeMap, BTreeSet};

use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use serde_json::Value as Json;

use crate::registry;
use crate::store::{Store, StoreError};

/// How many step runs of a run ended each way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StepCounts {
    /// Ran and succeeded.
    pub ran: u64,
    /// Reused an earlier result.
    pub cached: u64,
    /// Failed.
    pub failed: u64,
    /// Not run because something they need failed.
    pub skipped: u64,
    /// Stopped with the run.
    pub cancelled: u64,
}

/// One line of `mlopsc runs list`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// The run id.
    pub id: i64,
    /// The project.
    pub project: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// When it started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Wall time, when finished.
    pub duration_ms: Option<i64>,
    /// The spec's hash.
    pub spec_hash: String,
    /// Step outcomes.
    pub steps: StepCounts,
    /// Key metrics (`step/metric`): those of `evaluate` steps, else every metric but registry
    /// version numbers.
    pub metrics: BTreeMap<String, f64>,
}

/// Everything recorded about a run itself.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunHeader {
    /// The run id.
    pub id: i64,
    /// The project.
    pub project: String,
    /// The spec file name.
    pub spec_file: String,
    /// The spec's hash.
    pub spec_hash: String,
    /// The mlopsc that ran it.
    pub mlopsc_version: String,
    /// The machine.
    pub host: String,
    /// The user.
    pub user: String,
    /// The command line.
    pub command: String,
    /// `running`, `succeeded`, `failed` or `cancelled`.
    pub status: String,
    /// When it started.
    pub started_at: String,
    /// When it finished.
    pub finished_at: Option<String>,
    /// Wall time, when finished.
    pub duration_ms: Option<i64>,
    /// The run it reproduces.
    pub reproduces: Option<i64>,
}

/// An output of a step run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutputRow {
    /// `table`, `model` or `file`.
    pub kind: String,
    /// The object's hash.
    pub hash: String,
    /// Its size.
    pub bytes: i64,
}

/// One step run of a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRunRow {
    /// The step run's id.
    pub id: i64,
    /// The plan step.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// `succeeded`, `cached`, `failed`, `skipped` or `cancelled`.
    pub status: String,
    /// Why it ran or was skipped.
    pub reason: String,
    /// For a cached step, the run that computed its outputs.
    pub cached_from_run: Option<i64>,
    /// Time spent in the step's own work.
    pub duration_ms: Option<i64>,
    /// Rows processed.
    pub rows: Option<i64>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Notes.
    pub notes: Vec<String>,
    /// Everything it read, by name: inputs, `data:PATH`, `code:PATH`, `compare_to.N` → hash.
    pub inputs: BTreeMap<String, String>,
    /// Outputs by name.
    pub outputs: BTreeMap<String, OutputRow>,
}

/// A source file a run read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataFileRow {
    /// The ingest step.
    pub step_id: String,
    /// Path relative to the project folder.
    pub path: String,
    /// Content hash.
    pub hash: String,
    /// Size.
    pub bytes: i64,
}

/// A version a run registered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegisteredRow {
    /// Registry name.
    pub name: String,
    /// Version.
    pub version: i64,
    /// Aliases pointing at it now.
    pub aliases: Vec<String>,
    /// The model object.
    pub model_hash: String,
}

/// `mlopsc runs show`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunDetail {
    /// The run.
    pub run: RunHeader,
    /// Parameter values.
    pub params: BTreeMap<String, Json>,
    /// Step runs, in the order they were recorded.
    pub steps: Vec<StepRunRow>,
    /// `step/metric` → value.
    pub metrics: BTreeMap<String, f64>,
    /// Source files read, by step and path.
    pub data_files: Vec<DataFileRow>,
    /// Versions registered.
    pub registered: Vec<RegisteredRow>,
}

/// A metric across compared runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricComparison {
    /// Value per run, in the order the runs were given.
    pub values: Vec<Option<f64>>,
    /// Value minus the first run's value.
    pub deltas: Vec<Option<f64>>,
}

/// A compared run's header.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ComparedRun {
    /// The run id.
    pub id: i64,
    /// Its status.
    pub status: String,
    /// Its spec hash.
    pub spec_hash: String,
    /// When it started.
    pub started_at: String,
    /// Wall time.
    pub duration_ms: Option<i64>,
}

/// `mlopsc runs compare`: every vector holds one entry per run, in the order given.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The runs.
    pub runs: Vec<ComparedRun>,
    /// Parameters whose values differ.
    pub params: BTreeMap<String, Vec<Option<Json>>>,
    /// Every metric, with deltas against the first run.
    pub metrics: BTreeMap<String, MetricComparison>,
    /// `step/path` → content hash, for files whose hashes differ.
    pub data: BTreeMap<String, Vec<Option<String>>>,
    /// Step → duration of its own work.
    pub step_durations: BTreeMap<String, Vec<Option<i64>>>,
}

/// The newest run's id, if any.
pub fn latest_run(store: &Store, connection: &Connection) -> Result<Option<i64>, StoreError> {
    connection.query_row("SELECT MAX(id) FROM runs", [], |row| row.get(0)).map_err(|source| store.db_error(source))
}

/// The newest runs, newest first.
pub fn list_runs(store: &Store, connection: &Connection, limit: usize) -> Result<Vec<RunRow>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection.prepare("SELECT id FROM runs ORDER BY id DESC LIMIT ?1").map_err(db)?;
    let ids = statement
        .query_map(params![i64::try_from(limit).unwrap_or(i64::MAX)], |row| row.get::<_, i64>(0))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut rows = Vec::new();
    for id in ids {
        let header = run_header(store, connection, id)?;
        rows.push(RunRow {
            id,
            steps: step_counts(store, connection, id)?,
            metrics: key_metrics(store, connection, id)?,
            project: header.project,
            status: header.status,
            started_at: header.started_at,
            finished_at: header.finished_at,
            duration_ms: header.duration_ms,
            spec_hash: header.spec_hash,
        });
    }
    Ok(rows)
}

/// Milliseconds between two RFC 3339 times.
fn millis_between(start: &str, end: &str) -> Option<i64> {
    let start: jiff::Timestamp = start.parse().ok()?;
    let end: jiff::Timestamp = end.parse().ok()?;
    Some(end.as_millisecond() - start.as_millisecond())
}

/// A run's own record; [`StoreError::NotFound`] when there is no such run.
pub fn run_header(store: &Store, connection: &Connection, run_id: i64) -> Result<RunHeader, StoreError> {
    let header = connection
        .query_row(
            "SELECT project, spec_file, spec_hash, mlopsc_version, host, user, command, status, started_at, finished_at,
                    reproduces
             FROM runs WHERE id = ?1",
            params![run_id],
            |row| {
                Ok(RunHeader {
                    id: run_id,
                    project: row.get(0)?,
                    spec_file: row.get(1)?,
                    spec_hash: row.get(2)?,
                    mlopsc_version: row.get(3)?,
                    host: row.get(4)?,
                    user: row.get(5)?,
                    command: row.get(6)?,
                    status: row.get(7)?,
                    started_at: row.get(8)?,
                    finished_at: row.get(9)?,
                    duration_ms: None,
                    reproduces: row.get(10)?,
                })
            },
        )
        .optional()
        .map_err(|source| store.db_error(source))?;
    let mut header = header.ok_or_else(|| no_such_run(store, connection, run_id))?;
    header.duration_ms =
        header.finished_at.as_deref().and_then(|finished| millis_between(&header.started_at, finished));
    Ok(header)
}

fn no_such_run(store: &Store, connection: &Connection, run_id: i64) -> StoreError {
    let range: Option<(i64, i64)> =
        connection.query_row("SELECT MIN(id), MAX(id) FROM runs", [], |row| Ok((row.get(0)?, row.get(1)?))).ok();
    let known = match range {
        Some((first, last)) if first == last => format!("the only run is {first}"),
        Some((first, last)) => format!("runs go from {first} to {last}"),
        None => "it has no runs yet".to_string(),
    };
    StoreError::NotFound(format!("there is no run {run_id} in `{}` ({known})", store.root().display()))
}

fn step_counts(store: &Store, connection: &Connection, run_id: i64) -> Result<StepCounts, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement =
        connection.prepare("SELECT status, COUNT(*) FROM step_runs WHERE run_id = ?1 GROUP BY status").map_err(db)?;
    let mut counts = StepCounts::default();
    let rows = statement
        .query_map(params![run_id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?)))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    for (status, count) in rows {
        let count = u64::try_from(count).unwrap_or(0);
        match status.as_str() {
            "succeeded" => counts.ran += count,
            "cached" => counts.cached += count,
            "failed" => counts.failed += count,
            "skipped" => counts.skipped += count,
            _ => counts.cancelled += count,
        }
    }
    Ok(counts)
}

/// Every metric of a run with the kind of the step that recorded it.
fn metrics_with_kinds(
    store: &Store,
    connection: &Connection,
    run_id: i64,
) -> Result<Vec<(String, String, String, f64)>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare(
            "SELECT m.step_id, m.name, m.value,
                    COALESCE((SELECT s.kind FROM step_runs s WHERE s.run_id = m.run_id AND s.step_id = m.step_id LIMIT 1), '')
             FROM metrics m WHERE m.run_id = ?1 ORDER BY m.step_id, m.name",
        )
        .map_err(db)?;
    let rows = statement
        .query_map(params![run_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(3)?, row.get(2)?)))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(rows)
}

/// Every metric of a run, `step/metric` → value.
pub fn run_metrics(store: &Store, connection: &Connection, run_id: i64) -> Result<BTreeMap<String, f64>, StoreError> {
    Ok(metrics_with_kinds(store, connection, run_id)?
        .into_iter()
        .map(|(step, name, _, value)| (format!("{step}/{name}"), value))
        .collect())
}

fn key_metrics(store: &Store, connection: &Connection, run_id: i64) -> Result<BTreeMap<String, f64>, StoreError> {
    let all = metrics_with_kinds(store, connection, run_id)?;
    let evaluated = all.iter().any(|(_, _, kind, _)| kind == "evaluate");
    Ok(all
        .into_iter()
        .filter(|(_, _, kind, _)| if evaluated { kind == "evaluate" } else { kind != "register" })
        .map(|(step, name, _, value)| (format!("{step}/{name}"), value))
        .collect())
}

/// Parameter values from a run's `params_json` (the plan's `{name: {type, value}}`).
fn param_values(params_json: &str) -> BTreeMap<String, Json> {
    let parsed: BTreeMap<String, Json> = serde_json::from_str(params_json).unwrap_or_default();
    parsed
        .into_iter()
        .map(|(name, param)| {
            let value = param.get("value").cloned().unwrap_or(param);
            (name, value)
        })
        .collect()
}

/// The run a cached step run's outputs came from, following `cached_from` links.
fn origin_run(connection: &Connection, mut step_run: i64) -> Result<Option<i64>, rusqlite::Error> {
    // Links always point at older rows, so this ends; the bound only guards a damaged database.
    for _ in 0..1000 {
        let found: Option<(i64, Option<i64>)> = connection
            .query_row("SELECT run_id, cached_from FROM step_runs WHERE id = ?1", params![step_run], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })
            .optional()?;
        match found {
            Some((_, Some(next))) if next < step_run => step_run = next,
            Some((run_id, _)) => return Ok(Some(run_id)),
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The step runs of a run, in the order they were recorded.
pub fn step_runs(store: &Store, connection: &Connection, run_id: i64) -> Result<Vec<StepRunRow>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare(
            "SELECT id, step_id, kind, status, reason, cached_from, duration_ms, rows, error, notes_json
             FROM step_runs WHERE run_id = ?1 ORDER BY id",
        )
        .map_err(db)?;
    let mut rows = statement
        .query_map(params![run_id], |row| {
            let notes: String = row.get(9)?;
            Ok((
                StepRunRow {
                    id: row.get(0)?,
                    step_id: row.get(1)?,
                    kind: row.get(2)?,
                    status: row.get(3)?,
                    reason: row.get(4)?,
                    cached_from_run: None,
                    duration_ms: row.get(6)?,
                    rows: row.get(7)?,
                    error: row.get(8)?,
                    notes: serde_json::from_str(&notes).unwrap_or_default(),
                    inputs: BTreeMap::new(),
                    outputs: BTreeMap::new(),
                },
                row.get::<_, Option<i64>>(5)?,
            ))
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    let mut inputs =
        connection.prepare("SELECT name, object_hash FROM step_inputs WHERE step_run_id = ?1").map_err(db)?;
    let mut outputs = connection
        .prepare("SELECT name, kind, object_hash, bytes FROM step_outputs WHERE step_run_id = ?1")
        .map_err(db)?;
    for (row, cached_from) in &mut rows {
        if let Some(cached_from) = cached_from {
            row.cached_from_run = origin_run(connection, *cached_from).map_err(db)?;
        }
        row.inputs = inputs
            .query_map(params![row.id], |found| Ok((found.get(0)?, found.get(1)?)))
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
        row.outputs = outputs
            .query_map(params![row.id], |found| {
                Ok((found.get(0)?, OutputRow { kind: found.get(1)?, hash: found.get(2)?, bytes: found.get(3)? }))
            })
            .map_err(db)?
            .collect::<Result<_, _>>()
            .map_err(db)?;
    }
    Ok(rows.into_iter().map(|(row, _)| row).collect())
}

/// The source files a run read, by step and path.
pub fn data_files(store: &Store, connection: &Connection, run_id: i64) -> Result<Vec<DataFileRow>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare("SELECT step_id, path, hash, bytes FROM data_files WHERE run_id = ?1 ORDER BY step_id, path")
        .map_err(db)?;
    let files = statement
        .query_map(params![run_id], |row| {
            Ok(DataFileRow { step_id: row.get(0)?, path: row.get(1)?, hash: row.get(2)?, bytes: row.get(3)? })
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(files)
}

/// Everything recorded about one run.
pub fn show_run(store: &Store, connection: &Connection, run_id: i64) -> Result<RunDetail, StoreError> {
    let run = run_header(store, connection, run_id)?;
    let params_json: String = connection
        .query_row("SELECT params_json FROM runs WHERE id = ?1", params![run_id], |row| row.get(0))
        .map_err(|source| store.db_error(source))?;
    let registered = registry::registered_by_run(store, connection, run_id)?
        .into_iter()
        .map(|version| RegisteredRow {
            name: version.name,
            version: version.version,
            aliases: version.aliases,
            model_hash: version.model_hash,
        })
        .collect();
    Ok(RunDetail {
        run,
        params: param_values(&params_json),
        steps: step_runs(store, connection, run_id)?,
        metrics: run_metrics(store, connection, run_id)?,
        data_files: data_files(store, connection, run_id)?,
        registered,
    })
}

/// Compares runs side by side, in the order given.
pub fn compare_runs(store: &Store, connection: &Connection, run_ids: &[i64]) -> Result<Comparison, StoreError> {
    let details = run_ids.iter().map(|&id| show_run(store, connection, id)).collect::<Result<Vec<_>, _>>()?;
    let runs = details
        .iter()
        .map(|detail| ComparedRun {
            id: detail.run.id,
            status: detail.run.status.clone(),
            spec_hash: detail.run.spec_hash.clone(),
            started_at: detail.run.started_at.clone(),
            duration_ms: detail.run.duration_ms,
        })
        .collect();

    let param_names: BTreeSet<&String> = details.iter().flat_map(|detail| detail.params.keys()).collect();
    let mut params = BTreeMap::new();
    for name in param_names {
        let values: Vec<Option<Json>> = details.iter().map(|detail| detail.params.get(name).cloned()).collect();
        if values.iter().any(|value| Some(value) != values.first()) {
            params.insert(name.clone(), values);
        }
    }

    let metric_names: BTreeSet<&String> = details.iter().flat_map(|detail| detail.metrics.keys()).collect();
    let mut metrics = BTreeMap::new();
    for name in metric_names {
        let values: Vec<Option<f64>> = details.iter().map(|detail| detail.metrics.get(name).copied()).collect();
        let first = values.first().copied().flatten();
        // Rounded to 12 decimals so that 0.86 - 0.82 reads 0.04, not 0.040000000000000036.
        let deltas = values.iter().map(|value| Some(((value.as_ref()? - first?) * 1e12).round() / 1e12)).collect();
        metrics.insert(name.clone(), MetricComparison { values, deltas });
    }

    let file_hashes: Vec<BTreeMap<String, String>> = details
        .iter()
        .map(|detail| {
            detail
                .data_files
                .iter()
                .map(|file| (format!("{}/{}", file.step_id, file.path), file.hash.clone()))
                .collect()
        })
        .collect();
    let file_names: BTreeSet<&String> = file_hashes.iter().flat_map(|files| files.keys()).collect();
    let mut data = BTreeMap::new();
    for name in file_names {
        let hashes: Vec<Option<String>> = file_hashes.iter().map(|files| files.get(name).cloned()).collect();
        if hashes.iter().any(|hash| Some(hash) != hashes.first()) {
            data.insert(name.clone(), hashes);
        }
    }

    let step_names: BTreeSet<&String> =
        details.iter().flat_map(|detail| detail.steps.iter().map(|step| &step.step_id)).collect();
    let step_durations = step_names
        .into_iter()
        .map(|name| {
            let durations = details
                .iter()
                .map(|detail| {
                    detail.steps.iter().rev().find(|step| &step.step_id == name).and_then(|step| step.duration_ms)
                })
                .collect();
            (name.clone(), durations)
        })
        .collect();
    Ok(Comparison { runs, params, metrics, data, step_durations })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{begin, finish, object, output, record, register, step, temp_store};
    use mlops_stdlib::exec::DataFile;

    fn params(rounds: i64) -> String {
        json_text(
            &serde_json::json!({ "rounds": { "type": "int", "value": rounds }, "min-auc": { "type": "float", "value": 0.8 } }),
        )
    }

    fn json_text(value: &Json) -> String {
        value.to_string()
    }

    /// Three runs: 1 computes everything and registers a version; 2 reuses ingest, trains with
    /// other params and fails to package; 3 reads changed data and has no evaluation.
    fn seeded() -> (tempfile::TempDir, Store) {
        let (dir, store) = temp_store();
        let data =
            |hash: &str| vec![DataFile { path: "data/customers.csv".to_string(), hash: hash.to_string(), bytes: 1234 }];

        let first = begin(&store, &params(300), "{}");
        let raw = object(&store, b"raw table 1");
        let mut ingest = step(first, "ingest.customers", "ingest", "succeeded");
        ingest.data_files = data("blake3:aaaa");
        ingest.outputs.insert("raw".to_string(), output("table", &raw));
        ingest.rows = Some(1000);
        let ingest_id = record(&store, &ingest);
        let mut train = step(first, "train.churn", "train", "succeeded");
        train.metrics.insert("best_iteration".to_string(), 40.0);
        record(&store, &train);
        let mut evaluate = step(first, "evaluate.churn", "evaluate", "succeeded");
        evaluate.metrics = BTreeMap::from([("auc".to_string(), 0.8), ("f1".to_string(), 0.7)]);
        record(&store, &evaluate);
        let mut registered = step(first, "register.churn", "register", "succeeded");
        registered.metrics.insert("version".to_string(), 1.0);
        record(&store, &registered);
        register(&store, first, "churn", "staging");
        finish(&store, first, "succeeded");

        let second = begin(&store, &params(500), "{}");
        let mut cached = step(second, "ingest.customers", "ingest", "cached");
        cached.cached_from = Some(ingest_id);
        cached.duration_ms = Some(0);
        cached.data_files = data("blake3:aaaa");
        cached.outputs.insert("raw".to_string(), output("table", &raw));
        record(&store, &cached);
        let mut train = step(second, "train.churn", "train", "succeeded");
        train.duration_ms = Some(2500);
        record(&store, &train);
        let mut evaluate = step(second, "evaluate.churn", "evaluate", "succeeded");
        evaluate.metrics = BTreeMap::from([("auc".to_string(), 0.85), ("f1".to_string(), 0.7)]);
        record(&store, &evaluate);
        let mut package = step(second, "package.churn", "package", "failed");
        package.error = Some("cannot write bundle\ndisk full".to_string());
        // Metrics of failed steps are not recorded.
        package.metrics.insert("ignored".to_string(), 1.0);
        record(&store, &package);
        finish(&store, second, "failed");

        let third = begin(&store, &params(500), "{}");
        let mut ingest = step(third, "ingest.customers", "ingest", "succeeded");
        ingest.data_files = data("blake3:bbbb");
        record(&store, &ingest);
        let mut train = step(third, "train.churn", "train", "succeeded");
        train.metrics.insert("best_iteration".to_string(), 55.0);
        record(&store, &train);
        let mut registered = step(third, "register.churn", "register", "succeeded");
        registered.metrics.insert("version".to_string(), 2.0);
        record(&store, &registered);
        (dir, store)
    }

    #[test]
    fn runs_are_listed_newest_first_with_counts_and_key_metrics() {
        let (_dir, store) = seeded();
        let connection = store.connect().expect("connect");
        let rows = list_runs(&store, &connection, 2).expect("list");
        assert_eq!(rows.iter().map(|row| row.id).collect::<Vec<_>>(), vec![3, 2]);
        let second = &rows[1];
        assert_eq!(second.status, "failed");
        assert_eq!(second.steps, StepCounts { ran: 2, cached: 1, failed: 1, skipped: 0, cancelled: 0 });
        assert_eq!(
            second.metrics,
            BTreeMap::from([("evaluate.churn/auc".to_string(), 0.85), ("evaluate.churn/f1".to_string(), 0.7)])
        );
        assert!(second.duration_ms.is_some_and(|ms| ms >= 0));
        // Without an evaluation, every metric but registry version numbers.
        assert_eq!(rows[0].metrics, BTreeMap::from([("train.churn/best_iteration".to_string(), 55.0)]));
        assert_eq!(rows[0].status, "running");
        assert_eq!(rows[0].duration_ms, None);
        assert_eq!(latest_run(&store, &connection).expect("latest"), Some(3));
    }

    #[test]
    fn a_run_shows_params_steps_metrics_data_and_registrations() {
        let (_dir, store) = seeded();
        let connection = store.connect().expect("connect");
        let second = show_run(&store, &connection, 2).expect("show");
        assert_eq!(second.params["rounds"], serde_json::json!(500));
        assert_eq!(second.run.spec_file, "mlops.kdl");
        let ingest = &second.steps[0];
        assert_eq!((ingest.status.as_str(), ingest.cached_from_run), ("cached", Some(1)));
        assert_eq!(ingest.outputs["raw"].kind, "table");
        let package = second.steps.iter().find(|step| step.step_id == "package.churn").expect("package");
        assert_eq!(package.error.as_deref(), Some("cannot write bundle\ndisk full"));
        assert!(!second.metrics.contains_key("package.churn/ignored"));
        assert_eq!(second.data_files.len(), 1);
        assert_eq!(second.data_files[0].hash, "blake3:aaaa");
        assert!(second.registered.is_empty());
        let first = show_run(&store, &connection, 1).expect("show");
        assert_eq!(first.registered.len(), 1);
        assert_eq!((first.registered[0].name.as_str(), first.registered[0].version), ("churn", 1));
        assert_eq!(first.registered[0].aliases, vec!["staging".to_string()]);

        let missing = show_run(&store, &connection, 99).expect_err("no run 99");
        assert!(matches!(missing, StoreError::NotFound(_)));
        assert!(missing.to_string().starts_with("there is no run 99 in `"), "{missing}");
        assert!(missing.to_string().ends_with("(runs go from 1 to 3)"), "{missing}");
    }

    #[test]
    fn comparisons_show_what_differs_and_metric_deltas() {
        let (_dir, store) = seeded();
        let connection = store.connect().expect("connect");
        let comparison = compare_runs(&store, &connection, &[1, 2]).expect("compare");
        assert_eq!(comparison.runs.iter().map(|run| run.id).collect::<Vec<_>>(), vec![1, 2]);
        assert_eq!(
            comparison.params,
            BTreeMap::from([("rounds".to_string(), vec![Some(serde_json::json!(300)), Some(serde_json::json!(500))])])
        );
        let auc = &comparison.metrics["evaluate.churn/auc"];
        assert_eq!(auc.values, vec![Some(0.8), Some(0.85)]);
        let delta = auc.deltas[1].expect("delta");
        assert!((delta - 0.05).abs() < 1e-9, "{delta}");
        assert_eq!(comparison.metrics["register.churn/version"].values, vec![Some(1.0), None]);
        assert_eq!(comparison.metrics["register.churn/version"].deltas, vec![Some(0.0), None]);
        assert!(comparison.data.is_empty(), "both runs read the same file");
        assert_eq!(comparison.step_durations["train.churn"], vec![Some(10), Some(2500)]);
        assert_eq!(comparison.step_durations["package.churn"], vec![None, Some(10)]);

        let changed = compare_runs(&store, &connection, &[1, 3]).expect("compare");
        assert_eq!(
            changed.data,
            BTreeMap::from([(
                "ingest.customers/data/customers.csv".to_string(),
                vec![Some("blake3:aaaa".to_string()), Some("blake3:bbbb".to_string())]
            )])
        );
        assert!(compare_runs(&store, &connection, &[1, 42]).is_err());
    }
}
