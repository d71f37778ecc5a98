//! Which plan steps a target runs, and what follows from that for every target: the plan must
//! not make a task wait for a step no target runs, the steps left out are noted, and each task
//! gets the `(secret)` and `(env)` values its step uses.

use mlops_compiler::plan::{Plan, SecretRef, Step};

use crate::{EmitError, Target};

/// Whether a target runs `step`: batch steps, except monitors (which watch a served model and
/// run with `mlopsc monitor`).
pub(crate) fn runs(step: &Step) -> bool {
    step.batch && step.kind != "monitor"
}

/// Refuses a plan where a step the target runs depends on one it leaves out.
///
/// The language gives nothing a way to read from a service or a monitor; a plan where a batch
/// step depends on one cannot run on any target, and saying so beats a task that fails later.
pub(crate) fn check_runnable(plan: &Plan, target: Target) -> Result<(), EmitError> {
    for step in plan.steps.iter().filter(|step| runs(step)) {
        if let Some(producer) = step.depends_on.iter().find(|id| plan.step(id).is_some_and(|producer| !runs(producer)))
        {
            return Err(EmitError::UnrunDependency { target, step: step.id.clone(), producer: producer.clone() });
        }
    }
    Ok(())
}

/// One note per step the target leaves out, saying how to run it instead.
pub(crate) fn left_out_notes(plan: &Plan, target: Target) -> impl Iterator<Item = String> + '_ {
    plan.steps.iter().filter(|step| !runs(step)).map(move |step| {
        if step.batch {
            format!(
                "{target}: left out `{}`: it watches a served model; run it with `mlopsc monitor {}`",
                step.id, step.name
            )
        } else {
            format!("{target}: left out `{}`: a service, not a batch step; run it with `mlopsc serve`", step.id)
        }
    })
}

/// Whether `step` needs `reference` when it runs: it names it, or the store or the tracking
/// (which every step opens) does.
pub(crate) fn uses(step: &Step, reference: &SecretRef) -> bool {
    reference.used_by.iter().any(|user| user == &step.id || user == "store" || user == "tracking")
}

/// The `(secret)` and `(env)` names `step` needs, each sorted.
pub(crate) fn references(plan: &Plan, step: &Step) -> (Vec<String>, Vec<String>) {
    names_by_kind(plan.secrets.iter().filter(|reference| uses(step, reference)))
}

/// The `(secret)` and `(env)` names among `references`, each sorted, without repeats.
pub(crate) fn names_by_kind<'plan>(references: impl Iterator<Item = &'plan SecretRef>) -> (Vec<String>, Vec<String>) {
    let mut secrets = Vec::new();
    let mut variables = Vec::new();
    for reference in references {
        let list = if reference.kind == "secret" { &mut secrets } else { &mut variables };
        if !list.contains(&reference.name) {
            list.push(reference.name.clone());
        }
    }
    secrets.sort();
    variables.sort();
    (secrets, variables)
}
