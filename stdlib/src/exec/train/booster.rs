//! Driving XGBoost: the `xgboost` options as booster parameters, the boosting loop with early
//! stopping, and predictions as probabilities.
//!
//! Rounds are driven here, one `update` each, because the binding's own `train` runs a fixed
//! number of rounds. With `early_stopping` and validation data, every round predicts the
//! validation rows (incrementally: the validation matrix is in the booster's prediction cache)
//! and scores them with the task's stopping metric ([`Task::stopping_metric`]: `logloss` for
//! classification, `rmse` — `mae` for `reg:absoluteerror` — for regression). Training stops
//! after `early_stopping` rounds without a strict improvement, as XGBoost's own callback does.
//! When the best round is not the last, the model is trained again for exactly the best number
//! of rounds, so the saved model *is* the best model (XGBoost reseeds its random engine every
//! round from `seed` and the round number, so the retrained trees are the same trees).

use std::collections::HashMap;

use crate::exec::xgboost::{Booster, DMatrix};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::data::{xgboost_error, FeatureMatrix};
use crate::exec::metrics::{self, Predictions, Task};
use crate::exec::StepError;

/// The `xgboost` options of a `train` step, defaults as in the vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct XgbParams {
    pub objective: String,
    pub rounds: u32,
    pub max_depth: u32,
    pub eta: f64,
    pub early_stopping: Option<u32>,
    pub subsample: f64,
    pub colsample_bytree: f64,
    pub min_child_weight: f64,
    pub lambda: f64,
    pub alpha: f64,
    pub gamma: f64,
    pub max_bin: u32,
    pub scale_pos_weight: f64,
    pub tree_method: String,
    pub nthread: u32,
    pub seed: u64,
}

impl Default for XgbParams {
    fn default() -> XgbParams {
        XgbParams {
            objective: "reg:squarederror".to_string(),
            rounds: 100,
            max_depth: 6,
            eta: 0.3,
            early_stopping: None,
            subsample: 1.0,
            colsample_bytree: 1.0,
            min_child_weight: 1.0,
            lambda: 1.0,
            alpha: 0.0,
            gamma: 0.0,
            max_bin: 256,
            scale_pos_weight: 1.0,
            tree_method: "hist".to_string(),
            nthread: 0,
            seed: 0,
        }
    }
}

/// The options that take whole numbers.
pub(crate) const INTEGER_PARAMS: &[&str] = &["rounds", "max_depth", "early_stopping", "max_bin", "nthread", "seed"];

impl XgbParams {
    /// Reads the plan's `xgboost` object with `overrides` (tuned values) laid over it.
    pub fn from_json(xgboost: &Json, overrides: Option<&Map<String, Json>>) -> Result<XgbParams, StepError> {
        let mut object = xgboost.as_object().cloned().unwrap_or_default();
        for (name, value) in overrides.into_iter().flatten() {
            object.insert(name.clone(), value.clone());
        }
        // A tuned integer may arrive as `5.0`; XGBoost's integer options want `5`.
        for name in INTEGER_PARAMS {
            if let Some(value) = object.get_mut(*name) {
                if let Some(float) = value.as_f64().filter(|float| float.fract() == 0.0 && !value.is_i64()) {
                    *value = Json::from(float as i64);
                }
            }
        }
        serde_json::from_value(Json::Object(object))
            .map_err(|error| StepError::Internal(format!("the `xgboost` options have an unexpected shape: {error}")))
    }

    /// The booster parameters; `nthread` 0 means `threads`.
    pub fn booster_config(&self, classes: usize, threads: usize) -> HashMap<String, String> {
        let threads = if self.nthread == 0 { threads.max(1) } else { self.nthread as usize };
        let mut config: HashMap<String, String> = [
            ("objective", self.objective.clone()),
            ("eta", self.eta.to_string()),
            ("max_depth", self.max_depth.to_string()),
            ("subsample", self.subsample.to_string()),
            ("colsample_bytree", self.colsample_bytree.to_string()),
            ("min_child_weight", self.min_child_weight.to_string()),
            ("lambda", self.lambda.to_string()),
            ("alpha", self.alpha.to_string()),
            ("gamma", self.gamma.to_string()),
            ("max_bin", self.max_bin.to_string()),
            ("scale_pos_weight", self.scale_pos_weight.to_string()),
            ("tree_method", self.tree_method.clone()),
            ("nthread", threads.to_string()),
            ("seed", self.seed.to_string()),
            // XGBoost's console output would bypass the step's log; errors still come back.
            ("verbosity", "0".to_string()),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_string(), value))
        .collect();
        if self.objective.starts_with("multi:") {
            config.insert("num_class".to_string(), classes.to_string());
        }
        config
    }
}

