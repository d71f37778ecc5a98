//! What GitHub Actions cannot express in a plan, as diagnostics on the spec: unsupported cron
//! syntax, options it ignores, reserved secret names, names it would merge, too many inputs.

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::Plan;

use super::{schedule, workflow, KIND, TARGET_NAME};
use crate::collisions::{self, Naming};
use crate::{spans, TargetDiagnostic};

/// `workflow_dispatch` takes at most this many inputs.
pub(super) const MAX_INPUTS: usize = 10;

/// Every diagnostic of the GitHub Actions target for `plan`.
pub(super) fn check(plan: &Plan, spec: &Spec) -> Vec<TargetDiagnostic> {
    let mut diagnostics = Vec::new();
    for info in &plan.schedules {
        diagnostics.extend(schedule::check(info, spec));
    }
    ignored_options(plan, spec, &mut diagnostics);
    reserved_names(plan, spec, &mut diagnostics);
    collisions(plan, spec, &mut diagnostics);
    for name in plan.params.keys().skip(MAX_INPUTS) {
        diagnostics.push(TargetDiagnostic::TooManyInputs {
            target: TARGET_NAME.to_string(),
            name: name.clone(),
            limit: MAX_INPUTS,
            span: spans::param(spec, name),
            help: format!(
                "manual runs take the first {MAX_INPUTS} parameters (by name) as inputs; this one keeps its value from the spec"
            ),
        });
    }
    diagnostics
}

/// Options of `target "github-actions"` that only other targets use.
fn ignored_options(plan: &Plan, spec: &Spec, diagnostics: &mut Vec<TargetDiagnostic>) {
    let Some(target) = plan.targets.iter().find(|target| target.kind == KIND) else { return };
    for (option, users) in [("dag-id", "Airflow"), ("namespace", "Kubeflow")] {
        if target.options.contains_key(&option.replace('-', "_")) {
            if let Some(span) = spans::target_option(spec, KIND, option) {
                diagnostics.push(TargetDiagnostic::IgnoredOption {
                    target: TARGET_NAME.to_string(),
                    option: option.to_string(),
                    span,
                    help: format!("`{option}` is for {users}; remove it from `target \"{KIND}\"`"),
                });
            }
        }
    }
}

/// Secrets and variables GitHub does not let anyone create.
fn reserved_names(plan: &Plan, spec: &Spec, diagnostics: &mut Vec<TargetDiagnostic>) {
    for reference in &plan.secrets {
        if reference.name.to_ascii_uppercase().starts_with("GITHUB_") {
            let kind = if reference.kind == "secret" { "secret" } else { "variable" };
            diagnostics.push(TargetDiagnostic::ReservedName {
                target: TARGET_NAME.to_string(),
                kind: kind.to_string(),
                name: reference.name.clone(),
                prefix: "GITHUB_".to_string(),
                span: spans::reference(spec, &reference.kind, &reference.name),
                help: format!(
                    "GitHub refuses {kind}s whose names start with `GITHUB_`; rename it, such as `MLOPS_{}`",
                    &reference.name["GITHUB_".len()..]
                ),
            });
        }
    }
}

/// Step ids and parameter names that differ only in case: GitHub job ids and inputs are
/// case-insensitive.
fn collisions(plan: &Plan, spec: &Spec, diagnostics: &mut Vec<TargetDiagnostic>) {
    let jobs = Naming {
        target: TARGET_NAME,
        thing: "job id",
        key: |step_id| workflow::job_id(step_id).to_ascii_lowercase(),
        help: |_| "GitHub job ids ignore case; rename one of the two".to_string(),
    };
    collisions::steps(plan, spec, &jobs, diagnostics);
    let inputs = Naming {
        target: TARGET_NAME,
        thing: "input",
        key: str::to_ascii_lowercase,
        help: |_| "GitHub workflow inputs ignore case; rename one of the two".to_string(),
    };
    collisions::params(plan.params.keys().take(MAX_INPUTS), spec, &inputs, diagnostics);
}
