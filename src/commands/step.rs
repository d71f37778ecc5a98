//! `mlopsc step run STEP --plan plan.json`: one plan step, the contract orchestrator tasks call.
//!
//! Inputs come from `--input NAME=PATH` files or, when not given, from the store (the latest
//! successful output of the producing step); outputs go into the store and, with
//! `--output NAME=PATH`, are also copied to PATH. The step runs through the same executor code
//! as `mlopsc run`, so caching and records are identical.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Subcommand;
use mlops_compiler::plan::{Plan, PLAN_VERSION};
use mlops_runtime::executor::{self, Status, StepRequest};
use mlops_runtime::records::{self, NewRun, OutputRecord};

use super::location;
use super::run::{cancellation, parse_assignment, LogFormat, Printer};
use crate::Outcome;

/// `mlopsc step …`.
#[derive(Debug, Subcommand)]
pub(crate) enum StepCommand {
    /// Run one step of a compiled plan
    Run {
        /// The step id, such as `train.churn`
        step: String,
        /// The plan JSON (`mlopsc plan --json > plan.json`)
        #[arg(long, value_name = "FILE")]
        plan: PathBuf,
        /// The store folder (default: the plan's store, relative to --project-dir)
        #[arg(long, value_name = "DIR")]
        store: Option<PathBuf>,
        /// The folder paths in the plan are relative to (default: the plan file's folder)
        #[arg(long, value_name = "DIR")]
        project_dir: Option<PathBuf>,
        /// Read input NAME from PATH instead of the store (repeatable)
        #[arg(long = "input", value_name = "NAME=PATH", value_parser = parse_assignment)]
        inputs: Vec<(String, String)>,
        /// Also copy output NAME to PATH (repeatable)
        #[arg(long = "output", value_name = "NAME=PATH", value_parser = parse_assignment)]
        outputs: Vec<(String, String)>,
        /// Override a parameter as `mlopsc run --set` does: the spec the plan was compiled from
        /// (found beside it, under --project-dir) is compiled again with the value (repeatable)
        #[arg(long = "set", value_name = "NAME=VALUE", value_parser = parse_assignment)]
        set: Vec<(String, String)>,
        /// Run even when the result is cached
        #[arg(long)]
        force: bool,
        /// Progress format
        #[arg(long, value_enum, default_value_t = LogFormat::Human)]
        log_format: LogFormat,
    },
}

/// The plan compiled again from its spec with `--set` values, exactly as `mlopsc run --set`
/// compiles it, so a parameter changes the same step parameters and fingerprints. The spec must
/// be the one the plan came from (same hash).
fn with_params(plan: Plan, project_dir: &std::path::Path, set: &[(String, String)]) -> Result<Plan, Outcome> {
    let spec_path = project_dir.join(&plan.spec.file);
    let recompiled = super::run::compile_spec(&spec_path, set)?;
    if recompiled.spec.hash != plan.spec.hash {
        return Err(error(
            format!(
                "`{}` is not the spec this plan was compiled from (its hash is {}, the plan's {})\nhelp: rebuild the plan (`mlopsc build`) after changing the spec",
                spec_path.display(),
                recompiled.spec.hash,
                plan.spec.hash
            ),
            Outcome::UserError,
        ));
    }
    Ok(recompiled)
}

fn error(message: String, outcome: Outcome) -> Outcome {
    crate::output::stderr_line(&format!("error: {message}"));
    outcome
}