/// A table ready for XGBoost: its matrix (with labels) and the labels as numbers.
#[derive(Debug)]
pub(crate) struct Labelled {
    /// The matrix, labels set.
    pub matrix: DMatrix,
    /// The labels.
    pub labels: Vec<f64>,
}

/// What a boosting run produced.
pub(crate) struct Fit {
    /// The model: the best one when early stopping ran.
    pub booster: Booster,
    /// Rounds boosted, counting the ones after the best that early stopping waited through.
    pub rounds_trained: u32,
    /// The best round (0-based), the last one without early stopping.
    pub best_iteration: u32,
    /// The stopping metric's name and its value on the validation data for the saved model.
    pub validation: Option<(&'static str, f64)>,
    /// The validation predictions of the saved model.
    pub validation_predictions: Option<Predictions>,
}

impl std::fmt::Debug for Fit {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Fit")
            .field("rounds_trained", &self.rounds_trained)
            .field("best_iteration", &self.best_iteration)
            .field("validation", &self.validation)
            .finish_non_exhaustive()
    }
}

/// How a boosting run is set up.
pub(crate) struct Boosting<'a> {
    /// The options.
    pub params: &'a XgbParams,
    /// The task.
    pub task: Task,
    /// Classes predicted (1 for regression).
    pub classes: usize,
    /// XGBoost threads when `nthread` is 0.
    pub threads: usize,
    /// Called before every round: fails when the run is being stopped.
    pub check_cancelled: &'a (dyn Fn() -> Result<(), StepError> + Sync),
    /// Retrain to the best round so the returned booster is the best model (`train`); `tune`
    /// needs only the score.
    pub keep_best_model: bool,
}

impl std::fmt::Debug for Boosting<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Boosting").field("params", &self.params).field("task", &self.task).finish()
    }
}

impl Boosting<'_> {
    /// Boosts `params.rounds` rounds on `train`, stopping early on `valid` when asked.
    pub fn fit(&self, train: &Labelled, valid: Option<&Labelled>) -> Result<Fit, StepError> {
        let config = self.params.booster_config(self.classes, self.threads);
        let stopping_metric = self.task.stopping_metric(&self.params.objective);
        let patience = self.params.early_stopping.filter(|_| valid.is_some());
        let mut cached: Vec<&DMatrix> = vec![&train.matrix];
        if let Some(valid) = valid {
            cached.push(&valid.matrix);
        }
        let mut booster = new_booster(&cached, &config)?;
        let rounds = self.params.rounds.max(1);
        let mut best: Option<(u32, f64, Predictions)> = None;
        let mut rounds_trained = 0;
        for round in 0..rounds {
            (self.check_cancelled)()?;
            booster.update(&train.matrix, round as i32).map_err(xgboost_error)?;
            rounds_trained = round + 1;
            let (Some(patience), Some(valid)) = (patience, valid) else { continue };
            let predictions = predict(&booster, &valid.matrix, &self.params.objective, self.classes)?;
            let score = metrics::compute(stopping_metric, self.task, &valid.labels, &predictions)?;
            // Only a strict improvement counts (every stopping metric shrinks as it improves).
            let improved = best.as_ref().is_none_or(|(_, best_score, _)| score < *best_score);
            if improved {
                best = Some((round, score, predictions));
            } else if best.as_ref().is_some_and(|(best_round, _, _)| round - best_round >= patience) {
                break;
            }
        }
        if let Some((best_round, score, predictions)) = best {
            if self.keep_best_model && best_round + 1 < rounds_trained {
                booster = new_booster(&[&train.matrix], &config)?;
                for round in 0..=best_round {
                    (self.check_cancelled)()?;
                    booster.update(&train.matrix, round as i32).map_err(xgboost_error)?;
                }
            }
            return Ok(Fit {
                booster,
                rounds_trained,
                best_iteration: best_round,
                validation: Some((stopping_metric, score)),
                validation_predictions: Some(predictions),
            });
        }
        let (validation, validation_predictions) = match valid {
            Some(valid) => {
                let predictions = predict(&booster, &valid.matrix, &self.params.objective, self.classes)?;
                let score = metrics::compute(stopping_metric, self.task, &valid.labels, &predictions)?;
                (Some((stopping_metric, score)), Some(predictions))
            }
            None => (None, None),
        };
        Ok(Fit { booster, rounds_trained, best_iteration: rounds_trained - 1, validation, validation_predictions })
    }
}

