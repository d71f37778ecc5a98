//! The executor: runs a plan's batch steps in dependency order, in parallel, through the cache.
//!
//! Every step goes through [`execute_step`], the same function `mlopsc step run` uses, so a local
//! run and an orchestrator task behave alike. A failed step stops its dependents and lets
//! independent steps finish; a cancelled run starts nothing new and discards partial outputs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mlops_compiler::plan::{Plan, Step};
use mlops_stdlib::exec::{self, StepContext, StepError, StepResult};
use serde_json::json;

use crate::cache;
use crate::records::{self, NewRun, OutputRecord, PastStep, StepRunRecord};
use crate::registry::{self, NewVersion};
use crate::store::{Store, StoreError};

/// How the program's allocator hands the memory it keeps for reuse back to the operating
/// system; registered by the program with [`set_memory_release`].
static MEMORY_RELEASE: std::sync::OnceLock<fn()> = std::sync::OnceLock::new();

/// Registers how freed memory goes back to the operating system, called before every step
/// that cannot reuse it (see [`release_memory`]). Only the first registration counts.
pub fn set_memory_release(release: fn()) {
    let _ = MEMORY_RELEASE.set(release);
}

/// Hands the memory earlier steps freed back to the operating system. The allocator keeps
/// freed memory for reuse, and a data step that follows another reuses it instead of touching
/// fresh pages, which the kernel must zero first (at 1M rows, about 0.1 s faster over the data
/// steps). A step that allocates elsewhere ([`exec::allocates_in_rust`]: XGBoost's matrices, a
/// command's process) would add its memory to what the allocator kept, so the runtime calls
/// this before such a step. Does nothing when no release is registered.
fn release_memory() {
    if let Some(release) = MEMORY_RELEASE.get() {
        release();
    }
}

/// Errors that stop a run before or outside any step.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The store could not be used.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The request does not fit the plan (unknown step for `--only`, missing upstream outputs).
    #[error("{0}")]
    Request(String),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    /// The plan.
    pub plan: &'a Plan,
    /// The spec's folder.
    pub project_dir: &'a Path,
    /// The command line, for the record.
    pub command: String,
    /// Steps run at once.
    pub jobs: usize,
    /// Run only this step (its inputs come from the store).
    pub only: Option<String>,
    /// Run this step and everything after it.
    pub from: Option<String>,
    /// Ignore the cache.
    pub force: bool,
    /// Reproduce this run: its recorded plan and its recorded data.
    pub reproduce: Option<i64>,
}

/// What happened to a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// It ran and succeeded.
    Succeeded,
    /// Its outputs came from an earlier run.
    Cached,
    /// It failed.
    Failed,
    /// It did not run because something it needs failed.
    Skipped,
    /// The run was stopped while it ran or before it started.
    Cancelled,
}

impl Status {
    /// The word stored and shown.
    pub fn name(self) -> &'static str {
        match self {
            Status::Succeeded => "succeeded",
            Status::Cached => "cached",
            Status::Failed => "failed",
            Status::Skipped => "skipped",
            Status::Cancelled => "cancelled",
        }
    }
}

/// Progress reported while a run goes on.
#[derive(Debug, Clone)]
pub enum Event {
    /// The run has an id.
    RunStarted {
        /// Its id.
        run_id: i64,
        /// Steps that will be considered.
        steps: usize,
    },
    /// A step started running; `reason` says why it was not cached.
    StepStarted {
        /// The step.
        step: String,
        /// Why it runs.
        reason: String,
    },
    /// A line of a step's log.
    Log {
        /// The step.
        step: String,
        /// The line.
        line: String,
    },
    /// A step finished one way or another.
    StepFinished(StepSummary),
    /// A plan step `mlopsc run` does not execute (a service or a monitor).
    NotRun {
        /// The step.
        step: String,
        /// Why, and what to run instead.
        why: String,
    },
}

/// The outcome of one step.
#[derive(Debug, Clone)]
pub struct StepSummary {
    /// The step.
    pub step: String,
    /// What happened.
    pub status: Status,
    /// Why it ran or was skipped.
    pub reason: String,
    /// Time spent in the step's own work.
    pub duration: Duration,
    /// Rows processed.
    pub rows: Option<u64>,
    /// Metrics.
    pub metrics: BTreeMap<String, f64>,
    /// Notes.
    pub notes: Vec<String>,
    /// The error, when it failed: one line plus details.
    pub error: Option<(String, Vec<String>)>,
}

