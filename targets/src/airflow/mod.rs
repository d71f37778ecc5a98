//! The Airflow target: `dags/<dag_id>.py`, one DAG per spec with a task per batch step
//! (`BashOperator`, or `KubernetesPodOperator` when the target names an `image`), for Airflow 3
//! and, where the import paths allow, Airflow 2.
//!
//! Every task runs the step contract (`mlopsc step run STEP --plan …`) on the plan JSON that
//! `mlopsc build` writes beside the DAG folder, so a DAG run executes the same code, with the
//! same cache keys, as `mlopsc run`.

mod checks;
mod dag;

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::{Plan, Step, TargetInfo};

use crate::header::header;
use crate::templates::{EmbeddedTemplate, Engine};
use crate::{EmitError, Emitted, Options, OutputFile, Target};

/// How the target is named in messages.
pub(crate) const TARGET_NAME: &str = "Airflow";

/// The target's name in `target "…"` nodes and on the command line.
const KIND: &str = "airflow";

const DAG_TEMPLATE: &str = "airflow/dag.py.tera";

/// The templates, embedded.
pub(crate) const TEMPLATES: &[EmbeddedTemplate] =
    &[EmbeddedTemplate { name: DAG_TEMPLATE, text: include_str!("../../templates/airflow/dag.py.tera") }];

/// How long Airflow waits before retrying a failed task, in minutes (Airflow's own default;
/// the language has no option for it yet).
const RETRY_DELAY_MINUTES: u64 = 5;

/// The `target "airflow"` settings, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The DAG id.
    pub(crate) dag_id: String,
    /// The container image every task runs in (`KubernetesPodOperator`); `None` runs the tasks
    /// with `BashOperator` on the workers.
    pub(crate) image: Option<String>,
    /// The Kubernetes namespace of the pods.
    pub(crate) namespace: Option<String>,
    /// Retries of each task.
    pub(crate) retries: u64,
}

impl Settings {
    fn from_plan(plan: &Plan) -> Settings {
        let target: Option<&TargetInfo> = plan.targets.iter().find(|target| target.kind == KIND);
        let option = |name: &str| target.and_then(|target| target.options.get(name));
        let text = |name: &str| option(name).and_then(|value| value.as_str()).map(str::to_string);
        Settings {
            dag_id: text("dag_id").unwrap_or_else(|| dag_id_of(&plan.project.name)),
            image: text("image"),
            namespace: text("namespace"),
            retries: option("retries").and_then(|value| value.as_u64()).unwrap_or_else(default_retries),
        }
    }
}

/// A DAG id from a project name: Airflow takes letters, digits, `_`, `-` and `.`; anything else
/// (possible only in a project named after its spec's file) becomes `_`.
fn dag_id_of(name: &str) -> String {
    let id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') { c } else { '_' }).collect();
    if id.is_empty() {
        "mlops".to_string()
    } else {
        id
    }
}

/// The vocabulary's default for `retries`.
fn default_retries() -> u64 {
    mlops_stdlib::vocabulary::top_level("target")
        .and_then(|node| node.option("retries"))
        .and_then(|option| match option.default {
            Some(mlops_stdlib::signature::Literal::Int(retries)) => u64::try_from(retries).ok(),
            _ => None,
        })
        .unwrap_or(0)
}

/// The DAG file of `plan`.
pub(crate) fn emit(plan: &Plan, spec: &Spec, options: &Options) -> Result<Emitted, EmitError> {
    // Nothing in the language reads from a service or a monitor; a batch step that depends on
    // one could never run here, and saying so beats a task that fails later.
    for step in plan.steps.iter().filter(|step| runs(step)) {
        if let Some(producer) = step.depends_on.iter().find(|id| plan.step(id).is_some_and(|producer| !runs(producer)))
        {
            return Err(EmitError::UnrunDependency {
                target: Target::Airflow,
                step: step.id.clone(),
                producer: producer.clone(),
            });
        }
    }
    let settings = Settings::from_plan(plan);
    let engine = Engine::new(TEMPLATES, &options.overrides)?;
    let mut emitted = Emitted { diagnostics: checks::check(plan, spec, &settings), ..Emitted::default() };
    let context = dag::context(plan, options, &settings, &mut emitted.notes);
    let body = engine.render(DAG_TEMPLATE, &context)?;
    let mut text = header(plan, options, "#");
    text.push_str(body.trim_start_matches('\n'));
    if !text.ends_with('\n') {
        text.push('\n');
    }
    emitted.files.push(OutputFile { path: context.dag_path.clone(), bytes: text.into_bytes() });
    Ok(emitted)
}

/// Whether Airflow runs `step`: batch steps, except monitors (which watch a served model and
/// run with `mlopsc monitor`).
pub(crate) fn runs(step: &Step) -> bool {
    step.batch && step.kind != "monitor"
}
