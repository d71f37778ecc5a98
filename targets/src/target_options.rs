//! Reading the options of a spec's `target "…"` node from the plan, as every emitter's settings
//! do: text options, integer options, and `retries` with the vocabulary's default.

use serde_json::Value as Json;

use mlops_compiler::plan::{Plan, TargetInfo};

/// The options of one `target "kind"` node; every lookup is `None` when the spec has no such
/// node.
pub(crate) struct TargetOptions<'plan> {
    target: Option<&'plan TargetInfo>,
}

impl<'plan> TargetOptions<'plan> {
    /// The options of the plan's `target "kind"`.
    pub(crate) fn of(plan: &'plan Plan, kind: &str) -> TargetOptions<'plan> {
        TargetOptions { target: plan.targets.iter().find(|target| target.kind == kind) }
    }

    /// Option `name`, as the plan holds it.
    pub(crate) fn option(&self, name: &str) -> Option<&'plan Json> {
        self.target.and_then(|target| target.options.get(name))
    }

    /// Option `name`, when it is text.
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        self.option(name).and_then(Json::as_str).map(str::to_string)
    }

    /// `retries`, or the vocabulary's default when it is not written.
    pub(crate) fn retries(&self) -> u64 {
        self.option("retries").and_then(Json::as_u64).unwrap_or_else(default_retries)
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