impl StepSummary {
    /// A step that did no work of its own: no time, rows, metrics, notes or error yet.
    fn new(step: &str, status: Status, reason: impl Into<String>) -> StepSummary {
        StepSummary {
            step: step.to_string(),
            status,
            reason: reason.into(),
            duration: Duration::ZERO,
            rows: None,
            metrics: BTreeMap::new(),
            notes: Vec::new(),
            error: None,
        }
    }

    /// A step that failed or was cancelled with `error` after `duration` of work.
    fn unsuccessful(step: &str, status: Status, reason: String, duration: Duration, error: &StepError) -> StepSummary {
        StepSummary { duration, error: Some(error_lines(error)), ..StepSummary::new(step, status, reason) }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone)]
pub struct RunSummary {
    /// The run's id.
    pub run_id: i64,
    /// `succeeded`, `failed` or `cancelled`.
    pub status: &'static str,
    /// Every step considered, in completion order.
    pub steps: Vec<StepSummary>,
    /// Wall time of the whole run.
    pub wall: Duration,
}

/// Kinds `mlopsc run` leaves to their own commands.
fn not_run_reason(step: &Step) -> Option<String> {
    match step.kind.as_str() {
        "serve" => Some(format!("a service: start it with `mlopsc serve {}`", step.name)),
        "monitor" => Some(format!("watches a served model: run it with `mlopsc monitor {}`", step.name)),
        _ => None,
    }
}