/// A booster for `cached` (the matrices XGBoost keeps prediction caches for) with `config`,
/// set one parameter at a time in name order so that the booster is the same every time.
fn new_booster(cached: &[&DMatrix], config: &HashMap<String, String>) -> Result<Booster, StepError> {
    let mut booster = Booster::new(cached).map_err(xgboost_error)?;
    let mut names: Vec<&String> = config.keys().collect();
    names.sort();
    for name in names {
        booster.set_param(name, &config[name]).map_err(xgboost_error)?;
    }
    Ok(booster)
}

/// The model's predictions for `matrix` as [`Predictions`]: probabilities for classifiers (of
/// class 1 for binary objectives, per class for multiclass ones), values for regression.
pub(crate) fn predict(
    booster: &Booster,
    matrix: &DMatrix,
    objective: &str,
    classes: usize,
) -> Result<Predictions, StepError> {
    let raw = |margin: bool| if margin { booster.predict_margin(matrix) } else { booster.predict(matrix) };
    predictions(raw, matrix.num_rows(), objective, classes)
}

/// Like [`predict`], for the rows of a feature matrix read in place by XGBoost.
pub(crate) fn predict_features(
    booster: &Booster,
    features: &FeatureMatrix,
    objective: &str,
    classes: usize,
) -> Result<Predictions, StepError> {
    let columns = features.slices()?;
    predictions(|margin| booster.predict_columns(&columns, margin), features.rows, objective, classes)
}

/// Like [`predict_features`], by the model's trees laid out in Rust (XGBoost's predictions,
/// bit for bit).
pub(crate) fn predict_forest(
    forest: &super::forest::Forest,
    columns: &[&[f32]],
    rows: usize,
    objective: &str,
    classes: usize,
) -> Result<Predictions, StepError> {
    predictions(|margin| Ok(forest.predict(columns, margin)), rows, objective, classes)
}

/// The predictions `raw` (XGBoost's, or its margins when asked) makes for `rows` rows, as
/// probabilities for classification.
fn predictions(
    raw: impl Fn(bool) -> crate::exec::xgboost::Result<Vec<f32>>,
    rows: usize,
    objective: &str,
    classes: usize,
) -> Result<Predictions, StepError> {
    let sigmoid = |margin: f64| 1.0 / (1.0 + (-margin).exp());
    let values: Vec<f64> = match objective {
        // `logitraw` predicts margins; `softmax` predicts class indices, so both are read as
        // margins and turned into probabilities here.
        "binary:logitraw" => raw(false).map_err(xgboost_error)?.iter().map(|&m| sigmoid(f64::from(m))).collect(),
        "multi:softmax" => {
            let margins = raw(true).map_err(xgboost_error)?;
            margins.chunks(classes.max(1)).flat_map(softmax).collect()
        }
        _ => raw(false).map_err(xgboost_error)?.into_iter().map(f64::from).collect(),
    };
    let width = if objective.starts_with("multi:") { classes.max(1) } else { 1 };
    let predictions = Predictions { values, width };
    if predictions.values.len() != rows * width {
        return Err(StepError::Internal(format!(
            "XGBoost returned {} predictions for {rows} rows of {width} values",
            predictions.values.len(),
        )));
    }
    Ok(predictions)
}

fn softmax(margins: &[f32]) -> Vec<f64> {
    let largest = margins.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f64> = margins.iter().map(|&m| f64::from(m - largest).exp()).collect();
    let total: f64 = exps.iter().sum();
    exps.into_iter().map(|value| value / total).collect()
}

/// The model as XGBoost's JSON document.
pub(crate) fn model_json(booster: &Booster) -> Result<String, StepError> {
    let bytes = booster.to_json().map_err(xgboost_error)?;
    String::from_utf8(bytes).map_err(|error| StepError::Internal(format!("XGBoost's JSON model is not UTF-8: {error}")))
}

/// A model read back from its JSON document.
pub(crate) fn load_model(bytes: &[u8]) -> Result<Booster, StepError> {
    Booster::load_buffer(bytes).map_err(xgboost_error)
}
