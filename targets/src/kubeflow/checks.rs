//! What a Kubeflow PipelineSpec cannot express in a plan, as diagnostics on the spec: a missing
//! image, schedules, options it ignores, names it would merge. (Secret and variable names need
//! no check: the language's names are already valid Kubernetes keys and variable names.)

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::Plan;

use super::{names, Settings, KIND, TARGET_NAME};
use crate::collisions::{self, Naming};
use crate::{spans, TargetDiagnostic};

/// Every diagnostic of the Kubeflow target for `plan`.
pub(super) fn check(plan: &Plan, spec: &Spec, settings: &Settings) -> Vec<TargetDiagnostic> {
    let mut diagnostics = Vec::new();
    if !settings.image_given {
        diagnostics.push(default_image(plan, spec, settings));
    }
    for schedule in &plan.schedules {
        diagnostics.push(TargetDiagnostic::UnsupportedSchedule {
            target: TARGET_NAME.to_string(),
            schedule: schedule.name.clone(),
            span: spans::schedule_cron(spec, &schedule.name).unwrap_or_else(spans::file_start),
            help: format!(
                "a PipelineSpec has no schedule; create a recurring run of the pipeline instead: `kfp recurring-run create --experiment-name {pipeline} --job-name {name} --pipeline-package-path {path} --cron-expression \"0 {cron}\"` (Kubeflow's cron has a seconds field first)",
                pipeline = names::pipeline(plan),
                name = names::dns_label(&schedule.name),
                path = super::pipeline_path(plan),
                cron = schedule.cron,
            ),
        });
    }
    ignored_options(spec, &mut diagnostics);
    collisions(plan, spec, &mut diagnostics);
    diagnostics
}

/// The image is the one thing the pipeline cannot run without: it must hold mlopsc and the
/// project's files. Without one, tasks run in an image named after the project.
fn default_image(plan: &Plan, spec: &Spec, settings: &Settings) -> TargetDiagnostic {
    let node = spans::target_node(spec, KIND).map(|target| target.kind.span);
    let (span, declared) = match (node, &spec.project) {
        (Some(span), _) => (span, true),
        (None, Some(project)) => (project.name.span, false),
        (None, None) => (spans::file_start(), false),
    };
    let fix = if declared {
        "add `image=\"…\"` to `target \"kubeflow\"`".to_string()
    } else {
        "add `target \"kubeflow\" image=\"…\"` to the spec".to_string()
    };
    TargetDiagnostic::DefaultImage {
        target: TARGET_NAME.to_string(),
        image: settings.image.clone(),
        declared,
        span,
        help: format!(
            "every task runs `mlopsc step run` in this image, which must hold mlopsc and the project's files (the spec, `{}`, its data) at its working directory; build and push one, then {fix}",
            crate::plan_file(plan)
        ),
    }
}

/// Options and children of `target "kubeflow"` that only other targets use.
fn ignored_options(spec: &Spec, diagnostics: &mut Vec<TargetDiagnostic>) {
    let Some(target) = spans::target_node(spec, KIND) else { return };
    if let Some(span) = spans::target_option(spec, KIND, "dag-id") {
        diagnostics.push(TargetDiagnostic::IgnoredOption {
            target: TARGET_NAME.to_string(),
            option: "dag-id".to_string(),
            span,
            help: "`dag-id` is for Airflow; remove it from `target \"kubeflow\"`".to_string(),
        });
    }
    for (child, present) in [("runner", target.runner.is_some()), ("install", target.install.is_some())] {
        if present {
            diagnostics.push(TargetDiagnostic::IgnoredOption {
                target: TARGET_NAME.to_string(),
                option: child.to_string(),
                span: target.span,
                help: format!(
                    "`{child}` is for GitHub Actions; Kubeflow tasks run in the target's `image`, which holds mlopsc; remove `{child}` from `target \"kubeflow\"`"
                ),
            });
        }
    }
}

/// Step ids that give the same task name, and parameters that give the same pipeline
/// parameter.
fn collisions(plan: &Plan, spec: &Spec, diagnostics: &mut Vec<TargetDiagnostic>) {
    let tasks = Naming {
        target: TARGET_NAME,
        thing: "task name",
        key: names::task,
        help: |key| {
            format!(
                "Kubeflow task names are lowercase letters, digits and `-` (both are `{key}`); rename one of the two"
            )
        },
    };
    collisions::steps(plan, spec, &tasks, diagnostics);
    let params = Naming {
        target: TARGET_NAME,
        thing: "pipeline parameter",
        key: names::identifier,
        help: |key| format!("Kubeflow pipeline parameters are Python names (both are `{key}`); rename one of the two"),
    };
    collisions::params(plan.params.keys(), spec, &params, diagnostics);
}
