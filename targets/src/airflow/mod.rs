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
use mlops_compiler::plan::Plan;

use crate::batch::check_runnable;
use crate::header::with_header;
use crate::target_options::TargetOptions;
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
        let options = TargetOptions::of(plan, KIND);
        Settings {
            dag_id: options.text("dag_id").unwrap_or_else(|| dag_id_of(&plan.project.name)),
            image: options.text("image"),
            namespace: options.text("namespace"),
            retries: options.retries(),
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

/// The DAG file of `plan`.
pub(crate) fn emit(plan: &Plan, spec: &Spec, options: &Options) -> Result<Emitted, EmitError> {
    check_runnable(plan, Target::Airflow)?;
    let settings = Settings::from_plan(plan);
    let engine = Engine::new(TEMPLATES, &options.overrides)?;
    let mut emitted = Emitted { diagnostics: checks::check(plan, spec, &settings), ..Emitted::default() };
    let context = dag::context(plan, options, &settings, &mut emitted.notes);
    let body = engine.render(DAG_TEMPLATE, &context)?;
    emitted
        .files
        .push(OutputFile { path: context.dag_path.clone(), bytes: with_header(plan, options, &body).into_bytes() });
    Ok(emitted)
}
