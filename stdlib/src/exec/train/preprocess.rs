//! The `preprocess` output of `train`: what serving, `evaluate` and `package` need besides the
//! trees — the features in order, the label and its classes, the objective, the raw input
//! schema of a prediction request and the fitted transform chain.
//!
//! ```json
//! {
//!   "format_version": 1,
//!   "label": "churned", "task": "binary", "objective": "binary:logistic",
//!   "features": ["age", "plan_basic", "monthly_charges"],
//!   "classes": [false, true], "threshold": 0.5, "best_iteration": 41,
//!   "input_schema": [{"name": "age", "type": "int", "nullable": true}, …],
//!   "transforms": [{"name": "features", "ops": […], "fitted": {"columns": […], "ops": […]}}]
//! }
//! ```
//!
//! `transforms` copies the `fitted.<transform>` inputs in chain order: the order of the
//! `transforms` param (names, or `{"name", "ops"}` objects) when the plan gives it, then any
//! other `fitted.*` input by name. `input_schema` is, by preference, the plan's
//! `input_schema` param (the columns the chain starts from), the first fitted transform's
//! `input_schema`, or the features themselves with their types in the training table.

use polars::prelude::{DataFrame, DataType};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::booster::XgbParams;
use super::{ModelSpec, TrainingData};
use crate::exec::metrics::{Task, THRESHOLD};
use crate::exec::{StepContext, StepError};

/// The version of this document's shape.
pub const FORMAT_VERSION: u32 = 1;

/// The `preprocess` document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Preprocess {
    /// [`FORMAT_VERSION`].
    pub format_version: u32,
    /// The label column.
    pub label: String,
    /// `binary`, `multiclass` or `regression`.
    pub task: String,
    /// The XGBoost objective.
    pub objective: String,
    /// The model's features, in the order of the model's columns.
    pub features: Vec<String>,
    /// Class `i`'s label value (classification only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub classes: Vec<Json>,
    /// The probability from which a binary prediction is class 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// The saved model's last round (0-based).
    pub best_iteration: u32,
    /// The columns of a prediction request row.
    pub input_schema: Vec<SchemaColumn>,
    /// The fitted transforms, in the order they apply.
    pub transforms: Vec<FittedTransform>,
}

/// A column, as in the plan's schemas.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchemaColumn {
    /// Its name.
    pub name: String,
    /// `int`, `float`, `bool`, `string`, `category`, `date` or `datetime`.
    #[serde(rename = "type")]
    pub ty: String,
    /// Whether it may be null.
    #[serde(default)]
    pub nullable: bool,
    /// A category's levels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
}

/// One transform of the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedTransform {
    /// The transform's name.
    pub name: String,
    /// Its operations as the plan writes them, when the plan gives them to `train`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Json>,
    /// Its `fitted` output.
    pub fitted: Json,
}

impl Preprocess {
    /// Builds the document for a trained model.
    pub(crate) fn build(
        ctx: &StepContext,
        spec: &ModelSpec,
        params: &XgbParams,
        data: &TrainingData,
        best_iteration: u32,
    ) -> Result<Preprocess, StepError> {
        let transforms = fitted_transforms(ctx)?;
        let from_plan: Option<Vec<SchemaColumn>> = ctx.param("input_schema")?;
        let from_transform = transforms
            .first()
            .and_then(|first| first.fitted.get("input_schema"))
            .and_then(|schema| serde_json::from_value::<Vec<SchemaColumn>>(schema.clone()).ok());
        let input_schema = from_plan
            .or(from_transform)
            .unwrap_or_else(|| data.feature_schema.clone())
            .into_iter()
            .filter(|column| column.name != spec.label)
            .collect();
        Ok(Preprocess {
            format_version: FORMAT_VERSION,
            label: spec.label.clone(),
            task: spec.task.name().to_string(),
            objective: params.objective.clone(),
            features: data.features.clone(),
            classes: data.classes.values.clone(),
            threshold: (spec.task == Task::Binary).then_some(THRESHOLD),
            best_iteration,
            input_schema,
            transforms,
        })
    }
}

/// The features with their types in the training table; nullable when they hold nulls there.
pub(crate) fn feature_schema(table: &DataFrame, features: &[String]) -> Vec<SchemaColumn> {
    features
        .iter()
        .filter_map(|name| table.column(name).ok())
        .map(|column| {
            let ty = match column.dtype() {
                DataType::Boolean => "bool",
                dtype if dtype.is_integer() => "int",
                _ => "float",
            };
            SchemaColumn {
                name: column.name().to_string(),
                ty: ty.to_string(),
                nullable: column.null_count() > 0,
                levels: None,
            }
        })
        .collect()
}

/// The `fitted.<transform>` inputs, in chain order.
fn fitted_transforms(ctx: &StepContext) -> Result<Vec<FittedTransform>, StepError> {
    let order: Option<Vec<Json>> = ctx.param("transforms")?;
    let mut names_and_ops: Vec<(String, Option<Json>)> = order
        .unwrap_or_default()
        .into_iter()
        .filter_map(|entry| match entry {
            Json::String(name) => Some((name, None)),
            Json::Object(object) => {
                let name = object.get("name")?.as_str()?.to_string();
                Some((name, object.get("ops").cloned()))
            }
            _ => None,
        })
        .collect();
    for input in ctx.inputs.keys() {
        if let Some(name) = input.strip_prefix("fitted.") {
            if !names_and_ops.iter().any(|(known, _)| known == name) {
                names_and_ops.push((name.to_string(), None));
            }
        }
    }
    let mut transforms = Vec::new();
    for (name, ops) in names_and_ops {
        let Some(path) = ctx.inputs.get(&format!("fitted.{name}")) else { continue };
        let text = std::fs::read_to_string(path).map_err(|source| StepError::Io {
            action: "read",
            path: path.clone(),
            source,
        })?;
        let fitted: Json = serde_json::from_str(&text).map_err(|error| {
            StepError::Internal(format!("the fitted statistics of transform `{name}` are not JSON: {error}"))
        })?;
        transforms.push(FittedTransform { name, ops, fitted });
    }
    Ok(transforms)
}

/// Reads a `preprocess` document.
pub(crate) fn read(path: &std::path::Path) -> Result<Preprocess, StepError> {
    let text = std::fs::read_to_string(path).map_err(|source| StepError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    serde_json::from_str(&text).map_err(|error| {
        StepError::Internal(format!("the model's preprocess document `{}` is malformed: {error}", path.display()))
    })
}