/// Runs a plan. Returns the summary; `Err` only when the run could not start or record.
pub fn run(
    store: &Store,
    request: &RunRequest,
    events: &(dyn Fn(Event) + Sync),
    cancel: &AtomicBool,
) -> Result<RunSummary, RuntimeError> {
    let started = Instant::now();
    let plan = request.plan;
    let selected = select(plan, request)?;
    let mut connection = store.connect()?;
    let params_json = serde_json::to_string(&plan.params).unwrap_or_default();
    records::reap_abandoned_runs(store, &connection)?;
    let (run_id, _lease) = records::begin_held_run(
        store,
        &connection,
        &NewRun {
            project: plan.project.name.clone(),
            spec_file: plan.spec.file.clone(),
            spec_hash: plan.spec.hash.clone(),
            plan_json: plan.to_json(),
            params_json,
            command: request.command.clone(),
            reproduces: request.reproduce,
        },
    )?;
    events(Event::RunStarted { run_id, steps: selected.len() });

    // Outputs known so far: from this run's steps, or from the store for steps not selected.
    let mut outputs: BTreeMap<String, BTreeMap<String, OutputRecord>> = BTreeMap::new();
    for step in &plan.steps {
        if selected.contains(&step.id) || !step.batch || not_run_reason(step).is_some() {
            continue;
        }
        let needed = plan
            .steps
            .iter()
            .any(|other| selected.contains(&other.id) && other.inputs.iter().any(|input| input.from.step == step.id));
        if !needed {
            continue;
        }
        let past = match request.reproduce {
            Some(reproduced) => records::step_in_run(store, &connection, reproduced, &step.id)?,
            None => records::last_success(store, &connection, &step.id)?,
        };
        match past {
            Some(past) => {
                outputs.insert(step.id.clone(), past.outputs);
            }
            None => {
                records::finish_run(store, &connection, run_id, "failed")?;
                return Err(RuntimeError::Request(format!(
                    "step `{}` has never run successfully in this store, and the selected steps need its outputs; run \
                     without --only/--from first",
                    step.id
                )));
            }
        }
    }

    let mut summaries = Vec::new();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut failed: BTreeMap<String, String> = BTreeMap::new();
    let mut running: BTreeSet<String> = BTreeSet::new();
    let order: Vec<&Step> = plan.steps.iter().filter(|step| selected.contains(&step.id)).collect();
    for step in plan.steps.iter().filter(|step| step.batch && not_run_reason(step).is_some()) {
        if request.only.is_none() {
            events(Event::NotRun { step: step.id.clone(), why: not_run_reason(step).unwrap_or_default() });
        }
    }
    let jobs = request.jobs.max(1);
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    let (sender, receiver) = mpsc::channel::<(String, Result<Executed, RuntimeError>)>();
    std::thread::scope(|scope| -> Result<(), RuntimeError> {
        loop {
            // Skip steps whose inputs failed.
            for step in &order {
                if done.contains(&step.id) || running.contains(&step.id) {
                    continue;
                }
                let blocked = step.depends_on.iter().find(|dependency| failed.contains_key(*dependency));
                if let Some(blocked) = blocked {
                    let status = if cancel.load(Ordering::Relaxed) { Status::Cancelled } else { Status::Skipped };
                    let summary = StepSummary::new(&step.id, status, format!("`{blocked}` did not succeed"));
                    failed.insert(step.id.clone(), blocked.clone());
                    done.insert(step.id.clone());
                    events(Event::StepFinished(summary.clone()));
                    summaries.push(summary);
                }
            }
            // Start ready steps, in plan order, up to the job limit.
            if !cancel.load(Ordering::Relaxed) {
                let ready: Vec<&Step> = order
                    .iter()
                    .copied()
                    .filter(|step| !done.contains(&step.id) && !running.contains(&step.id))
                    .filter(|step| {
                        step.depends_on.iter().all(|dependency| {
                            !selected.contains(dependency)
                                || (done.contains(dependency) && !failed.contains_key(dependency))
                        })
                    })
                    .take(jobs.saturating_sub(running.len()))
                    .collect();
                // A step that would run alone runs on this thread. XGBoost's OpenMP threads
                // then belong to the process's first thread, as in a single-threaded program:
                // OpenMP called from another thread counts this one as busy too and, on a
                // machine with as many cores as XGBoost uses, makes its idle threads sleep
                // instead of spinning between parallel loops, which slowed training by ~10%.
                let inline = running.is_empty() && ready.len() == 1;
                for step in ready {
                    let inputs = resolve_inputs(store, step, &outputs)?;
                    running.insert(step.id.clone());
                    let sender = sender.clone();
                    let step_threads = (threads / running.len().max(1)).max(1);
                    let work = move || {
                        // A step that cannot reuse what the allocator keeps starts without it.
                        if !exec::allocates_in_rust(&step.kind) {
                            release_memory();
                        }
                        let result = execute_step(
                            store,
                            plan,
                            step,
                            &StepRequest {
                                run_id,
                                project_dir: request.project_dir,
                                inputs,
                                force: request.force,
                                reproduce: request.reproduce,
                                threads: step_threads,
                            },
                            events,
                            cancel,
                        );
                        let _ = sender.send((step.id.clone(), result));
                    };
                    if inline {
                        work();
                    } else {
                        scope.spawn(work);
                    }
                }
            }
            if running.is_empty() {
                // Anything left can never start (cancelled, or blocked).
                for step in &order {
                    if !done.contains(&step.id) {
                        let summary = StepSummary::new(&step.id, Status::Cancelled, "the run was stopped");
                        done.insert(step.id.clone());
                        events(Event::StepFinished(summary.clone()));
                        summaries.push(summary);
                    }
                }
                break;
            }
            let Ok((step_id, result)) = receiver.recv() else { break };
            running.remove(&step_id);
            done.insert(step_id.clone());
            let executed = result?;
            if !matches!(executed.summary.status, Status::Succeeded | Status::Cached) {
                failed.insert(step_id.clone(), step_id.clone());
            } else {
                outputs.insert(step_id.clone(), executed.outputs);
            }
            events(Event::StepFinished(executed.summary.clone()));
            summaries.push(executed.summary);
        }
        Ok(())
    })?;
    let status = if cancel.load(Ordering::Relaxed) {
        "cancelled"
    } else if summaries.iter().any(|summary| matches!(summary.status, Status::Failed | Status::Skipped)) {
        "failed"
    } else {
        "succeeded"
    };
    connection = store.connect()?;
    records::finish_run(store, &connection, run_id, status)?;
    drop(connection);
    Ok(RunSummary { run_id, status, steps: summaries, wall: started.elapsed() })
}

