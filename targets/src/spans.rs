//! Where things are written in the spec, so a target's diagnostics point at the user's text.
//! The plan holds no spans; the syntax tree does.

use miette::SourceSpan;
use mlops_compiler::ast::{Item, Spec, Target, Value};
use mlops_compiler::plan::Step;

/// A zero-length span at the start of the file, for the rare thing that has no text of its own.
pub(crate) fn file_start() -> SourceSpan {
    SourceSpan::new(0.into(), 0)
}

/// The `cron="…"` value of schedule `name`.
pub(crate) fn schedule_cron(spec: &Spec, name: &str) -> Option<SourceSpan> {
    spec.items.iter().find_map(|item| match item {
        Item::Schedule(schedule) if schedule.name.value == name => Some(schedule.cron.span),
        _ => None,
    })
}

/// The `target "kind"` node.
pub(crate) fn target_node<'spec>(spec: &'spec Spec, kind: &str) -> Option<&'spec Target> {
    spec.items.iter().find_map(|item| match item {
        Item::Target(target) if target.kind.value == kind => Some(target),
        _ => None,
    })
}

/// The `option=` written on the `target "kind"` node.
pub(crate) fn target_option(spec: &Spec, kind: &str, option: &str) -> Option<SourceSpan> {
    spec.items.iter().find_map(|item| match item {
        Item::Target(target) if target.kind.value == kind => target.options.get(option).map(|value| value.span),
        _ => None,
    })
}

/// The name of the node a plan step comes from.
pub(crate) fn step_name(spec: &Spec, step: &Step) -> SourceSpan {
    let found = spec.items.iter().find_map(|item| {
        let name = match (step.kind.as_str(), item) {
            ("ingest" | "validate", Item::Dataset(node)) => &node.name,
            ("transform", Item::Transform(node)) => &node.name,
            ("split", Item::Split(node)) => &node.name,
            ("train", Item::Train(node)) => &node.name,
            ("tune", Item::Tune(node)) => &node.model,
            ("evaluate", Item::Evaluate(node)) => &node.model,
            ("register", Item::Register(node)) => &node.name,
            ("package", Item::Package(node)) => &node.model,
            ("serve", Item::Serve(node)) => &node.name,
            ("monitor", Item::Monitor(node)) => &node.name,
            ("step", Item::Step(node)) => &node.name,
            _ => return None,
        };
        (name.value == step.name).then_some(name.span)
    });
    found.unwrap_or_else(file_start)
}

/// The declaration of parameter `name` in `params`.
pub(crate) fn param(spec: &Spec, name: &str) -> SourceSpan {
    spec.params.iter().find(|param| param.name.value == name).map_or_else(file_start, |param| param.name.span)
}

/// The first place an `(env)"name"` (`kind` "env") or `(secret)"name"` reference is written:
/// the store, the tracking options, or a custom step's `env`.
pub(crate) fn reference(spec: &Spec, kind: &str, name: &str) -> SourceSpan {
    let matches = |value: &Value| match value {
        Value::Env(found) => kind == "env" && found == name,
        Value::Secret(found) => kind == "secret" && found == name,
        _ => false,
    };
    let store = spec.store.iter().filter(|store| matches(&store.value)).map(|store| store.span);
    let tracking = spec
        .tracking
        .iter()
        .flat_map(|tracking| tracking.options.0.values())
        .filter(|value| matches(&value.value))
        .map(|value| value.span);
    let steps = spec
        .items
        .iter()
        .filter_map(|item| match item {
            Item::Step(step) => Some(step),
            _ => None,
        })
        .flat_map(|step| step.env.iter())
        .filter(|(_, value)| matches(&value.value))
        .map(|(_, value)| value.span);
    store.chain(tracking).chain(steps).min_by_key(|span| span.offset()).unwrap_or_else(file_start)
}
