//! Tests of `train` on small generated tables, and the generators `evaluate`, `tune` and
//! `package` tests share.

use polars::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value as Json};

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::write_parquet;
use crate::exec::StepResult;

/// A uniform number in `[0, 1)`.
pub(crate) fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// Which kind of label a generated table has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `churned` bool.
    Binary,
    /// `species` text with three levels.
    Multiclass,
    /// `price` float.
    Regression,
}

/// A table of `rows` rows: float features `x1`–`x3`, an int feature `x4` with some nulls, and
/// a label that depends on them with noise.
pub(crate) fn table(kind: Kind, rows: usize, seed: u64) -> DataFrame {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut x1, mut x2, mut x3, mut x4) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut churned, mut species, mut price) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let a = uniform(&mut rng) * 2.0 - 1.0;
        let b = uniform(&mut rng) * 2.0 - 1.0;
        let c = uniform(&mut rng) * 2.0 - 1.0;
        let d = (uniform(&mut rng) * 5.0).floor() as i64;
        let noise = uniform(&mut rng) - 0.5;
        x1.push(a);
        x2.push(b);
        x3.push(c);
        x4.push(if uniform(&mut rng) < 0.1 { None } else { Some(d) });
        churned.push(a + 0.8 * b * b - 0.4 * c + 0.1 * d as f64 + 0.6 * noise > 0.3);
        let scores = [a + 0.3 * noise, b - 0.2 * noise, -a - b + 0.1 * d as f64];
        let class = (0..3).fold(0, |best, index| if scores[index] > scores[best] { index } else { best });
        species.push(["adelie", "chinstrap", "gentoo"][class]);
        price.push(3.0 * a - 2.0 * b + c * c + 0.5 * d as f64 + noise);
    }
    let mut table = df!("x1" => x1, "x2" => x2, "x3" => x3, "x4" => x4).unwrap();
    let label = match kind {
        Kind::Binary => Column::new("churned".into(), churned),
        Kind::Multiclass => Column::new("species".into(), species),
        Kind::Regression => Column::new("price".into(), price),
    };
    table.with_column(label).unwrap();
    table
}

/// The label and objective of a generated table.
pub(crate) fn label_and_objective(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Binary => ("churned", "binary", "binary:logistic"),
        Kind::Multiclass => ("species", "multiclass", "multi:softprob"),
        Kind::Regression => ("price", "regression", "reg:squarederror"),
    }
}

/// `train` params for a generated table.
pub(crate) fn train_params(kind: Kind, xgboost: Json) -> Json {
    let (label, task, objective) = label_and_objective(kind);
    let mut options = json!({"objective": objective, "rounds": 30, "max_depth": 3, "eta": 0.3, "seed": 0});
    for (name, value) in xgboost.as_object().into_iter().flatten() {
        options[name] = value.clone();
    }
    json!({"label": label, "task": task, "features": ["x1", "x2", "x3", "x4"], "xgboost": options})
}

/// A harness with `data` (and `valid`) written and `model`/`preprocess` outputs declared.
pub(crate) fn train_harness(kind: Kind, rows: usize, with_valid: bool, xgboost: Json) -> Harness {
    let mut harness = Harness::new();
    let data = harness.path("train.parquet");
    write_parquet(&table(kind, rows, 1), &data).unwrap();
    harness.input("data", &data);
    if with_valid {
        let valid = harness.path("valid.parquet");
        write_parquet(&table(kind, rows / 2, 2), &valid).unwrap();
        harness.input("valid", &valid);
    }
    harness.params(train_params(kind, xgboost)).output("model", "json").output("preprocess", "json");
    harness
}

fn run(harness: &Harness) -> StepResult {
    harness.run("train", "m").unwrap_or_else(|error| panic!("{}", error_text(&error)))
}

