//! `tune`: searches the `xgboost` options named in `space` for the values that score best on
//! the validation table, and writes them as `best` (JSON), which `train` lays over its options.
//!
//! ```json
//! {
//!   "metric": "auc", "goal": "maximize", "sampler": "tpe", "seed": 7,
//!   "value": 0.912, "best_trial": 17,
//!   "params": {"eta": 0.0713, "max_depth": 5},
//!   "trials": [{"number": 0, "params": {"eta": 0.021, "max_depth": 8}, "value": 0.897, "best_iteration": 112}, …]
//! }
//! ```
//!
//! Each trial trains like `train` (early stopping on the validation table when the options ask
//! for it, on the same stopping metric) and scores `metric` on the validation rows with the
//! model of its best round, so the score is the score of the model `train` would save.
//!
//! Trials run in batches of `parallel`, each trial on its own thread with
//! `threads / parallel` XGBoost threads (unless `nthread` is set) and its own copy of the
//! matrices. Every trial of a batch is sampled before the batch starts, from the trials of
//! earlier batches and its own random stream (seed, trial number), so the trials — and the
//! result — depend on the seed and `parallel`, never on which thread finishes first.
//! `sampler="random"` draws every trial at random; `"tpe"` is [`tpe`].

mod space;
mod tpe;

use serde_json::{json, Map, Value as Json};

use space::{SearchSpace, Stream};

use super::metrics;
use super::table;
use super::train::booster::{Boosting, Labelled, XgbParams};
use super::train::{ModelSpec, TrainingData};
use super::{StepContext, StepError, StepResult};

/// One finished trial.
#[derive(Debug, Clone)]
struct Trial {
    number: usize,
    point: Vec<f64>,
    overrides: Map<String, Json>,
    value: f64,
    best_iteration: u32,
}

/// What the trials share.
struct Study<'a, 'c> {
    ctx: &'a StepContext<'c>,
    spec: &'a ModelSpec,
    data: &'a TrainingData,
    metric: &'a str,
    threads_per_trial: usize,
}

impl Study<'_, '_> {
    /// Trains with `overrides` and scores the metric on the validation rows.
    fn run_trial(
        &self,
        overrides: &Map<String, Json>,
        train: &Labelled,
        valid: &Labelled,
    ) -> Result<(f64, u32), StepError> {
        let params = XgbParams::from_json(&self.spec.xgboost, Some(overrides))?;
        let check_cancelled = || self.ctx.check_cancelled();
        let boosting = Boosting {
            params: &params,
            task: self.spec.task,
            classes: self.data.classes.count(),
            threads: self.threads_per_trial,
            check_cancelled: &check_cancelled,
            keep_best_model: false,
        };
        let fit = boosting.fit(train, Some(valid))?;
        let predictions = fit.validation_predictions.ok_or_else(|| {
            StepError::Internal("a trial with validation data has no validation predictions".to_string())
        })?;
        let value = metrics::compute(self.metric, self.spec.task, &valid.labels, &predictions)?;
        Ok((value, fit.best_iteration))
    }
}

