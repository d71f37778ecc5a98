//! Pure emitters from a compiled Plan to orchestrator files: GitHub Actions, Airflow, Kubeflow.
//!
//! [`build`] turns a [`Plan`] (and the spec's syntax tree, for diagnostic spans) into an
//! [`Emitted`]: the files to write, as paths relative to the output folder and their bytes, the
//! notes to print (plan nodes a target leaves out) and the diagnostics (what a target cannot
//! express). It does no IO and never prints; the binary reads template overrides and writes files.
//!
//! One module per target (`github_actions`; `airflow` and `kubeflow` slot in beside it), each a
//! function `emit(&Plan, &ast::Spec, &Options) -> Result<Emitted, EmitError>` rendering `tera`
//! templates embedded from `targets/templates/<target>/`.

mod airflow;
mod batch;
mod collisions;
mod diagnostic;
mod github_actions;
mod header;
mod kubeflow;
mod names;
mod python;
mod shell;
mod spans;
mod store_mode;
mod target_options;
mod templates;
mod yaml;

use mlops_compiler::ast;
use mlops_compiler::plan::Plan;
use thiserror::Error;

pub use diagnostic::TargetDiagnostic;
pub use templates::EmbeddedTemplate;

/// The plan format version these emitters read; they refuse any other.
pub const SUPPORTED_PLAN_VERSION: u32 = mlops_compiler::plan::PLAN_VERSION;

/// An orchestrator `mlopsc build` compiles a plan for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Target {
    /// GitHub Actions workflows under `.github/workflows/`.
    GithubActions,
    /// An Apache Airflow DAG file.
    Airflow,
    /// A Kubeflow Pipelines v2 PipelineSpec.
    Kubeflow,
}

impl Target {
    /// Every target, in the order `--target all` builds them.
    pub const ALL: [Target; 3] = [Target::GithubActions, Target::Airflow, Target::Kubeflow];

    /// Its name on the command line and in `target "…"` nodes.
    pub fn name(self) -> &'static str {
        match self {
            Target::GithubActions => "github-actions",
            Target::Airflow => "airflow",
            Target::Kubeflow => "kubeflow",
        }
    }

    /// The target called `name`, if any.
    pub fn from_name(name: &str) -> Option<Target> {
        Target::ALL.into_iter().find(|target| target.name() == name)
    }

    /// The templates it renders, embedded in the binary; `--templates DIR` may replace any of
    /// them with `DIR/<name>`.
    pub fn templates(self) -> &'static [EmbeddedTemplate] {
        match self {
            Target::GithubActions => github_actions::TEMPLATES,
            Target::Airflow => airflow::TEMPLATES,
            // Kubeflow writes its PipelineSpec with a YAML writer, not a template.
            Target::Kubeflow => &[],
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.name())
    }
}

/// A template that replaces an embedded one (read by the caller from `--templates DIR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateOverride {
    /// The embedded template's name, such as `github-actions/workflow.yml.tera`.
    pub name: String,
    /// Its text.
    pub text: String,
    /// Where it came from, for messages (the file's path as the user would write it).
    pub origin: String,
}

/// What the emitters need to know beyond the plan: where things are relative to the output
/// folder, which the generated files treat as the repository root.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Options {
    /// The spec's path relative to the output folder, `/`-separated (`mlops.kdl`,
    /// `examples/churn/mlops.kdl`).
    pub spec_path: String,
    /// Every target being built in this run, so generated checks rebuild the same set.
    pub targets: Vec<Target>,
    /// The `--templates` folder relative to the output folder, when one was given, so
    /// generated checks rebuild with the same templates.
    pub templates_dir: Option<String>,
    /// Templates that replace embedded ones.
    pub overrides: Vec<TemplateOverride>,
}

impl Options {
    /// The folder holding the spec, relative to the output folder: `.` or `examples/churn`.
    pub fn spec_dir(&self) -> &str {
        match self.spec_path.rsplit_once('/') {
            Some((dir, _)) if !dir.is_empty() => dir,
            _ => ".",
        }
    }

