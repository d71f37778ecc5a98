//! Run and step-run records: what the executor writes and what the cache and `mlopsc runs` read.

use std::collections::BTreeMap;

use mlops_stdlib::exec::DataFile;
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{Store, StoreError};

/// The current time, RFC 3339 in UTC.
pub fn now() -> String {
    jiff::Timestamp::now().round(jiff::Unit::Millisecond).map(|time| time.to_string()).unwrap_or_default()
}

/// Who is acting: `$USER`, else `unknown`.
pub fn actor() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".to_string())
}

/// This machine's name.
pub fn host() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|name| name.trim().to_string())
        .filter(|name| !name.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".to_string())
}

/// A run about to start.
#[derive(Debug, Clone)]
pub struct NewRun {
    /// Project name.
    pub project: String,
    /// Spec file name.
    pub spec_file: String,
    /// Spec hash.
    pub spec_hash: String,
    /// The plan executed, as JSON.
    pub plan_json: String,
    /// Parameter values, as JSON.
    pub params_json: String,
    /// The command line, for the record.
    pub command: String,
    /// The run this one reproduces.
    pub reproduces: Option<i64>,
}

/// Inserts a run with status `running`; returns its id.
pub fn begin_run(store: &Store, connection: &Connection, run: &NewRun) -> Result<i64, StoreError> {
    connection
        .execute(
            "INSERT INTO runs (project, spec_file, spec_hash, plan_json, params_json, status, started_at, host, user,
                               mlopsc_version, reproduces, command)
             VALUES (?1, ?2, ?3, ?4, ?5, 'running', ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                run.project,
                run.spec_file,
                run.spec_hash,
                run.plan_json,
                run.params_json,
                now(),
                host(),
                actor(),
                mlops_compiler::plan::MLOPSC_VERSION,
                run.reproduces,
                run.command
            ],
        )
        .map_err(|source| store.db_error(source))?;
    Ok(connection.last_insert_rowid())
}

/// Proof that a run's process is alive: an exclusive lock on `runs/<id>.lock` in the store,
/// held until this value is dropped or the process ends (the OS releases it even after a
/// `kill -9`, a crash or a full disk). [`reap_abandoned_runs`] tells a live run from a dead
/// one by trying to take the lock.
#[derive(Debug)]
pub struct RunLease {
    file: std::fs::File,
    path: std::path::PathBuf,
}

