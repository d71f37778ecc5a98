//! `evaluate`: scores a model on a table, checks its gates and compares it with the champions
//! named by `compare-to`, and writes the `report` (JSON) that `register` reads.
//!
//! ```json
//! {
//!   "task": "binary", "rows": 1500, "threshold": 0.5,
//!   "metrics": {"accuracy": 0.87, "auc": 0.91},
//!   "classes": [false, true], "confusion_matrix": [[900, 60], [130, 410]],
//!   "gates": [{"metric": "auc", "min": 0.8, "max": null, "value": 0.91, "passed": true}],
//!   "compare_to": [{"model": "churn", "alias": "production", "metric": "auc", "tolerance": 0.0,
//!                   "value": 0.91, "champion": 0.89, "passed": true}]
//! }
//! ```
//!
//! The features, their order, the objective and the classes come from the model's
//! `preprocess` input (what `train` wrote); without it, from the `features` param or every
//! column but the label, and the model's own objective. `confusion_matrix[actual][predicted]`
//! lists classes in the order of `classes`. A failed gate or a challenger worse than its
//! champion (beyond `tolerance`) fails the step with every failure in one message, and then
//! nothing is written. A `compare-to` whose champion has no report yet (no input
//! `compare_to.N`) is a note, not a failure.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value as Json};

use super::metrics::{self, Task};
use super::table;
use super::train::booster::{load_model, predict_features, predict_forest};
use super::train::data::{self, xgboost_error, Classes, FeatureMatrix};
use super::train::forest::Forest;
use super::train::preprocess;
use super::{StepContext, StepError, StepResult};

/// How the scored table is named in messages.
const SCORED_TABLE: &str = "the scored table `data`";

/// A `gate` as the plan writes it.
#[derive(Debug, Clone, Deserialize)]
struct Gate {
    metric: String,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

/// A `compare-to` as the plan writes it.
#[derive(Debug, Clone, Deserialize)]
struct CompareTo {
    model: String,
    alias: String,
    metric: String,
    #[serde(default)]
    tolerance: f64,
}

/// Runs `evaluate`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let task_name: String = ctx.param("task")?;
    let task = Task::parse(&task_name)
        .ok_or_else(|| StepError::Internal(format!("step `{}` has an unknown task `{task_name}`", ctx.step_id)))?;
    let label: String = ctx.param("label")?;
    let requested: Option<Vec<String>> = ctx.param("metrics")?;
    let gates: Vec<Gate> = ctx.param::<Option<Vec<Gate>>>("gates")?.unwrap_or_default();
    let compare_to: Vec<CompareTo> = ctx.param::<Option<Vec<CompareTo>>>("compare_to")?.unwrap_or_default();

    let preprocess = ctx.inputs.get("preprocess").map(|path| preprocess::read(path)).transpose()?;
    let scored = table::read_parquet(ctx.input("data")?)?;
    if scored.height() == 0 {
        return Err(StepError::data(format!("{SCORED_TABLE} has no rows")));
    }
    let model_path = ctx.input("model")?;
    let model_bytes = std::fs::read(model_path).map_err(|source| StepError::Io {
        action: "read",
        path: model_path.to_path_buf(),
        source,
    })?;
    let model: Json = serde_json::from_slice(&model_bytes)
        .map_err(|error| StepError::Internal(format!("the model `{}` is not JSON: {error}", model_path.display())))?;

    let features = match &preprocess {
        Some(preprocess) => preprocess.features.clone(),
        None => data::feature_names(ctx.param("features")?, &scored, &label),
    };
    let objective = match &preprocess {
        Some(preprocess) => preprocess.objective.clone(),
        None => model["learner"]["objective"]["name"].as_str().unwrap_or_default().to_string(),
    };
    let classes = match &preprocess {
        Some(preprocess) if task != Task::Regression => Classes::recorded(task, preprocess.classes.clone()),
        _ => Classes::infer(task, &label, &scored, SCORED_TABLE)?,
    };
    let model_classes = model["learner"]["learner_model_param"]["num_class"]
        .as_str()
        .and_then(|count| count.parse::<usize>().ok())
        .filter(|&count| count > 0)
        .unwrap_or_else(|| classes.count());

    let labels: Vec<f64> = classes.encode(&scored, &label, SCORED_TABLE)?.into_iter().map(f64::from).collect();
    let matrix = FeatureMatrix::from_table(&scored, &features, SCORED_TABLE)?;
    ctx.check_cancelled()?;
    // The trees laid out in Rust predict what XGBoost would, faster; XGBoost predicts for
    // the models they do not cover.
    let columns = matrix.slices()?;
    let predictions = match Forest::from_model(&model, &objective).filter(|forest| forest.accepts(&columns)) {
        Some(forest) => predict_forest(&forest, &columns, matrix.rows, &objective, model_classes)?,
        None => {
            let mut booster = load_model(&model_bytes)?;
            booster.set_param("nthread", &ctx.threads.max(1).to_string()).map_err(xgboost_error)?;
            predict_features(&booster, &matrix, &objective, model_classes)?
        }
    };

