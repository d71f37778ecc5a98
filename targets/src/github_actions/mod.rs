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
use mlops_compiler::plan::{Plan, TargetInfo};

use crate::header::header;
use crate::templates::{EmbeddedTemplate, Engine};
use crate::{EmitError, Emitted, Options, OutputFile};

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
        let target: Option<&TargetInfo> = plan.targets.iter().find(|target| target.kind == KIND);
        let option = |name: &str| target.and_then(|target| target.options.get(name));
        let text = |name: &str| option(name).and_then(|value| value.as_str()).map(str::to_string);
        let image = text("image");
        let install = match text("install") {
            Some(command) => Some(command),
            None if image.is_some() => None,
            None => Some(format!("cargo install mlopsc --locked --version {}", plan.mlopsc_version)),
        };
        Settings {
            runner: text("runner").unwrap_or_else(|| "ubuntu-latest".to_string()),
            image,
            install,
            retries: option("retries").and_then(|value| value.as_u64()).unwrap_or_else(default_retries),
        }
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

/// The workflow files of `plan`.
pub(crate) fn emit(plan: &Plan, spec: &Spec, options: &Options) -> Result<Emitted, EmitError> {
    // The language gives nothing a way to read from a service or a monitor; a plan where a
    // batch step depends on one cannot run here, and saying so beats a job that fails later.
    for step in plan.steps.iter().filter(|step| runs(step)) {
        if let Some(producer) = step.depends_on.iter().find(|id| plan.step(id).is_some_and(|producer| !runs(producer)))
        {
            return Err(EmitError::UnrunDependency {
                target: crate::Target::GithubActions,
                step: step.id.clone(),
                producer: producer.clone(),
            });
        }
    }
    let settings = Settings::from_plan(plan);
    let engine = Engine::new(TEMPLATES, &options.overrides)?;
    let mut emitted = Emitted { diagnostics: checks::check(plan, spec), ..Emitted::default() };
    let context = workflow::context(plan, options, &settings, &mut emitted.notes);
    let head = header(plan, options, "#");
    for (template, path) in [(WORKFLOW_TEMPLATE, &context.workflow_path), (CHECK_TEMPLATE, &context.check_path)] {
        let body = engine.render(template, &context)?;
        let mut text = head.clone();
        text.push_str(body.trim_start_matches('\n'));
        if !text.ends_with('\n') {
            text.push('\n');
        }
        emitted.files.push(OutputFile { path: path.clone(), bytes: text.into_bytes() });
    }
    Ok(emitted)
}

/// Whether GitHub Actions runs `step`: batch steps, except monitors (which watch a served model
/// and run with `mlopsc monitor`).
pub(crate) fn runs(step: &mlops_compiler::plan::Step) -> bool {
    step.batch && step.kind != "monitor"
}