impl Drop for RunLease {
    fn drop(&mut self) {
        // The run is recorded as finished by now (or its process is going away): the lock
        // file has nothing left to say. Removing it first keeps the unlocked file from being
        // seen as an abandoned run.
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn lease_path(store: &Store, run_id: i64) -> std::path::PathBuf {
    store.root().join("runs").join(format!("{run_id}.lock"))
}

/// Records a run as `running` and takes its lease, in one transaction: no other process can see
/// the run before its lease is held, so a run without a lease file is never a live one.
pub fn begin_held_run(store: &Store, connection: &Connection, run: &NewRun) -> Result<(i64, RunLease), StoreError> {
    connection.execute_batch("BEGIN IMMEDIATE").map_err(|source| store.db_error(source))?;
    let begun = begin_run(store, connection, run).and_then(|run_id| Ok((run_id, hold_run(store, run_id)?)));
    let end = if begun.is_ok() { "COMMIT" } else { "ROLLBACK" };
    match (begun, connection.execute_batch(end)) {
        (Ok(begun), Ok(())) => Ok(begun),
        (Ok(_), Err(source)) => Err(store.db_error(source)),
        (Err(error), _) => Err(error),
    }
}

/// Takes the lease of run `run_id`, just begun by this process.
fn hold_run(store: &Store, run_id: i64) -> Result<RunLease, StoreError> {
    let path = lease_path(store, run_id);
    let io = |action: &'static str, source: std::io::Error| StoreError::Io { action, path: path.clone(), source };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| io("create the folder of", source))?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| io("create", source))?;
    file.lock().map_err(|source| io("lock", source))?;
    Ok(RunLease { file, path })
}

/// How long a `running` run with no lease file is given before it counts as abandoned (runs
/// recorded by [`begin_held_run`] always have one; others, recorded by an older mlopsc, do not).
const LEASELESS_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// Marks `failed` every run still `running` whose process is gone — killed, crashed, or stopped
/// by a full disk before it could record its end — so that `mlopsc runs` never shows a run as
/// running forever. Runs of live processes, here or on other machines sharing the store, hold
/// their lease and are left alone. Returns the runs marked.
pub fn reap_abandoned_runs(store: &Store, connection: &Connection) -> Result<Vec<i64>, StoreError> {
    let running: Vec<(i64, String)> = connection
        .prepare("SELECT id, started_at FROM runs WHERE status = 'running' ORDER BY id")
        .and_then(|mut statement| {
            statement.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect::<Result<Vec<_>, _>>()
        })
        .map_err(|source| store.db_error(source))?;
    let mut reaped = Vec::new();
    for (run_id, started_at) in running {
        let path = lease_path(store, run_id);
        let abandoned = match std::fs::OpenOptions::new().write(true).open(&path) {
            Ok(file) => match file.try_lock() {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                    true
                }
                Err(_) => false,
            },
            Err(_) => started_at
                .parse::<jiff::Timestamp>()
                .ok()
                .and_then(|started| jiff::Timestamp::now().duration_since(started).try_into().ok())
                .is_some_and(|age: std::time::Duration| age > LEASELESS_GRACE),
        };
        if abandoned {
            connection
                .execute(
                    "UPDATE runs SET status = 'failed', finished_at = ?1 WHERE id = ?2 AND status = 'running'",
                    params![now(), run_id],
                )
                .map_err(|source| store.db_error(source))?;
            // Its steps' half-written outputs, which the killed process could not remove.
            store.remove_run_scratch(run_id);
            reaped.push(run_id);
        }
    }
    Ok(reaped)
}

/// Marks a run finished.
pub fn finish_run(store: &Store, connection: &Connection, run_id: i64, status: &str) -> Result<(), StoreError> {
    connection
        .execute("UPDATE runs SET status = ?1, finished_at = ?2 WHERE id = ?3", params![status, now(), run_id])
        .map_err(|source| store.db_error(source))?;
    Ok(())
}

/// An output of a step run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    /// `table`, `model` or `file`.
    pub kind: String,
    /// The object.
    pub hash: String,
    /// Its size.
    pub bytes: u64,
}

/// Everything recorded about one step of one run.
#[derive(Debug, Clone)]
pub struct StepRunRecord {
    /// The run.
    pub run_id: i64,
    /// The plan step.
    pub step_id: String,
    /// Its kind.
    pub kind: String,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Fingerprint + input hashes.
    pub cache_key: String,
    /// Its params, as JSON (for "params changed" explanations).
    pub params_json: String,
    /// `succeeded`, `cached`, `failed`, `skipped` or `cancelled`.
    pub status: String,
    /// Why it ran or was skipped.
    pub reason: String,
    /// The step run whose outputs a cached step reused.
    pub cached_from: Option<i64>,
    /// When it started.
    pub started_at: String,
    /// How long it took.
    pub duration_ms: Option<u64>,
    /// Rows processed.
    pub rows: Option<u64>,
    /// The error, when it failed.
    pub error: Option<String>,
    /// Notes.
    pub notes: Vec<String>,
    /// Input name → object hash.
    pub inputs: BTreeMap<String, String>,
    /// Output name → object.
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Source files read (ingest).
    pub data_files: Vec<DataFile>,
}