    // Every metric asked for, plus any a gate or a comparison needs.
    let mut names: Vec<String> = requested
        .filter(|names| !names.is_empty())
        .unwrap_or_else(|| task.metrics().iter().map(|name| name.to_string()).collect());
    for extra in gates.iter().map(|gate| &gate.metric).chain(compare_to.iter().map(|compare| &compare.metric)) {
        if !names.contains(extra) {
            names.push(extra.clone());
        }
    }
    let mut values = BTreeMap::new();
    for name in &names {
        values.insert(name.clone(), metrics::compute(name, task, &labels, &predictions)?);
    }

    let mut failures = Vec::new();
    let gate_reports: Vec<Json> =
        gates.iter().map(|gate| check_gate(gate, values[&gate.metric], &mut failures)).collect();
    let mut notes = Vec::new();
    let mut compare_reports = Vec::new();
    for (index, compare) in compare_to.iter().enumerate() {
        let champion = ctx.inputs.get(&format!("compare_to.{index}"));
        compare_reports.push(check_champion(compare, values[&compare.metric], champion, &mut failures, &mut notes)?);
    }
    if !failures.is_empty() {
        return Err(StepError::Gate(failures.join("; ")));
    }

    let mut report = json!({
        "task": task.name(),
        "rows": scored.height(),
        "metrics": values,
        "gates": gate_reports,
        "compare_to": compare_reports,
    });
    if task != Task::Regression {
        let class_count = predictions.classes(task);
        let actual: Vec<usize> = labels.iter().map(|&label| label as usize).collect();
        let matrix = metrics::confusion_matrix(&actual, &predictions.predicted_classes(task), class_count);
        report["confusion_matrix"] = json!(matrix);
        report["classes"] = Json::Array(classes.values.clone());
    }
    if task == Task::Binary {
        report["threshold"] = json!(metrics::THRESHOLD);
    }
    table::write_json(&report, ctx.output("report")?)?;

    let summary: Vec<String> = values.iter().map(|(name, value)| format!("{name} {value:.4}")).collect();
    (ctx.log)(&format!("{} rows: {}", scored.height(), summary.join(", ")));
    Ok(StepResult { rows: Some(scored.height() as u64), metrics: values, notes, ..StepResult::default() })
}

/// Checks one gate, recording a failure as "gate failed: auc 0.7100 < 0.8000".
fn check_gate(gate: &Gate, value: f64, failures: &mut Vec<String>) -> Json {
    let mut passed = true;
    if let Some(min) = gate.min.filter(|&min| value < min) {
        let (value_text, bound_text) = distinct_texts(value, min);
        failures.push(format!("gate failed: {} {value_text} < {bound_text}", gate.metric));
        passed = false;
    }
    if let Some(max) = gate.max.filter(|&max| value > max) {
        let (value_text, bound_text) = distinct_texts(value, max);
        failures.push(format!("gate failed: {} {value_text} > {bound_text}", gate.metric));
        passed = false;
    }
    json!({"metric": gate.metric, "min": gate.min, "max": gate.max, "value": value, "passed": passed})
}

/// Compares the challenger's `value` with the champion's report, when there is one.
fn check_champion(
    compare: &CompareTo,
    value: f64,
    champion_report: Option<&std::path::PathBuf>,
    failures: &mut Vec<String>,
    notes: &mut Vec<String>,
) -> Result<Json, StepError> {
    let reference = format!("{}@{}", compare.model, compare.alias);
    let mut entry = json!({
        "model": compare.model, "alias": compare.alias, "metric": compare.metric,
        "tolerance": compare.tolerance, "value": value, "champion": null, "passed": null,
    });
    let Some(path) = champion_report else {
        let note = format!("no model under {reference} yet; nothing to compare");
        entry["note"] = json!(note);
        notes.push(note);
        return Ok(entry);
    };
    let champion = champion_value(path, &compare.metric)?;
    let Some(champion) = champion else {
        let note = format!("the report of {reference} has no `{}`; nothing to compare", compare.metric);
        entry["note"] = json!(note);
        notes.push(note);
        return Ok(entry);
    };
    let worse = if metrics::higher_is_better(&compare.metric) {
        value < champion - compare.tolerance
    } else {
        value > champion + compare.tolerance
    };
    if worse {
        let (value_text, champion_text) = distinct_texts(value, champion);
        let sign = if metrics::higher_is_better(&compare.metric) { "<" } else { ">" };
        failures.push(format!(
            "worse than {reference}: {} {value_text} {sign} {champion_text} (the champion's, tolerance {})",
            compare.metric, compare.tolerance
        ));
    }
    entry["champion"] = json!(champion);
    entry["passed"] = json!(!worse);
    Ok(entry)
}

/// The champion's value of `metric` in its evaluation report.
fn champion_value(path: &Path, metric: &str) -> Result<Option<f64>, StepError> {
    let text = std::fs::read_to_string(path).map_err(|source| StepError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let report: Json = serde_json::from_str(&text).map_err(|error| {
        StepError::Internal(format!("the champion's evaluation report `{}` is not JSON: {error}", path.display()))
    })?;
    Ok(report["metrics"][metric].as_f64())
}

/// Two numbers with four decimals, or as many more as it takes to tell them apart.
fn distinct_texts(left: f64, right: f64) -> (String, String) {
    for decimals in 4..=12 {
        let (a, b) = (format!("{left:.decimals$}"), format!("{right:.decimals$}"));
        if a != b || decimals == 12 {
            return (a, b);
        }
    }
    (left.to_string(), right.to_string())
}

#[cfg(test)]
mod tests;
