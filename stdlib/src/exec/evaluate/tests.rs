//! Tests of `evaluate` on models trained by `train` on generated tables.

use serde_json::{json, Value as Json};

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::write_parquet;
use crate::exec::train::tests::{label_and_objective, table, train_harness, Kind};
use crate::exec::StepError;

/// Trains a model and returns a harness for `evaluate` with its `model`, `preprocess` and a
/// fresh test table as inputs.
fn evaluate_harness(kind: Kind, params: Json) -> Harness {
    let trainer = train_harness(kind, 500, true, json!({"rounds": 40}));
    trainer.run("train", "m").unwrap();
    let mut harness = Harness::new();
    let model = harness.write("model.json", std::fs::read(trainer.output_path("model")).unwrap());
    let preprocess = harness.write("preprocess.json", std::fs::read(trainer.output_path("preprocess")).unwrap());
    let data = harness.path("test.parquet");
    write_parquet(&table(kind, 300, 3), &data).unwrap();
    let (label, task, _) = label_and_objective(kind);
    let mut all = json!({"task": task, "label": label, "metrics": [], "gates": [], "compare_to": []});
    for (name, value) in params.as_object().into_iter().flatten() {
        all[name] = value.clone();
    }
    harness.input("model", &model).input("preprocess", &preprocess).input("data", &data);
    harness.params(all).output("report", "json");
    harness
}

fn report(harness: &Harness) -> Json {
    serde_json::from_slice(&std::fs::read(harness.output_path("report")).unwrap()).unwrap()
}

#[test]
fn binary_report_has_metrics_matrix_and_passed_gates() {
    let harness = evaluate_harness(Kind::Binary, json!({"gates": [{"metric": "auc", "min": 0.7}]}));
    let result = harness.run("evaluate", "m").unwrap();
    let report = report(&harness);
    assert_eq!(report["rows"], 300);
    assert_eq!(report["threshold"], 0.5);
    assert_eq!(report["classes"], json!([false, true]));
    for metric in ["auc", "logloss", "accuracy", "precision", "recall", "f1"] {
        // serde_json reads floats back to within an ulp, not always exactly.
        let written = report["metrics"][metric].as_f64().unwrap();
        assert!((written - result.metrics[metric]).abs() < 1e-12, "{metric}");
    }
    let matrix = report["confusion_matrix"].as_array().unwrap();
    let total: u64 = matrix.iter().flat_map(|row| row.as_array().unwrap()).map(|count| count.as_u64().unwrap()).sum();
    assert_eq!(total, 300);
    assert_eq!(report["gates"][0]["passed"], true);
    assert!(result.metrics["auc"] > 0.8, "{:?}", result.metrics);
    assert_eq!(result.rows, Some(300));
}

#[test]
fn failed_gates_are_one_message_and_write_nothing() {
    let gates = json!([
        {"metric": "auc", "min": 0.9999},
        {"metric": "logloss", "max": 0.0001},
        {"metric": "accuracy", "min": 0.1}
    ]);
    let harness = evaluate_harness(Kind::Binary, json!({"metrics": ["auc"], "gates": gates}));
    let error = harness.run("evaluate", "m").unwrap_err();
    let StepError::Gate(message) = &error else { panic!("a gate error, not {error:?}") };
    let parts: Vec<&str> = message.split("; ").collect();
    assert_eq!(parts.len(), 2, "{message}");
    assert!(parts[0].starts_with("gate failed: auc 0.") && parts[0].ends_with(" < 0.9999"), "{message}");
    assert!(parts[1].starts_with("gate failed: logloss 0.") && parts[1].ends_with(" > 0.0001"), "{message}");
    assert!(!harness.output_path("report").exists());
}

#[test]
fn champions_are_compared_with_tolerance() {
    let compare = json!([
        {"model": "churn", "alias": "production", "metric": "auc", "tolerance": 0.0},
        {"model": "churn", "alias": "staging", "metric": "logloss", "tolerance": 0.01}
    ]);
    let mut harness = evaluate_harness(Kind::Binary, json!({"compare_to": compare}));
    // No champion yet: notes, and the step passes.
    let result = harness.run("evaluate", "m").unwrap();
    assert_eq!(result.notes[0], "no model under churn@production yet; nothing to compare");
    let auc = result.metrics["auc"];
    let logloss = result.metrics["logloss"];

    // A weaker champion passes; a much better one fails, naming both values.
    let weaker = harness.write("weaker.json", json!({"metrics": {"auc": auc - 0.05, "logloss": logloss}}).to_string());
    harness.input("compare_to.0", &weaker).input("compare_to.1", &weaker);
    harness.run("evaluate", "m").unwrap();
    assert_eq!(report(&harness)["compare_to"][0]["passed"], true);
    std::fs::remove_file(harness.output_path("report")).unwrap();

    let stronger =
        harness.write("stronger.json", json!({"metrics": {"auc": 0.999, "logloss": logloss - 0.005}}).to_string());
    harness.input("compare_to.0", &stronger).input("compare_to.1", &stronger);
    let error = harness.run("evaluate", "m").unwrap_err().to_string();
    assert!(error.starts_with("worse than churn@production: auc 0."), "{error}");
    assert!(error.contains("< 0.9990 (the champion's, tolerance 0)"), "{error}");
    assert!(!error.contains("churn@staging"), "within tolerance: {error}");
    assert!(!harness.output_path("report").exists());
}

#[test]
fn multiclass_and_regression_reports() {
    let harness = evaluate_harness(Kind::Multiclass, json!({"gates": [{"metric": "accuracy", "min": 0.6}]}));
    let result = harness.run("evaluate", "m").unwrap();
    let multiclass = report(&harness);
    assert_eq!(multiclass["classes"], json!(["adelie", "chinstrap", "gentoo"]));
    assert_eq!(multiclass["confusion_matrix"].as_array().unwrap().len(), 3);
    assert!(multiclass.get("threshold").is_none());
    assert!(result.metrics["accuracy"] > 0.6 && result.metrics.contains_key("f1"));

    let harness = evaluate_harness(Kind::Regression, json!({"metrics": ["rmse", "r2"]}));
    let result = harness.run("evaluate", "m").unwrap();
    let regression = report(&harness);
    assert!(regression.get("confusion_matrix").is_none());
    assert_eq!(result.metrics.keys().collect::<Vec<_>>(), vec!["r2", "rmse"]);
    assert!(result.metrics["r2"] > 0.8, "{:?}", result.metrics);
}

#[test]
fn without_preprocess_the_features_are_the_other_columns() {
    let mut harness = evaluate_harness(Kind::Binary, json!({}));
    let with = harness.run("evaluate", "m").unwrap();
    harness.inputs.remove("preprocess");
    let without = harness.run("evaluate", "m").unwrap();
    assert_eq!(with.metrics, without.metrics);
}

#[test]
fn a_test_table_without_a_feature_is_a_data_error() {
    let mut harness = evaluate_harness(Kind::Binary, json!({}));
    let data = harness.path("narrow.parquet");
    let narrow = table(Kind::Binary, 20, 4).drop("x3").unwrap();
    write_parquet(&narrow, &data).unwrap();
    harness.input("data", &data);
    let error = error_text(&harness.run("evaluate", "m").unwrap_err());
    assert!(error.starts_with("feature `x3` is not a column of the scored table `data`"), "{error}");
}