/// Writes a step run and everything attached to it in one transaction; returns its id.
pub fn record_step(store: &Store, connection: &mut Connection, record: &StepRunRecord) -> Result<i64, StoreError> {
    let db = |source| store.db_error(source);
    let transaction = connection.transaction().map_err(db)?;
    transaction
        .execute(
            "INSERT INTO step_runs (run_id, step_id, kind, fingerprint, cache_key, params_json, status, reason,
                                    cached_from, started_at, finished_at, duration_ms, rows, error, notes_json)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                record.run_id,
                record.step_id,
                record.kind,
                record.fingerprint,
                record.cache_key,
                record.params_json,
                record.status,
                record.reason,
                record.cached_from,
                record.started_at,
                now(),
                record.duration_ms.map(|ms| ms as i64),
                record.rows.map(|rows| rows as i64),
                record.error,
                serde_json::to_string(&record.notes).unwrap_or_else(|_| "[]".to_string()),
            ],
        )
        .map_err(db)?;
    let id = transaction.last_insert_rowid();
    for (name, hash) in &record.inputs {
        transaction
            .execute(
                "INSERT INTO step_inputs (step_run_id, name, object_hash) VALUES (?1, ?2, ?3)",
                params![id, name, hash],
            )
            .map_err(db)?;
    }
    for (name, output) in &record.outputs {
        transaction
            .execute(
                "INSERT INTO step_outputs (step_run_id, name, kind, object_hash, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![id, name, output.kind, output.hash, output.bytes as i64],
            )
            .map_err(db)?;
    }
    if record.status == "succeeded" || record.status == "cached" {
        for (name, value) in &record.metrics {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO metrics (run_id, step_id, name, value) VALUES (?1, ?2, ?3, ?4)",
                    params![record.run_id, record.step_id, name, value],
                )
                .map_err(db)?;
        }
        for file in &record.data_files {
            transaction
                .execute(
                    "INSERT OR REPLACE INTO data_files (run_id, step_id, path, hash, bytes) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![record.run_id, record.step_id, file.path, file.hash, file.bytes as i64],
                )
                .map_err(db)?;
        }
    }
    transaction.commit().map_err(db)?;
    Ok(id)
}

/// A successful step run from the past, as the cache sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastStep {
    /// Its id.
    pub id: i64,
    /// Its run.
    pub run_id: i64,
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its cache key.
    pub cache_key: String,
    /// Its params.
    pub params_json: String,
    /// Its inputs.
    pub inputs: BTreeMap<String, String>,
    /// Its outputs.
    pub outputs: BTreeMap<String, OutputRecord>,
    /// Its metrics (of its run).
    pub metrics: BTreeMap<String, f64>,
    /// Its rows.
    pub rows: Option<u64>,
    /// Source files it read (ingest).
    pub data_files: Vec<DataFile>,
}