/// Runs `tune`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let spec = ModelSpec::from_params(ctx)?;
    let trials: usize = ctx.param::<Option<usize>>("trials")?.unwrap_or(20).max(1);
    let sampler: String = ctx.param::<Option<String>>("sampler")?.unwrap_or_else(|| "tpe".to_string());
    let metric: String = ctx.param("metric")?;
    let goal: String = ctx
        .param::<Option<String>>("goal")?
        .unwrap_or_else(|| if metrics::higher_is_better(&metric) { "maximize" } else { "minimize" }.to_string());
    let parallel: usize = ctx.param::<Option<usize>>("parallel")?.unwrap_or(1).clamp(1, trials);
    let seed: u64 = ctx.param::<Option<u64>>("seed")?.unwrap_or(0);
    let space_json: Map<String, Json> = ctx.param::<Option<Map<String, Json>>>("space")?.unwrap_or_default();
    let space = SearchSpace::from_json(&space_json)?;
    if !ctx.inputs.contains_key("valid") {
        return Err(StepError::data(format!(
            "`tune` scores every trial on validation data, but step `{}` was given no `valid` table",
            ctx.step_id
        )));
    }

    let data = TrainingData::load(ctx, &spec)?;
    let threads_per_trial = (ctx.threads / parallel).max(1);
    let study = Study { ctx, spec: &spec, data: &data, metric: &metric, threads_per_trial };
    // One set of matrices per concurrent trial, reused by its later trials.
    let mut workers = Vec::with_capacity(parallel);
    for _ in 0..parallel {
        // Plain matrices: a trial may change `max_bin` or the tree method.
        let (train, valid) = data.matrices(threads_per_trial, None)?;
        let valid = valid.ok_or_else(|| StepError::Internal("validation matrices are missing".to_string()))?;
        workers.push((train, valid));
    }

    let maximize = goal == "maximize";
    let loss = |value: f64| {
        if value.is_nan() {
            f64::INFINITY
        } else if maximize {
            -value
        } else {
            value
        }
    };
    let mut finished: Vec<Trial> = Vec::with_capacity(trials);
    while finished.len() < trials {
        ctx.check_cancelled()?;
        let history: Vec<(Vec<f64>, f64)> =
            finished.iter().map(|trial| (trial.point.clone(), loss(trial.value))).collect();
        let batch: Vec<(usize, Vec<f64>)> = (finished.len()..trials.min(finished.len() + parallel))
            .map(|number| {
                let mut stream = Stream::new(seed, number as u64);
                let point = match sampler.as_str() {
                    "random" => space.random(&mut stream),
                    _ => tpe::suggest(&space, &history, &mut stream),
                };
                (number, point)
            })
            .collect();
        let outcomes: Vec<Result<(f64, u32), StepError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = batch
                .iter()
                // `&mut`: each worker's matrices go to one thread (XGBoost matrices are `Send`,
                // not `Sync`).
                .zip(workers.iter_mut())
                .map(|((_, point), (train, valid))| {
                    let overrides = space.overrides(point);
                    let study = &study;
                    scope.spawn(move || study.run_trial(&overrides, train, valid))
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| Err(StepError::Internal("a tuning trial panicked".to_string())))
                })
                .collect()
        });
        for ((number, point), outcome) in batch.into_iter().zip(outcomes) {
            let overrides = space.overrides(&point);
            let (value, best_iteration) = outcome.map_err(|error| match error {
                StepError::Xgboost(message) => {
                    StepError::Xgboost(format!("trial {number} ({}): {message}", Json::Object(overrides.clone())))
                }
                other => other,
            })?;
            (ctx.log)(&format!("trial {number}: {metric} {value:.4} with {}", Json::Object(overrides.clone())));
            finished.push(Trial { number, point, overrides, value, best_iteration });
        }
    }

    // The first trial with the best loss.
    let best = finished
        .iter()
        .fold(None::<&Trial>, |best, trial| match best {
            Some(best) if loss(best.value) <= loss(trial.value) => Some(best),
            _ => Some(trial),
        })
        .ok_or_else(|| StepError::Internal("tuning finished without trials".to_string()))?;
    let document = json!({
        "metric": metric,
        "goal": goal,
        "sampler": sampler,
        "seed": seed,
        "value": best.value,
        "best_trial": best.number,
        "params": best.overrides,
        "trials": finished.iter().map(|trial| json!({
            "number": trial.number,
            "params": trial.overrides,
            "value": trial.value,
            "best_iteration": trial.best_iteration,
        })).collect::<Vec<_>>(),
    });
    table::write_json(&document, ctx.output("best")?)?;

    let mut result = StepResult { rows: Some(data.train.rows as u64), ..StepResult::default() };
    result.metrics.insert(metric.clone(), best.value);
    result.metrics.insert("best_trial".to_string(), best.number as f64);
    result.metrics.insert("trials".to_string(), finished.len() as f64);
    result.notes.push(format!(
        "best of {} trials: {metric} {:.4} (trial {}) with {}",
        finished.len(),
        best.value,
        best.number,
        Json::Object(best.overrides.clone())
    ));
    Ok(result)
}

#[cfg(test)]
mod tests;
