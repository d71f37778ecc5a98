//! The Kubeflow Pipelines v2 target: `kubeflow/<project>.yaml`, a PipelineSpec (the IR YAML that
//! `kfp` compiles Python pipelines to) with one container task per batch step, plus the
//! kfp-kubernetes platform spec that maps secrets onto Kubernetes secrets and ConfigMaps.
//!
//! Every task runs the step contract (`mlopsc step run STEP --plan …`) in the target's image on
//! the plan JSON that `mlopsc build` writes beside the pipeline, so a pipeline run executes the
//! same code, with the same cache keys, as `mlopsc run`.

mod checks;
mod document;
mod names;
mod pipeline;

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::Plan;

use crate::batch::check_runnable;
use crate::header::header;
use crate::target_options::TargetOptions;
use crate::{EmitError, Emitted, Options, OutputFile, Target};

/// How the target is named in messages.
pub(crate) const TARGET_NAME: &str = "Kubeflow";

/// The target's name in `target "…"` nodes and on the command line.
const KIND: &str = "kubeflow";

/// The `target "kubeflow"` settings, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// The container image every task runs in: mlopsc and the project's files.
    pub(crate) image: String,
    /// Whether `image` was written in the spec (otherwise it is the default).
    pub(crate) image_given: bool,
    /// Extra attempts of each task.
    pub(crate) retries: u64,
    /// The Kubernetes namespace the runs are meant for.
    pub(crate) namespace: Option<String>,
}

impl Settings {
    fn from_plan(plan: &Plan) -> Settings {
        let options = TargetOptions::of(plan, KIND);
        let image = options.text("image");
        Settings {
            image_given: image.is_some(),
            image: image.unwrap_or_else(|| names::default_image(plan)),
            retries: options.retries(),
            namespace: options.text("namespace"),
        }
    }
}

/// Where the pipeline is written, relative to the output folder.
pub(crate) fn pipeline_path(plan: &Plan) -> String {
    format!("kubeflow/{}.yaml", plan.project.name)
}

/// The pipeline file of `plan`.
pub(crate) fn emit(plan: &Plan, spec: &Spec, options: &Options) -> Result<Emitted, EmitError> {
    check_runnable(plan, Target::Kubeflow)?;
    let settings = Settings::from_plan(plan);
    let mut emitted = Emitted { diagnostics: checks::check(plan, spec, &settings), ..Emitted::default() };
    let documents = pipeline::documents(plan, options, &settings, &mut emitted.notes);
    let mut text = header(plan, options, "#");
    text.push_str(&pipeline::summary(plan));
    text.push_str(&documents.pipeline.to_yaml());
    if let Some(platform) = &documents.platform {
        text.push_str("---\n");
        text.push_str(&platform.to_yaml());
    }
    emitted.files.push(OutputFile { path: pipeline_path(plan), bytes: text.into_bytes() });
    Ok(emitted)
}