/// The steps a request selects: all batch steps, `--only` one, or `--from` one and its dependents.
fn select(plan: &Plan, request: &RunRequest) -> Result<BTreeSet<String>, RuntimeError> {
    let runnable = |step: &Step| step.batch && not_run_reason(step).is_none();
    let find = |id: &str, flag: &str| -> Result<&Step, RuntimeError> {
        plan.steps.iter().find(|step| step.id == id || step.name == id).ok_or_else(|| {
            let ids: Vec<&str> = plan.steps.iter().map(|step| step.id.as_str()).collect();
            RuntimeError::Request(format!("{flag} `{id}`: no such step; the steps are {}", ids.join(", ")))
        })
    };
    if let Some(only) = &request.only {
        let step = find(only, "--only")?;
        if !runnable(step) {
            return Err(RuntimeError::Request(format!(
                "--only `{}`: {}",
                step.id,
                not_run_reason(step).unwrap_or_else(|| "not a batch step".to_string())
            )));
        }
        return Ok(BTreeSet::from([step.id.clone()]));
    }
    if let Some(from) = &request.from {
        let start = find(from, "--from")?;
        let mut selected = BTreeSet::from([start.id.clone()]);
        for step in &plan.steps {
            if step.depends_on.iter().any(|dependency| selected.contains(dependency)) && runnable(step) {
                selected.insert(step.id.clone());
            }
        }
        return Ok(selected);
    }
    Ok(plan.steps.iter().filter(|step| runnable(step)).map(|step| step.id.clone()).collect())
}

/// Input name → object for a step, from the outputs known so far.
fn resolve_inputs(
    store: &Store,
    step: &Step,
    outputs: &BTreeMap<String, BTreeMap<String, OutputRecord>>,
) -> Result<BTreeMap<String, OutputRecord>, RuntimeError> {
    let mut inputs = BTreeMap::new();
    for input in &step.inputs {
        let found = outputs.get(&input.from.step).and_then(|produced| produced.get(&input.from.output));
        match found {
            Some(object) if store.has(&object.hash) => {
                inputs.insert(input.name.clone(), object.clone());
            }
            _ => {
                return Err(RuntimeError::Request(format!(
                    "step `{}` needs output `{}` of `{}`, which is not in the store",
                    step.id, input.from.output, input.from.step
                )))
            }
        }
    }
    Ok(inputs)
}

/// Everything [`execute_step`] needs besides the plan.
#[derive(Debug, Clone)]
pub struct StepRequest<'a> {
    /// The run recording this step.
    pub run_id: i64,
    /// The spec's folder.
    pub project_dir: &'a Path,
    /// Input name → object.
    pub inputs: BTreeMap<String, OutputRecord>,
    /// Ignore the cache.
    pub force: bool,
    /// Reproduce this run's ingested data.
    pub reproduce: Option<i64>,
    /// Threads for the step.
    pub threads: usize,
}

/// A step's summary and outputs.
#[derive(Debug, Clone)]
pub struct Executed {
    /// What happened.
    pub summary: StepSummary,
    /// Output name → object (empty unless it succeeded or was cached).
    pub outputs: BTreeMap<String, OutputRecord>,
}

fn extension(kind: &str) -> &'static str {
    match kind {
        "table" => "parquet",
        _ => "json",
    }
}