    /// `path` (relative to the spec's folder, as the plan writes data paths) relative to the
    /// output folder.
    pub fn from_spec_dir(&self, path: &str) -> String {
        let path = path.strip_prefix("./").unwrap_or(path);
        match self.spec_dir() {
            "." => path.to_string(),
            dir => format!("{dir}/{path}"),
        }
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// Its path relative to the output folder, `/`-separated.
    pub path: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What building produced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Emitted {
    /// The files, sorted by path; the plan JSON among them.
    pub files: Vec<OutputFile>,
    /// Plan nodes a target leaves out, and other things worth knowing; each starts with the
    /// target's name.
    pub notes: Vec<String>,
    /// What a target cannot express, with spans on the spec.
    pub diagnostics: Vec<TargetDiagnostic>,
}

impl Emitted {
    /// Whether any diagnostic is an error: then nothing should be written.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(TargetDiagnostic::is_error)
    }
}

/// Why nothing could be emitted at all (as opposed to a diagnostic on the spec).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EmitError {
    /// The plan is in a format these emitters do not read.
    #[error("the plan has plan_version {found}, but this mlopsc emits from plan_version {expected}")]
    PlanVersion {
        /// What the plan says.
        found: u32,
        /// [`SUPPORTED_PLAN_VERSION`].
        expected: u32,
    },
    /// A step the target runs depends on a step it leaves out (a service or a monitor).
    #[error("`{step}` depends on `{producer}`, which the `{target}` target does not run")]
    UnrunDependency {
        /// The target.
        target: Target,
        /// The dependent step.
        step: String,
        /// The step it depends on.
        producer: String,
    },
    /// A template override names no embedded template.
    #[error("`{origin}` replaces no template; the templates are {known}")]
    UnknownTemplate {
        /// The file.
        origin: String,
        /// The templates that exist, for the message.
        known: String,
    },
    /// A template does not parse, or fails to render.
    #[error("template `{origin}`: {message}")]
    Template {
        /// The embedded template's name, or the override's file.
        origin: String,
        /// Tera's report (with the template line when it has one).
        message: String,
    },
}

/// Where the plan JSON is written, relative to the output folder: `<project>.plan.json`.
/// Every generated task runs `mlopsc step run STEP --plan` on this file.
pub fn plan_file(plan: &Plan) -> String {
    format!("{}.plan.json", plan.project.name)
}

/// Compiles `plan` for every target in `targets`, plus the plan JSON they all run.
///
/// `spec` is the spec's syntax tree, used only to put spans on diagnostics. Files are sorted by
/// path; the same inputs always give the same bytes.
pub fn build(targets: &[Target], plan: &Plan, spec: &ast::Spec, options: &Options) -> Result<Emitted, EmitError> {
    if plan.plan_version != SUPPORTED_PLAN_VERSION {
        return Err(EmitError::PlanVersion { found: plan.plan_version, expected: SUPPORTED_PLAN_VERSION });
    }
    templates::check_overrides(&options.overrides)?;
    let mut emitted = Emitted::default();
    let mut done = Vec::new();
    for &target in targets {
        if done.contains(&target) {
            continue;
        }
        done.push(target);
        let part = match target {
            Target::GithubActions => github_actions::emit(plan, spec, options)?,
            Target::Kubeflow => kubeflow::emit(plan, spec, options)?,
            Target::Airflow => airflow::emit(plan, spec, options)?,
        };
        emitted.files.extend(part.files);
        emitted.notes.extend(part.notes);
        emitted.diagnostics.extend(part.diagnostics);
    }
    emitted.files.push(OutputFile { path: plan_file(plan), bytes: plan.to_json().into_bytes() });
    emitted.files.sort_by(|left, right| left.path.cmp(&right.path));
    emitted.diagnostics.sort_by_key(TargetDiagnostic::offset);
    Ok(emitted)
}