pub(crate) fn run(command: StepCommand) -> Result<(), Outcome> {
    let StepCommand::Run {
        step: step_id,
        plan: plan_path,
        store,
        project_dir,
        inputs,
        outputs,
        set,
        force,
        log_format,
    } = command;
    let text = std::fs::read_to_string(&plan_path).map_err(|source| {
        error(format!("cannot read plan `{}`: {source}", plan_path.display()), Outcome::UsageError)
    })?;
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|value| value.get("plan_version").and_then(|version| version.as_u64()));
    if version != Some(u64::from(PLAN_VERSION)) {
        return Err(error(
            format!(
                "`{}` is not a plan this mlopsc runs (plan_version {}, expected {PLAN_VERSION}); regenerate it with `mlopsc plan --json`",
                plan_path.display(),
                version.map_or_else(|| "missing".to_string(), |version| version.to_string())
            ),
            Outcome::UsageError,
        ));
    }
    let plan: Plan = serde_json::from_str(&text).map_err(|source| {
        error(format!("`{}` is not a valid plan: {source}", plan_path.display()), Outcome::UsageError)
    })?;
    let project_dir = project_dir.unwrap_or_else(|| location::project_dir(&plan_path));
    let plan = if set.is_empty() { plan } else { with_params(plan, &project_dir, &set)? };
    let step = plan.step(&step_id).ok_or_else(|| {
        let ids: Vec<&str> = plan.steps.iter().map(|step| step.id.as_str()).collect();
        error(format!("the plan has no step `{step_id}`; its steps are {}", ids.join(", ")), Outcome::UsageError)
    })?;
    if !step.batch {
        return Err(error(format!("`{step_id}` is a service, not a batch step"), Outcome::UsageError));
    }
    let store_dir = location::store_dir(&plan, &project_dir, store.as_deref())?;
    let store = location::open(&store_dir)?;
    let connection = store.connect().map_err(|source| error(source.to_string(), Outcome::UserError))?;

    let given: BTreeMap<String, String> = inputs.into_iter().collect();
    for name in given.keys() {
        if !step.inputs.iter().any(|input| &input.name == name) {
            let names: Vec<&str> = step.inputs.iter().map(|input| input.name.as_str()).collect();
            return Err(error(
                format!("--input {name}: `{step_id}` has no input `{name}`; its inputs are {}", names.join(", ")),
                Outcome::UsageError,
            ));
        }
    }
    let wanted: BTreeMap<String, String> = outputs.into_iter().collect();
    for name in wanted.keys() {
        if !step.outputs.iter().any(|output| &output.name == name) {
            let names: Vec<&str> = step.outputs.iter().map(|output| output.name.as_str()).collect();
            return Err(error(
                format!("--output {name}: `{step_id}` has no output `{name}`; its outputs are {}", names.join(", ")),
                Outcome::UsageError,
            ));
        }
    }
    let mut resolved = BTreeMap::new();
    for input in &step.inputs {
        let object = match given.get(&input.name) {
            Some(path) => {
                let path = PathBuf::from(path);
                let object = store
                    .put_copy(&path)
                    .map_err(|source| error(format!("--input {}: {source}", input.name), Outcome::UsageError))?;
                OutputRecord { kind: input.kind.clone(), hash: object.hash, bytes: object.bytes }
            }
            None => {
                let past = records::last_success(&store, &connection, &input.from.step)
                    .map_err(|source| error(source.to_string(), Outcome::UserError))?;
                match past.and_then(|past| past.outputs.get(&input.from.output).cloned()) {
                    Some(object) => object,
                    None => {
                        return Err(error(
                            format!(
                                "input `{}` of `{step_id}` comes from `{}.{}`, which is not in the store `{}`; run that step first or pass --input {}=PATH",
                                input.name,
                                input.from.step,
                                input.from.output,
                                store_dir.display(),
                                input.name
                            ),
                            Outcome::UserError,
                        ))
                    }
                }
            }
        };
        resolved.insert(input.name.clone(), object);
    }
    records::reap_abandoned_runs(&store, &connection)
        .map_err(|source| error(source.to_string(), Outcome::UserError))?;
    let (run_id, _lease) = records::begin_held_run(
        &store,
        &connection,
        &NewRun {
            project: plan.project.name.clone(),
            spec_file: plan.spec.file.clone(),
            spec_hash: plan.spec.hash.clone(),
            plan_json: plan.to_json(),
            params_json: serde_json::to_string(&plan.params).unwrap_or_default(),
            command: std::env::args().collect::<Vec<_>>().join(" "),
            reproduces: None,
        },
    )
    .map_err(|source| error(source.to_string(), Outcome::UserError))?;
    let printer = Printer::new(log_format, false, false);
    let cancel = cancellation();
    let threads = std::thread::available_parallelism().map_or(1, |count| count.get());
    let request = StepRequest { run_id, project_dir: &project_dir, inputs: resolved, force, reproduce: None, threads };
    let executed = executor::execute_step(&store, &plan, step, &request, &|event| printer.event(&event), &cancel)
        .map_err(|source| error(source.to_string(), Outcome::UserError))?;
    printer.event(&executor::Event::StepFinished(executed.summary.clone()));
    let status = match executed.summary.status {
        Status::Succeeded | Status::Cached => "succeeded",
        Status::Cancelled => "cancelled",
        _ => "failed",
    };
    records::finish_run(&store, &connection, run_id, status)
        .map_err(|source| error(source.to_string(), Outcome::UserError))?;
    match executed.summary.status {
        Status::Succeeded | Status::Cached => {}
        Status::Cancelled => return Err(Outcome::Interrupted),
        _ => return Err(Outcome::UserError),
    }
    for (name, path) in wanted {
        let object = &executed.outputs[&name];
        let target = PathBuf::from(&path);
        if let Some(parent) = target.parent().filter(|parent| !parent.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| {
                error(format!("cannot create `{}`: {source}", parent.display()), Outcome::UserError)
            })?;
        }
        std::fs::copy(store.object_path(&object.hash), &target).map_err(|source| {
            error(format!("cannot write output `{name}` to `{path}`: {source}"), Outcome::UserError)
        })?;
    }
    Ok(())
}