/// Runs one step through the cache and records it: the one code path for `mlopsc run` and
/// `mlopsc step run`.
pub fn execute_step(
    store: &Store,
    plan: &Plan,
    step: &Step,
    request: &StepRequest,
    events: &(dyn Fn(Event) + Sync),
    cancel: &AtomicBool,
) -> Result<Executed, RuntimeError> {
    let connection = store.connect()?;
    let mut hashes: BTreeMap<String, String> =
        request.inputs.iter().map(|(name, object)| (name.clone(), object.hash.clone())).collect();
    let mut input_paths: BTreeMap<String, PathBuf> =
        request.inputs.iter().map(|(name, object)| (name.clone(), store.object_path(&object.hash))).collect();
    let params_json = serde_json::to_string(&step.params).unwrap_or_default();
    let mut data_files = Vec::new();
    let mut reproduced: Option<PastStep> = None;
    let mut notes = Vec::new();

    // What else the step reads, so that the key covers it.
    match step.kind.as_str() {
        "ingest" => match request.reproduce {
            Some(run_id) => {
                let past = records::step_in_run(store, &connection, run_id, &step.id)?.ok_or_else(|| {
                    RuntimeError::Request(format!("run {run_id} has no recorded data for `{}`", step.id))
                })?;
                data_files = past.data_files.clone();
                reproduced = Some(past);
            }
            None => match exec::ingest::source_files(&step.params, request.project_dir) {
                Ok(files) => data_files = files,
                Err(error) => return failure(store, step, request, &params_json, &hashes, error, events),
            },
        },
        "step" => {
            let code: Vec<String> =
                step.params.get("code").and_then(|code| serde_json::from_value(code.clone()).ok()).unwrap_or_default();
            for path in code {
                let full = request.project_dir.join(&path);
                match crate::store::hash_file(&full) {
                    Ok(hashed) => {
                        hashes.insert(format!("code:{path}"), hashed.hash);
                    }
                    Err(error) => {
                        let error = StepError::Io {
                            action: "read code file",
                            path: full,
                            source: std::io::Error::other(error.to_string()),
                        };
                        return failure(store, step, request, &params_json, &hashes, error, events);
                    }
                }
            }
        }
        "evaluate" => {
            let compare: Vec<serde_json::Value> =
                step.params.get("compare_to").and_then(|value| value.as_array().cloned()).unwrap_or_default();
            for (index, entry) in compare.iter().enumerate() {
                let model = entry.get("model").and_then(|value| value.as_str()).unwrap_or_default();
                let alias = entry.get("alias").and_then(|value| value.as_str()).unwrap_or("latest");
                let champion = registry::resolve(store, &connection, &format!("{model}@{alias}"))?;
                if let Some(hash) = champion.and_then(|version| version.evaluation_hash) {
                    if store.has(&hash) {
                        input_paths.insert(format!("compare_to.{index}"), store.object_path(&hash));
                        hashes.insert(format!("compare_to.{index}"), hash);
                    }
                }
            }
        }
        _ => {}
    }
    for file in &data_files {
        hashes.insert(format!("data:{}", file.path), file.hash.clone());
    }
    let key = cache::cache_key(&step.fingerprint, &hashes);

    // Reproduction: the ingested data is the recorded one.
    if let Some(past) = reproduced {
        let summary = StepSummary {
            rows: past.rows,
            metrics: past.metrics.clone(),
            ..StepSummary::new(
                &step.id,
                Status::Cached,
                format!("reproducing run {}: the data recorded then", past.run_id),
            )
        };
        record(store, step, request, &params_json, &key, &hashes, &summary, &past.outputs, Some(past.id), &data_files)?;
        return Ok(Executed { summary, outputs: past.outputs });
    }

    if !request.force {
        if let Some(past) = records::find_cached(store, &connection, &step.id, &key)? {
            let summary = StepSummary {
                rows: past.rows,
                metrics: past.metrics.clone(),
                ..StepSummary::new(&step.id, Status::Cached, format!("cached (run {})", past.run_id))
            };
            record(
                store,
                step,
                request,
                &params_json,
                &key,
                &hashes,
                &summary,
                &past.outputs,
                Some(past.id),
                &data_files,
            )?;
            return Ok(Executed { summary, outputs: past.outputs });
        }
    }
    let reason = if request.force {
        "forced (--force)".to_string()
    } else {
        let last = records::last_success(store, &connection, &step.id)?;
        cache::explain(&step.fingerprint, &params_json, &hashes, last.as_ref())
    };
    drop(connection);
    events(Event::StepStarted { step: step.id.clone(), reason: reason.clone() });

    let scratch = store.scratch_for_run(request.run_id)?;
    let output_paths: BTreeMap<String, PathBuf> = step
        .outputs
        .iter()
        .map(|output| {
            (output.name.clone(), scratch.path().join(format!("{}.{}", output.name, extension(&output.kind))))
        })
        .collect();
    let started = Instant::now();
    let step_id = step.id.clone();
    let log = move |line: &str| events(Event::Log { step: step_id.clone(), line: line.to_string() });
    let result: Result<StepResult, StepError> = if step.kind == "register" {
        register_step(store, plan, step, request, &output_paths)
    } else {
        let context = StepContext {
            step_id: &step.id,
            kind: &step.kind,
            params: &step.params,
            inputs: &input_paths,
            outputs: &output_paths,
            project_dir: request.project_dir,
            threads: request.threads,
            log: &log,
            cancel,
        };
        exec::run(&context)
    };
    let duration = started.elapsed();
    let result = match result {
        Ok(result) => result,
        Err(error) => {
            let (status, reason) = match &error {
                StepError::Cancelled => (Status::Cancelled, "the run was stopped".to_string()),
                _ => (Status::Failed, reason),
            };
            let summary = StepSummary::unsuccessful(&step.id, status, reason, duration, &error);
            record(store, step, request, &params_json, &key, &hashes, &summary, &BTreeMap::new(), None, &data_files)?;
            return Ok(Executed { summary, outputs: BTreeMap::new() });
        }
    };
    // Every declared output must exist before anything is recorded.
    let mut outputs = BTreeMap::new();
    for output in &step.outputs {
        let path = &output_paths[&output.name];
        if !path.is_file() {
            let error = StepError::Internal(format!("step `{}` wrote no output `{}`", step.id, output.name));
            let summary = StepSummary::unsuccessful(&step.id, Status::Failed, reason, duration, &error);
            record(store, step, request, &params_json, &key, &hashes, &summary, &BTreeMap::new(), None, &data_files)?;
            return Ok(Executed { summary, outputs: BTreeMap::new() });
        }
        let object = match result.hashes.get(&output.name).cloned().or_else(|| input_linked(store, path, request)) {
            Some(hashed) => store.put_hashed(path, &hashed)?,
            None => store.put(path)?,
        };
        outputs.insert(
            output.name.clone(),
            OutputRecord { kind: output.kind.clone(), hash: object.hash, bytes: object.bytes },
        );
    }
    notes.extend(result.notes.iter().cloned());
    let summary = StepSummary {
        duration,
        rows: result.rows,
        metrics: result.metrics.clone(),
        notes,
        ..StepSummary::new(&step.id, Status::Succeeded, reason)
    };
    record(store, step, request, &params_json, &key, &hashes, &summary, &outputs, None, &data_files)?;
    Ok(Executed { summary, outputs })
}

