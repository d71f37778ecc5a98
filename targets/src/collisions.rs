//! Names a target would merge: two steps that give the same task (or job) name, two parameters
//! that give the same input, reported once per pair with both declarations.

use std::collections::BTreeMap;

use mlops_compiler::ast::Spec;
use mlops_compiler::plan::{Plan, Step};

use crate::batch::runs;
use crate::{spans, TargetDiagnostic};

/// How a target names one kind of thing, and what to tell the user when two names meet.
pub(crate) struct Naming {
    /// The target's display name.
    pub(crate) target: &'static str,
    /// What the target calls the name: "job id", "task name", "input".
    pub(crate) thing: &'static str,
    /// The name the target gives a step id or parameter; two equal keys are one name.
    pub(crate) key: fn(&str) -> String,
    /// The help line, given the shared key.
    pub(crate) help: fn(&str) -> String,
}

/// Steps the target runs whose names meet under `naming`.
pub(crate) fn steps(plan: &Plan, spec: &Spec, naming: &Naming, diagnostics: &mut Vec<TargetDiagnostic>) {
    let mut seen: BTreeMap<String, &Step> = BTreeMap::new();
    // A dataset gives two steps (ingest, validate); one report per pair of nodes is enough.
    let mut reported = Vec::new();
    for step in plan.steps.iter().filter(|step| runs(step)) {
        let key = (naming.key)(&step.id);
        match seen.get(&key) {
            Some(first) if reported.contains(&(spans::step_name(spec, step), spans::step_name(spec, first))) => {}
            Some(first) => {
                reported.push((spans::step_name(spec, step), spans::step_name(spec, first)));
                diagnostics.push(TargetDiagnostic::NameCollision {
                    target: naming.target.to_string(),
                    what: "step".to_string(),
                    name: step.id.clone(),
                    other: first.id.clone(),
                    thing: naming.thing.to_string(),
                    span: spans::step_name(spec, step),
                    first: spans::step_name(spec, first),
                    help: (naming.help)(&key),
                });
            }
            None => {
                seen.insert(key, step);
            }
        }
    }
}

/// Parameters among `names` whose names meet under `naming`.
pub(crate) fn params<'plan>(
    names: impl Iterator<Item = &'plan String>,
    spec: &Spec,
    naming: &Naming,
    diagnostics: &mut Vec<TargetDiagnostic>,
) {
    let mut seen: BTreeMap<String, &str> = BTreeMap::new();
    for name in names {
        let key = (naming.key)(name);
        match seen.get(&key) {
            Some(first) => diagnostics.push(TargetDiagnostic::NameCollision {
                target: naming.target.to_string(),
                what: "parameter".to_string(),
                name: name.clone(),
                other: first.to_string(),
                thing: naming.thing.to_string(),
                span: spans::param(spec, name),
                first: spans::param(spec, first),
                help: (naming.help)(&key),
            }),
            None => {
                seen.insert(key, name);
            }
        }
    }
}