fn read_json(path: &std::path::Path) -> Json {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The number of trees in an XGBoost JSON model.
pub(crate) fn tree_count(model: &Json) -> usize {
    model["learner"]["gradient_booster"]["model"]["trees"].as_array().map_or(0, Vec::len)
}

#[test]
fn binary_model_is_xgboost_json_and_training_is_deterministic() {
    let first = train_harness(Kind::Binary, 400, true, json!({}));
    let result = run(&first);
    let second = train_harness(Kind::Binary, 400, true, json!({}));
    run(&second);
    let bytes = std::fs::read(first.output_path("model")).unwrap();
    assert_eq!(bytes, std::fs::read(second.output_path("model")).unwrap(), "same data and seed, same model bytes");

    let model: Json = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(model["learner"]["objective"]["name"], "binary:logistic");
    assert_eq!(tree_count(&model), 30);
    assert_eq!(result.rows, Some(400));
    assert_eq!(result.metrics["rounds_trained"], 30.0);
    assert_eq!(result.metrics["best_iteration"], 29.0);
    let logloss = result.metrics["valid_logloss"];
    assert!(logloss > 0.0 && logloss < 0.6, "the model learned something: valid logloss {logloss}");

    let preprocess = read_json(first.output_path("preprocess"));
    assert_eq!(preprocess["features"], json!(["x1", "x2", "x3", "x4"]));
    assert_eq!(preprocess["classes"], json!([false, true]));
    assert_eq!(preprocess["threshold"], json!(0.5));
    assert_eq!(preprocess["task"], "binary");
    assert_eq!(preprocess["input_schema"][3], json!({"name": "x4", "type": "int", "nullable": true}));
}

#[test]
fn multi_threaded_training_is_deterministic_and_seeded() {
    let mut first = train_harness(Kind::Regression, 600, false, json!({"nthread": 2, "subsample": 0.7}));
    run(&first);
    let mut second = train_harness(Kind::Regression, 600, false, json!({"nthread": 2, "subsample": 0.7}));
    run(&second);
    assert_eq!(std::fs::read(first.output_path("model")).unwrap(), std::fs::read(second.output_path("model")).unwrap());
    // A different seed samples different rows.
    first.params(train_params(Kind::Regression, json!({"nthread": 2, "subsample": 0.7, "seed": 1})));
    run(&first);
    second.params(train_params(Kind::Regression, json!({"nthread": 2, "subsample": 0.7, "seed": 2})));
    run(&second);
    assert_ne!(std::fs::read(first.output_path("model")).unwrap(), std::fs::read(second.output_path("model")).unwrap());
}

#[test]
fn early_stopping_keeps_the_best_round() {
    // A high learning rate and deep trees overfit quickly, so validation logloss turns.
    let options = json!({"rounds": 300, "eta": 0.9, "max_depth": 8, "early_stopping": 5});
    let harness = train_harness(Kind::Binary, 300, true, options);
    let result = run(&harness);
    let best = result.metrics["best_iteration"] as usize;
    let trained = result.metrics["rounds_trained"] as usize;
    assert!(trained < 300, "stopped early: {trained} rounds");
    assert_eq!(trained, best + 1 + 5, "stopped 5 rounds after the best");
    let model = read_json(harness.output_path("model"));
    assert_eq!(tree_count(&model), best + 1, "the saved model is the best model");
    assert_eq!(read_json(harness.output_path("preprocess"))["best_iteration"], json!(best));
    assert!(result.notes[0].starts_with("early stopping after"), "{:?}", result.notes);

    // The saved model scores the validation logloss that early stopping recorded for it.
    let retrained = train_harness(Kind::Binary, 300, true, json!({"rounds": best + 1, "eta": 0.9, "max_depth": 8}));
    let again = run(&retrained);
    assert_eq!(
        std::fs::read(retrained.output_path("model")).unwrap(),
        std::fs::read(harness.output_path("model")).unwrap()
    );
    assert_eq!(again.metrics["valid_logloss"], result.metrics["valid_logloss"]);
}

#[test]
fn columns_reordered_for_the_sketch_give_the_table_order_model() {
    // Measured columns first and 0/1 columns last: on two threads, `train` hands XGBoost the
    // columns in another order (see `balance`) and renumbers the model's splits back.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let rows = 600;
    let mut columns: Vec<Column> = Vec::new();
    let measured: Vec<Vec<f64>> = (0..4).map(|_| (0..rows).map(|_| uniform(&mut rng) * 4.0 - 2.0).collect()).collect();
    let flags: Vec<Vec<i64>> =
        (0..4).map(|_| (0..rows).map(|_| i64::from(uniform(&mut rng) < 0.4)).collect()).collect();
    for (index, values) in measured.iter().enumerate() {
        columns.push(Column::new(format!("m{index}").into(), values.clone()));
    }
    for (index, values) in flags.iter().enumerate() {
        columns.push(Column::new(format!("f{index}").into(), values.clone()));
    }
    let label: Vec<bool> = (0..rows)
        .map(|row| {
            let score = measured[0][row] - 0.5 * measured[2][row] * measured[1][row] + flags[1][row] as f64
                - 0.7 * flags[3][row] as f64
                + 0.3 * measured[3][row]
                + uniform(&mut rng)
                - 0.5;
            score > 0.2
        })
        .collect();
    columns.push(Column::new("churned".into(), label));
    let table = DataFrame::new(rows, columns).unwrap();
    let features: Vec<String> = ["m0", "m1", "m2", "m3", "f0", "f1", "f2", "f3"].map(String::from).to_vec();
    let mut models = Vec::new();
    for threads in [1, 2] {
        let mut harness = Harness::new();
        harness.threads = threads;
        let data = harness.path("train.parquet");
        write_parquet(&table, &data).unwrap();
        let options = json!({"objective": "binary:logistic", "rounds": 40, "max_depth": 4, "eta": 0.3, "nthread": 2});
        harness
            .input("data", &data)
            .params(json!({"label": "churned", "task": "binary", "features": features, "xgboost": options}))
            .output("model", "json")
            .output("preprocess", "json");
        run(&harness);
        models.push(std::fs::read(harness.output_path("model")).unwrap());
    }
    let order = {
        let matrix = crate::exec::train::data::FeatureMatrix::from_table(&table, &features, "t").unwrap();
        crate::exec::train::balance::ColumnOrder::for_sketch(&matrix, 2)
    };
    assert!(order.is_some(), "two threads reorder these columns");
    // One thread keeps the table's order; the reordered training saved the same model.
    assert_eq!(String::from_utf8_lossy(&models[1]), String::from_utf8_lossy(&models[0]));
    let model: Json = serde_json::from_slice(&models[1]).unwrap();
    let used: std::collections::BTreeSet<i64> = model["learner"]["gradient_booster"]["model"]["trees"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|tree| {
            let leaves: Vec<bool> = tree["left_children"].as_array().unwrap().iter().map(|c| c == -1).collect();
            let splits: Vec<i64> =
                tree["split_indices"].as_array().unwrap().iter().map(|index| index.as_i64().unwrap()).collect();
            splits.into_iter().zip(leaves).filter(|(_, leaf)| !leaf).map(|(index, _)| index).collect::<Vec<_>>()
        })
        .collect();
    assert!(used.contains(&0) && used.contains(&5), "the model splits on m0 and f1: {used:?}");
}

#[test]
fn multiclass_labels_map_levels_to_classes() {
    let mut harness = train_harness(Kind::Multiclass, 450, true, json!({"early_stopping": 10}));
    let mut params = train_params(Kind::Multiclass, json!({"early_stopping": 10}));
    params["label_levels"] = json!(["gentoo", "adelie", "chinstrap"]);
    harness.params(params);
    let result = run(&harness);
    let model = read_json(harness.output_path("model"));
    assert_eq!(model["learner"]["learner_model_param"]["num_class"], "3");
    assert_eq!(tree_count(&model) % 3, 0);
    assert!(result.metrics["valid_logloss"] < 0.7, "{:?}", result.metrics);
    let preprocess = read_json(harness.output_path("preprocess"));
    assert_eq!(preprocess["classes"], json!(["gentoo", "adelie", "chinstrap"]));
    assert!(preprocess.get("threshold").is_none());
}

#[test]
fn regression_and_softmax_objectives_train() {
    let harness = train_harness(Kind::Regression, 400, true, json!({"early_stopping": 10, "rounds": 100}));
    let result = run(&harness);
    assert!(result.metrics["valid_rmse"] < 1.0, "{:?}", result.metrics);
    let softmax = train_harness(Kind::Multiclass, 300, true, json!({"objective": "multi:softmax"}));
    let result = run(&softmax);
    assert!(result.metrics["valid_logloss"].is_finite());
}

#[test]
fn tuned_values_override_the_options() {
    let mut harness = train_harness(Kind::Binary, 200, false, json!({"rounds": 30}));
    let tuned = harness.write("best.json", json!({"params": {"rounds": 7.0, "max_depth": 2}}).to_string());
    harness.input("tuned", &tuned);
    let result = run(&harness);
    assert_eq!(result.metrics["rounds_trained"], 7.0);
    assert_eq!(tree_count(&read_json(harness.output_path("model"))), 7);
}

#[test]
fn fitted_transforms_are_copied_in_chain_order() {
    let mut harness = train_harness(Kind::Binary, 100, false, json!({"rounds": 2}));
    let second = harness.write("fitted-b.json", r#"{"columns": ["x1"], "ops": [{"op": "drop"}]}"#);
    let first = harness.write(
        "fitted-a.json",
        r#"{"columns": ["x1"], "ops": [], "input_schema": [{"name": "raw", "type": "float", "nullable": false}]}"#,
    );
    harness.input("fitted.zeta", &first).input("fitted.alpha", &second);
    let mut params = train_params(Kind::Binary, json!({"rounds": 2}));
    params["transforms"] = json!([{"name": "zeta", "ops": [{"op": "drop", "columns": ["id"]}]}, "alpha"]);
    harness.params(params);
    run(&harness);
    let preprocess = read_json(harness.output_path("preprocess"));
    assert_eq!(preprocess["transforms"][0]["name"], "zeta");
    assert_eq!(preprocess["transforms"][0]["ops"][0]["columns"], json!(["id"]));
    assert_eq!(preprocess["transforms"][1]["name"], "alpha");
    assert_eq!(preprocess["transforms"][1]["fitted"]["ops"][0]["op"], "drop");
    assert_eq!(preprocess["input_schema"], json!([{"name": "raw", "type": "float", "nullable": false}]));
}

#[test]
fn bad_labels_are_data_errors() {
    let mut harness = Harness::new();
    let data = harness.path("one.parquet");
    write_parquet(&df!("x1" => [1.0, 2.0, 3.0], "churned" => [false, false, false]).unwrap(), &data).unwrap();
    let mut params = train_params(Kind::Binary, json!({}));
    params["features"] = json!(["x1"]);
    harness.input("data", &data).params(params.clone()).output("model", "json");
    let error = error_text(&harness.run("train", "churn").unwrap_err());
    assert_eq!(
        error,
        "label `churned` has only one class (false) in the training table `data`; a classifier needs at least two"
    );
    assert!(!harness.output_path("model").exists(), "nothing written");

    let nulls = harness.path("nulls.parquet");
    write_parquet(&df!("x1" => [1.0, 2.0, 3.0], "churned" => [Some(true), None, Some(false)]).unwrap(), &nulls)
        .unwrap();
    harness.input("data", &nulls);
    let error = error_text(&harness.run("train", "churn").unwrap_err());
    assert!(error.contains("1 missing value (null or NaN)"), "{error}");

    let ints = harness.path("ints.parquet");
    write_parquet(&df!("x1" => [1.0, 2.0, 3.0], "churned" => [0i64, 1, 2]).unwrap(), &ints).unwrap();
    harness.input("data", &ints);
    let error = error_text(&harness.run("train", "churn").unwrap_err());
    assert!(error.contains("has the value 2") && error.contains("0 and 1"), "{error}");
}

#[test]
fn features_default_to_every_column_but_the_label() {
    let mut harness = train_harness(Kind::Regression, 100, false, json!({"rounds": 3}));
    let mut params = train_params(Kind::Regression, json!({"rounds": 3}));
    params.as_object_mut().unwrap().remove("features");
    harness.params(params);
    run(&harness);
    assert_eq!(read_json(harness.output_path("preprocess"))["features"], json!(["x1", "x2", "x3", "x4"]));
}

#[test]
fn thread_count_does_not_change_the_model() {
    // XGBoost 1.6's `hist` gives the same trees with 1, 2 or 4 threads on this data (20,000
    // rows, row and column sampling): `nthread` 0 follows the machine's cores without making
    // models differ between machines. XGBoost does not promise this in general, hence a test.
    let options = |threads: usize| json!({"nthread": threads, "rounds": 50, "max_depth": 6, "subsample": 0.8, "colsample_bytree": 0.8});
    let models: Vec<Vec<u8>> = [1, 2, 4]
        .into_iter()
        .map(|threads| {
            let harness = train_harness(Kind::Binary, 20000, false, options(threads));
            run(&harness);
            std::fs::read(harness.output_path("model")).unwrap()
        })
        .collect();
    assert!(models[0] == models[1] && models[0] == models[2], "same model bytes with 1, 2 and 4 threads");
}