/// The object of the input that the output at `path` is another name of (a hard link, as
/// `validate` passes its table on): store objects never change, so it has that input's hash
/// and need not be read again to hash it.
fn input_linked(store: &Store, path: &Path, request: &StepRequest) -> Option<crate::store::ObjectRef> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let output = std::fs::metadata(path).ok()?;
        request.inputs.values().find_map(|input| {
            let object = std::fs::metadata(store.object_path(&input.hash)).ok()?;
            (object.dev() == output.dev() && object.ino() == output.ino())
                .then(|| crate::store::ObjectRef { hash: input.hash.clone(), bytes: input.bytes })
        })
    }
    #[cfg(not(unix))]
    {
        let _ = (store, path, request);
        None
    }
}

/// A step that failed before it could run (its sources or code files are unreadable).
fn failure(
    store: &Store,
    step: &Step,
    request: &StepRequest,
    params_json: &str,
    hashes: &BTreeMap<String, String>,
    error: StepError,
    events: &(dyn Fn(Event) + Sync),
) -> Result<Executed, RuntimeError> {
    events(Event::StepStarted { step: step.id.clone(), reason: "reading its files".to_string() });
    let summary =
        StepSummary::unsuccessful(&step.id, Status::Failed, "reading its files".to_string(), Duration::ZERO, &error);
    let key = cache::cache_key(&step.fingerprint, hashes);
    record(store, step, request, params_json, &key, hashes, &summary, &BTreeMap::new(), None, &[])?;
    Ok(Executed { summary, outputs: BTreeMap::new() })
}

/// One line and detail lines of a step error.
fn error_lines(error: &StepError) -> (String, Vec<String>) {
    match error {
        StepError::Data { message, details } => (message.clone(), details.clone()),
        other => (other.to_string(), Vec::new()),
    }
}

