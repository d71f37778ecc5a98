//! `train`: fits an XGBoost model on `data` (early stopping on `valid` when asked, the `tuned`
//! values laid over the `xgboost` options) and writes `model`, XGBoost's own JSON model, and
//! `preprocess`, everything serving needs besides the trees (see [`Preprocess`]).

pub(crate) mod balance;
pub(crate) mod booster;
pub(crate) mod data;
pub(crate) mod forest;
pub(crate) mod preprocess;

use std::path::Path;

use serde_json::{Map, Value as Json};

use booster::{Boosting, Labelled, XgbParams};
use data::{Classes, FeatureMatrix};
pub use preprocess::Preprocess;

use super::metrics::Task;
use super::table;
use super::{StepContext, StepError, StepResult};

/// What a model is trained on: the params `train` and `tune` share.
#[derive(Debug, Clone)]
pub(crate) struct ModelSpec {
    /// The label column.
    pub label: String,
    /// The task.
    pub task: Task,
    /// The features in order, when the plan knows them.
    pub features: Option<Vec<String>>,
    /// The `xgboost` options, as the plan writes them.
    pub xgboost: Json,
    /// A category label's levels in order, when the plan gives them.
    pub label_levels: Option<Vec<String>>,
}

impl ModelSpec {
    /// Reads the params of a `train` or `tune` step.
    pub fn from_params(ctx: &StepContext) -> Result<ModelSpec, StepError> {
        let task_name: String = ctx.param("task")?;
        let task = Task::parse(&task_name)
            .ok_or_else(|| StepError::Internal(format!("step `{}` has an unknown task `{task_name}`", ctx.step_id)))?;
        Ok(ModelSpec {
            label: ctx.param("label")?,
            task,
            features: ctx.param("features")?,
            xgboost: ctx.param("xgboost")?,
            label_levels: ctx.param("label_levels")?,
        })
    }
}

/// The training (and validation) tables, read once, as matrices and labels.
#[derive(Debug)]
pub(crate) struct TrainingData {
    /// Feature names in order.
    pub features: Vec<String>,
    /// Label values → classes.
    pub classes: Classes,
    /// The features' types in the training table (what serving expects when the plan does
    /// not say). The table itself is not kept: a model is trained on its matrix alone.
    pub feature_schema: Vec<preprocess::SchemaColumn>,
    /// Its features.
    pub train: FeatureMatrix,
    /// Its labels.
    pub train_labels: Vec<f32>,
    /// The validation features and labels.
    pub valid: Option<(FeatureMatrix, Vec<f32>)>,
}

/// How the training table is named in messages.
pub(crate) const TRAIN_TABLE: &str = "the training table `data`";
/// How the validation table is named in messages.
pub(crate) const VALID_TABLE: &str = "the validation table `valid`";

impl TrainingData {
    /// Reads `data` and, when given, `valid`. The training table is read a few columns at a
    /// time straight into its matrix; only its label column is read whole.
    pub fn load(ctx: &StepContext, spec: &ModelSpec) -> Result<TrainingData, StepError> {
        let train_path = ctx.input("data")?;
        let columns = table::parquet_column_names(train_path)?;
        if !columns.contains(&spec.label) {
            return Err(StepError::Data {
                message: format!("label `{}` is not a column of {TRAIN_TABLE}", spec.label),
                details: vec![format!("its columns are {}", table::quoted_list(&columns))],
            });
        }
        let label_table = table::read_parquet_columns(train_path, std::slice::from_ref(&spec.label))?;
        if label_table.height() == 0 {
            return Err(StepError::data(format!("{TRAIN_TABLE} has no rows")));
        }
        let valid_table = ctx.inputs.get("valid").map(|path| table::read_parquet(path)).transpose()?;
        if valid_table.as_ref().is_some_and(|valid| valid.height() == 0) {
            return Err(StepError::data(format!("{VALID_TABLE} has no rows")));
        }
        let features = spec
            .features
            .clone()
            .unwrap_or_else(|| columns.iter().filter(|name| **name != spec.label).cloned().collect());
        if features.is_empty() {
            return Err(StepError::data(format!("{TRAIN_TABLE} has no column besides the label `{}`", spec.label)));
        }
        let mut tables = vec![(&label_table, TRAIN_TABLE)];
        if let Some(valid) = &valid_table {
            tables.push((valid, VALID_TABLE));
        }
        let classes = Classes::fit(spec.task, &spec.label, &tables, spec.label_levels.as_deref())?;
        let train_labels = classes.encode(&label_table, &spec.label, TRAIN_TABLE)?;
        let (train, feature_schema) = FeatureMatrix::from_parquet(train_path, &features, TRAIN_TABLE)?;
        let valid = match &valid_table {
            Some(valid) => Some((
                FeatureMatrix::from_table(valid, &features, VALID_TABLE)?,
                classes.encode(valid, &spec.label, VALID_TABLE)?,
            )),
            None => None,
        };
        Ok(TrainingData { features, classes, feature_schema, train, train_labels, valid })
    }