fn load_past(store: &Store, connection: &Connection, id: i64) -> Result<PastStep, StoreError> {
    let db = |source| store.db_error(source);
    let (run_id, step_id, fingerprint, cache_key, params_json, rows): (
        i64,
        String,
        String,
        String,
        String,
        Option<i64>,
    ) = connection
        .query_row(
            "SELECT run_id, step_id, fingerprint, cache_key, params_json, rows FROM step_runs WHERE id = ?1",
            params![id],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?)),
        )
        .map_err(db)?;
    let mut statement =
        connection.prepare("SELECT name, object_hash FROM step_inputs WHERE step_run_id = ?1").map_err(db)?;
    let inputs = statement
        .query_map(params![id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(db)?
        .collect::<Result<BTreeMap<String, String>, _>>()
        .map_err(db)?;
    let mut statement = connection
        .prepare("SELECT name, kind, object_hash, bytes FROM step_outputs WHERE step_run_id = ?1")
        .map_err(db)?;
    let outputs = statement
        .query_map(params![id], |row| {
            Ok((
                row.get::<_, String>(0)?,
                OutputRecord { kind: row.get(1)?, hash: row.get(2)?, bytes: row.get::<_, i64>(3)? as u64 },
            ))
        })
        .map_err(db)?
        .collect::<Result<BTreeMap<_, _>, _>>()
        .map_err(db)?;
    let mut statement =
        connection.prepare("SELECT name, value FROM metrics WHERE run_id = ?1 AND step_id = ?2").map_err(db)?;
    let metrics = statement
        .query_map(params![run_id, step_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .map_err(db)?
        .collect::<Result<BTreeMap<String, f64>, _>>()
        .map_err(db)?;
    let mut statement = connection
        .prepare("SELECT path, hash, bytes FROM data_files WHERE run_id = ?1 AND step_id = ?2 ORDER BY path")
        .map_err(db)?;
    let data_files = statement
        .query_map(params![run_id, step_id], |row| {
            Ok(DataFile { path: row.get(0)?, hash: row.get(1)?, bytes: row.get::<_, i64>(2)? as u64 })
        })
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    Ok(PastStep {
        id,
        run_id,
        fingerprint,
        cache_key,
        params_json,
        inputs,
        outputs,
        metrics,
        rows: rows.map(|rows| rows as u64),
        data_files,
    })
}

/// The step run that produced the outputs for this cache key (the latest that actually ran,
/// else the latest that reused them), when its outputs are all still in the store.
pub fn find_cached(
    store: &Store,
    connection: &Connection,
    step_id: &str,
    cache_key: &str,
) -> Result<Option<PastStep>, StoreError> {
    let db = |source| store.db_error(source);
    let mut statement = connection
        .prepare(
            "SELECT id FROM step_runs WHERE step_id = ?1 AND cache_key = ?2 AND status IN ('succeeded', 'cached')
             ORDER BY CASE status WHEN 'succeeded' THEN 0 ELSE 1 END, id DESC LIMIT 5",
        )
        .map_err(db)?;
    let ids = statement
        .query_map(params![step_id, cache_key], |row| row.get::<_, i64>(0))
        .map_err(db)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(db)?;
    for id in ids {
        let past = load_past(store, connection, id)?;
        if past.outputs.values().all(|output| store.has(&output.hash)) {
            return Ok(Some(past));
        }
    }
    Ok(None)
}

/// The latest successful step run of `step_id`, whatever its key (to explain what changed, and
/// to supply inputs for `--only` and `--from`).
pub fn last_success(store: &Store, connection: &Connection, step_id: &str) -> Result<Option<PastStep>, StoreError> {
    let id: Option<i64> = connection
        .query_row(
            "SELECT id FROM step_runs WHERE step_id = ?1 AND status IN ('succeeded', 'cached') ORDER BY id DESC LIMIT 1",
            params![step_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(|source| store.db_error(source))?;
    id.map(|id| load_past(store, connection, id)).transpose()
}

/// The step run of `step_id` in run `run_id`, if it succeeded (or was cached).
pub fn step_in_run(
    store: &Store,
    connection: &Connection,
    run_id: i64,
    step_id: &str,
) -> Result<Option<PastStep>, StoreError> {
    let id: Option<i64> = connection
        .query_row(
            "SELECT id FROM step_runs WHERE run_id = ?1 AND step_id = ?2 AND status IN ('succeeded', 'cached')
             ORDER BY id DESC LIMIT 1",
            params![run_id, step_id],
            |row| row.get(0),
        )
        .optional()
        .map_err(|source| store.db_error(source))?;
    id.map(|id| load_past(store, connection, id)).transpose()
}

/// The plan JSON a run executed.
pub fn run_plan(store: &Store, connection: &Connection, run_id: i64) -> Result<String, StoreError> {
    connection
        .query_row("SELECT plan_json FROM runs WHERE id = ?1", params![run_id], |row| row.get(0))
        .optional()
        .map_err(|source| store.db_error(source))?
        .ok_or_else(|| StoreError::NotFound(format!("there is no run {run_id} in `{}`", store.root().display())))
}
