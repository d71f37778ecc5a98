//! The Plan IR's serializable form: the versioned contract between the compiler, the runtime
//! and the targets. Every type that reaches `plan.json` lives here and nowhere else.
//!
//! Maps are `BTreeMap` so keys serialize sorted; steps are in topological order with a name
//! tie-break; nothing holds a timestamp or an absolute path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// The version of this format; bumped on every incompatible change.
pub const PLAN_VERSION: u32 = 1;

/// A compiled spec.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// [`PLAN_VERSION`].
    pub plan_version: u32,
    /// The mlopsc version that compiled it.
    pub mlopsc_version: String,
    /// The spec it was compiled from.
    pub spec: SpecInfo,
    /// The project.
    pub project: ProjectInfo,
    /// Declared parameters and their values.
    pub params: BTreeMap<String, ParamInfo>,
    /// Where the store lives.
    pub store: Json,
    /// Where runs are mirrored.
    pub tracking: TrackingInfo,
    /// Steps in topological order, ties broken by id.
    pub steps: Vec<Step>,
    /// Schedules.
    pub schedules: Vec<ScheduleInfo>,
    /// Targets with their options, defaults filled in.
    pub targets: Vec<TargetInfo>,
    /// Every `(env)` and `(secret)` reference and who uses it.
    pub secrets: Vec<SecretRef>,
}

/// The spec file a plan came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpecInfo {
    /// Its file name (no directory, so plans are equal on every machine).
    pub file: String,
    /// `blake3:` hash of its bytes.
    pub hash: String,
}

/// The project.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectInfo {
    /// Its name (the spec's file stem when there is no `project` node).
    pub name: String,
    /// Its version.
    pub version: String,
    /// What it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Who answers for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

/// A declared parameter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParamInfo {
    /// `int`, `float`, `bool` or `string`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Its value.
    pub value: Json,
}

/// Where runs are mirrored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackingInfo {
    /// `local` or `mlflow`.
    pub backend: String,
    /// Options (`uri` as an `{"env": …}` or `{"secret": …}` reference when so written).
    pub options: BTreeMap<String, Json>,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnInfo {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it may hold nulls.
    pub nullable: bool,
    /// Category levels, when declared.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
}

/// Where an input comes from.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct OutputRef {
    /// The producing step's id.
    pub step: String,
    /// The output's name.
    pub output: String,
}

/// A typed input of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Input {
    /// The input's name inside the step.
    pub name: String,
    /// The upstream output.
    pub from: OutputRef,
    /// `table`, `model` or `file`.
    pub kind: String,
    /// Its columns, when it is a table whose columns are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnInfo>>,
}

/// A typed output of a step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Output {
    /// The output's name.
    pub name: String,
    /// `table`, `model` or `file`.
    pub kind: String,
    /// Its columns, when it is a table whose columns are known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnInfo>>,
}

/// One executable step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// `kind.name`, unique in the plan.
    pub id: String,
    /// The step kind: `ingest`, `validate`, `transform`, `split`, `tune`, `train`, `evaluate`,
    /// `register`, `package`, `command`, `monitor` or `serve`.
    pub kind: String,
    /// The spec node's name.
    pub name: String,
    /// Whether it runs to completion (everything but `serve`).
    pub batch: bool,
    /// Steps that must finish first, sorted.
    pub depends_on: Vec<String>,
    /// Resolved parameters, defaults filled in.
    pub params: BTreeMap<String, Json>,
    /// Which parameters came from `(param)` references: option path → parameter name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub param_refs: BTreeMap<String, String>,
    /// Inputs.
    pub inputs: Vec<Input>,
    /// Outputs.
    pub outputs: Vec<Output>,
    /// `blake3:` hash of kind, params, inputs, outputs and the mlopsc version.
    pub fingerprint: String,
}

/// A schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleInfo {
    /// Its name.
    pub name: String,
    /// Five-field cron, UTC.
    pub cron: String,
}

/// A target and its options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    /// `github-actions`, `airflow` or `kubeflow`.
    pub kind: String,
    /// Options, defaults filled in.
    pub options: BTreeMap<String, Json>,
}

/// An `(env)` or `(secret)` reference.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SecretRef {
    /// `env` or `secret`.
    pub kind: String,
    /// The variable or secret name.
    pub name: String,
    /// Step ids (or `store`, `tracking`) that use it, sorted.
    pub used_by: Vec<String>,
}

impl Plan {
    /// The plan as pretty JSON with a final newline: the stable on-disk form.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_else(|error| {
            // Every type here serializes; failing is a bug in this module.
            panic!("internal error: the plan does not serialize: {error}")
        });
        text.push('\n');
        text
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<&Step> {
        self.steps.iter().find(|step| step.id == id)
    }
}