    /// XGBoost matrices of the training and validation data. Each concurrent trainer needs
    /// its own: XGBoost caches per-matrix histogram indexes that depend on `max_bin`.
    ///
    /// With `quantile_bins` (the booster's `max_bin`, for the `hist` tree method) they are
    /// quantile matrices, binned as they are built, the validation matrix at the training
    /// matrix's bin boundaries: what XGBoost's Python package trains `hist` models on, in a
    /// fraction of the memory. Otherwise they are plain matrices, which any tree method and
    /// any `max_bin` can train on.
    pub fn matrices(
        &self,
        threads: usize,
        quantile_bins: Option<u32>,
    ) -> Result<(Labelled, Option<Labelled>), StepError> {
        let labelled = |matrix: &FeatureMatrix, labels: &[f32], reference: Option<&Labelled>| {
            let matrix = match quantile_bins {
                Some(max_bin) => matrix.quantile_dmatrix(labels, max_bin, threads, reference.map(|r| &r.matrix))?,
                None => matrix.dmatrix(labels, threads)?,
            };
            Ok::<_, StepError>(Labelled { matrix, labels: labels.iter().map(|&label| f64::from(label)).collect() })
        };
        let train = labelled(&self.train, &self.train_labels, None)?;
        let valid = self.valid.as_ref().map(|(matrix, labels)| labelled(matrix, labels, Some(&train))).transpose()?;
        Ok((train, valid))
    }
}

/// The tuned values in a `tune` step's `best` output.
fn tuned_params(path: &Path) -> Result<Map<String, Json>, StepError> {
    let text = std::fs::read_to_string(path).map_err(|source| StepError::Io {
        action: "read",
        path: path.to_path_buf(),
        source,
    })?;
    let best: Json = serde_json::from_str(&text).map_err(|error| {
        StepError::Internal(format!("the tuned parameters `{}` are not JSON: {error}", path.display()))
    })?;
    match best.get("params") {
        Some(Json::Object(params)) => Ok(params.clone()),
        _ => Err(StepError::Internal(format!("the tuned parameters `{}` have no `params` object", path.display()))),
    }
}

/// Runs `train`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let spec = ModelSpec::from_params(ctx)?;
    let tuned = ctx.inputs.get("tuned").map(|path| tuned_params(path)).transpose()?;
    let params = XgbParams::from_json(&spec.xgboost, tuned.as_ref())?;
    let mut data = TrainingData::load(ctx, &spec)?;
    let quantile_bins = (params.tree_method == "hist").then_some(params.max_bin);
    // XGBoost sees the columns in an order that balances its sketch over the cores; the model
    // is renumbered back to the table's order below.
    let order = match (quantile_bins, params.colsample_bytree >= 1.0) {
        (Some(_), true) => balance::ColumnOrder::for_sketch(&data.train, ctx.threads),
        _ => None,
    };
    if let Some(order) = &order {
        order.apply(&mut data.train);
        if let Some((valid, _)) = &mut data.valid {
            order.apply(valid);
        }
    }
    let started = std::time::Instant::now();
    let (train, valid) = data.matrices(ctx.threads, quantile_bins)?;
    (ctx.log)(&format!(
        "built the {}XGBoost matrices ({} training rows × {} features) in {:.2} s",
        if quantile_bins.is_some() { "quantile " } else { "" },
        data.train.rows,
        data.features.len(),
        started.elapsed().as_secs_f64()
    ));
    // XGBoost holds its own copy now; one model is trained, so the matrices can go.
    data.train.columns = Vec::new();
    data.valid = None;
    let check_cancelled = || ctx.check_cancelled();
    let boosting = Boosting {
        params: &params,
        task: spec.task,
        classes: data.classes.count(),
        threads: ctx.threads,
        check_cancelled: &check_cancelled,
        keep_best_model: true,
    };
    let fit = boosting.fit(&train, valid.as_ref())?;
    let model = booster::model_json(&fit.booster)?;
    let model = match &order {
        Some(order) => order.restore_model(&model)?,
        None => model,
    };

    let mut result = StepResult { rows: Some(data.train.rows as u64), ..StepResult::default() };
    result.metrics.insert("best_iteration".to_string(), f64::from(fit.best_iteration));
    result.metrics.insert("rounds_trained".to_string(), f64::from(fit.rounds_trained));
    let mut summary = format!("trained {} rounds", fit.rounds_trained);
    if fit.best_iteration + 1 < fit.rounds_trained {
        summary = format!(
            "early stopping after {} rounds; kept the best {} (round {})",
            fit.rounds_trained,
            fit.best_iteration + 1,
            fit.best_iteration
        );
    }
    if let Some((metric, value)) = fit.validation {
        result.metrics.insert(format!("valid_{metric}"), value);
        summary.push_str(&format!("; validation {metric} {value:.4}"));
    }
    (ctx.log)(&summary);
    result.notes.push(summary);

    let preprocess = Preprocess::build(ctx, &spec, &params, &data, fit.best_iteration)?;
    let model_path = ctx.output("model")?;
    std::fs::write(model_path, model.as_bytes()).map_err(|source| StepError::Io {
        action: "write",
        path: model_path.to_path_buf(),
        source,
    })?;
    if let Some(path) = ctx.outputs.get("preprocess") {
        table::write_json(&preprocess, path)?;
    }
    Ok(result)
}

#[cfg(test)]
pub(crate) mod tests;