#[allow(clippy::too_many_arguments)]
fn record(
    store: &Store,
    step: &Step,
    request: &StepRequest,
    params_json: &str,
    key: &str,
    hashes: &BTreeMap<String, String>,
    summary: &StepSummary,
    outputs: &BTreeMap<String, OutputRecord>,
    cached_from: Option<i64>,
    data_files: &[exec::DataFile],
) -> Result<i64, RuntimeError> {
    let mut connection = store.connect()?;
    let error = summary.error.as_ref().map(|(line, details)| {
        let mut text = line.clone();
        for detail in details {
            text.push('\n');
            text.push_str(detail);
        }
        text
    });
    let id = records::record_step(
        store,
        &mut connection,
        &StepRunRecord {
            run_id: request.run_id,
            step_id: step.id.clone(),
            kind: step.kind.clone(),
            fingerprint: step.fingerprint.clone(),
            cache_key: key.to_string(),
            params_json: params_json.to_string(),
            status: summary.status.name().to_string(),
            reason: summary.reason.clone(),
            cached_from,
            started_at: records::now(),
            duration_ms: Some(summary.duration.as_millis() as u64),
            rows: summary.rows,
            error,
            notes: summary.notes.clone(),
            inputs: hashes.clone(),
            outputs: outputs.clone(),
            metrics: summary.metrics.clone(),
            data_files: data_files.to_vec(),
        },
    )?;
    Ok(id)
}

/// The `register` step: a store operation, not a stdlib kind.
fn register_step(
    store: &Store,
    plan: &Plan,
    step: &Step,
    request: &StepRequest,
    output_paths: &BTreeMap<String, PathBuf>,
) -> Result<StepResult, StepError> {
    let internal = |error: StoreError| StepError::Internal(error.to_string());
    let object = |name: &str| request.inputs.get(name).map(|object| object.hash.as_str());
    let model_hash = object("model").ok_or_else(|| StepError::Internal(format!("`{}` has no model input", step.id)))?;
    let metrics = match object("evaluation") {
        Some(hash) => {
            let text = std::fs::read_to_string(store.object_path(hash)).map_err(|source| StepError::Io {
                action: "read",
                path: store.object_path(hash),
                source,
            })?;
            serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|report| report.get("metrics").cloned())
                .unwrap_or(serde_json::Value::Null)
        }
        None => serde_json::Value::Null,
    };
    let alias = step.params.get("alias").and_then(|value| value.as_str()).unwrap_or("staging");
    let source_model = step.params.get("source_model").and_then(|value| value.as_str()).unwrap_or_default();
    let mut connection = store.connect().map_err(internal)?;
    let version = registry::register(
        store,
        &mut connection,
        &NewVersion {
            name: &step.name,
            run_id: request.run_id,
            step_id: &step.id,
            source_model,
            model_hash,
            preprocess_hash: object("preprocess"),
            evaluation_hash: object("evaluation"),
            metrics: metrics.clone(),
            spec_hash: &plan.spec.hash,
            alias,
        },
    )
    .map_err(internal)?;
    let document = json!({
        "name": step.name,
        "version": version,
        "alias": alias,
        "model": model_hash,
        "preprocess": object("preprocess"),
        "evaluation": object("evaluation"),
        "metrics": metrics,
        "run": request.run_id,
        "spec_hash": plan.spec.hash,
    });
    let path = output_paths
        .get("version")
        .ok_or_else(|| StepError::Internal(format!("`{}` has no `version` output", step.id)))?;
    let text = serde_json::to_string_pretty(&document).unwrap_or_default();
    std::fs::write(path, text).map_err(|source| StepError::Io { action: "write", path: path.clone(), source })?;
    Ok(StepResult {
        rows: None,
        metrics: BTreeMap::from([("version".to_string(), version as f64)]),
        notes: vec![format!("registered {}@{version} as `{alias}`", step.name)],
        ..StepResult::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn an_output_linked_to_an_input_takes_its_hash_and_a_copy_does_not() {
        let (dir, store) = crate::test_support::temp_store();
        let object = crate::test_support::object(&store, b"rows");
        let scratch = store.scratch().expect("scratch");
        let request = StepRequest {
            run_id: 1,
            project_dir: dir.path(),
            inputs: [("data".to_string(), crate::test_support::output("table", &object))].into_iter().collect(),
            force: false,
            reproduce: None,
            threads: 1,
        };
        let linked = scratch.path().join("linked");
        std::fs::hard_link(store.object_path(&object.hash), &linked).expect("link");
        assert_eq!(input_linked(&store, &linked, &request), Some(object.clone()));
        let copied = scratch.path().join("copied");
        std::fs::copy(store.object_path(&object.hash), &copied).expect("copy");
        assert_eq!(input_linked(&store, &copied, &request), None, "a copy is hashed like any output");
        // Storing the link leaves the one object.
        assert_eq!(store.put_hashed(&linked, &object).expect("stored"), object);
        assert!(!linked.exists() && store.has(&object.hash));
    }
}
