//! The GitHub Actions target: `.github/workflows/<project>.yml` runs the plan, one job per batch
//! step, and `.github/workflows/<project>-check.yml` checks the spec on pull requests.
//!
//! Every job runs the step contract (`mlopsc step run STEP --plan …`) on the plan JSON that
//! `mlopsc build` writes beside the workflows, so a workflow run executes the same code, with
//! the same cache keys, as `mlopsc run`.

mod checks;
mod schedule;
mod workflow;

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::Plan;

use crate::batch::check_runnable;
use crate::header::with_header;
use crate::target_options::TargetOptions;
use crate::templates::{EmbeddedTemplate, Engine};
use crate::{EmitError, Emitted, Options, OutputFile, Target};

/// How the target is named in messages.
pub(crate) const TARGET_NAME: &str = "GitHub Actions";

/// The target's name in `target "…"` nodes and on the command line.
const KIND: &str = "github-actions";

const WORKFLOW_TEMPLATE: &str = "github-actions/workflow.yml.tera";
const CHECK_TEMPLATE: &str = "github-actions/check.yml.tera";

/// The templates, embedded.
pub(crate) const TEMPLATES: &[EmbeddedTemplate] = &[
    EmbeddedTemplate {
        name: WORKFLOW_TEMPLATE,
        text: include_str!("../../templates/github-actions/workflow.yml.tera"),
    },
    EmbeddedTemplate { name: CHECK_TEMPLATE, text: include_str!("../../templates/github-actions/check.yml.tera") },
];

/// The `target "github-actions"` settings, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// `runs-on`.
    pub(crate) runner: String,
    /// A container image every job runs in.
    pub(crate) image: Option<String>,
    /// The command that installs mlopsc; `None` when the image is expected to hold it.
    pub(crate) install: Option<String>,
    /// Extra attempts of each step.
    pub(crate) retries: u64,
}

impl Settings {
    fn from_plan(plan: &Plan) -> Settings {
        let options = TargetOptions::of(plan, KIND);
        let image = options.text("image");
        let install = match options.text("install") {
            Some(command) => Some(command),
            None if image.is_some() => None,
            None => Some(format!("cargo install mlopsc --locked --version {}", plan.mlopsc_version)),
        };
        Settings {
            runner: options.text("runner").unwrap_or_else(|| "ubuntu-latest".to_string()),
            image,
            install,
            retries: options.retries(),
        }
    }
}

/// The workflow files of `plan`.
pub(crate) fn emit(plan: &Plan, spec: &Spec, options: &Options) -> Result<Emitted, EmitError> {
    check_runnable(plan, Target::GithubActions)?;
    let settings = Settings::from_plan(plan);
    let engine = Engine::new(TEMPLATES, &options.overrides)?;
    let mut emitted = Emitted { diagnostics: checks::check(plan, spec), ..Emitted::default() };
    let context = workflow::context(plan, options, &settings, &mut emitted.notes);
    for (template, path) in [(WORKFLOW_TEMPLATE, &context.workflow_path), (CHECK_TEMPLATE, &context.check_path)] {
        let body = engine.render(template, &context)?;
        emitted.files.push(OutputFile { path: path.clone(), bytes: with_header(plan, options, &body).into_bytes() });
    }
    Ok(emitted)
}
