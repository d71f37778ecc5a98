//! Tests of `tune` on generated tables.

use serde_json::{json, Value as Json};

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::train::tests::{train_harness, Kind};
use crate::exec::StepResult;

fn tune_harness(sampler: &str, trials: usize, parallel: usize, seed: u64) -> Harness {
    let mut harness = train_harness(Kind::Binary, 400, true, json!({"rounds": 25, "early_stopping": 5}));
    let mut params = harness.params.clone().into_iter().collect::<serde_json::Map<String, Json>>();
    params.insert("trials".into(), json!(trials));
    params.insert("sampler".into(), json!(sampler));
    params.insert("metric".into(), json!("logloss"));
    params.insert("goal".into(), json!("minimize"));
    params.insert("parallel".into(), json!(parallel));
    params.insert("seed".into(), json!(seed));
    params.insert(
        "space".into(),
        json!({
            "eta": {"distribution": "log-uniform", "values": [0.001, 1.0]},
            "max_depth": {"distribution": "int", "values": [1, 8]},
            "min_child_weight": {"distribution": "choice", "values": [1, 20, 60]}
        }),
    );
    harness.params(Json::Object(params));
    harness.outputs.clear();
    harness.output("best", "json");
    harness
}

fn run(harness: &Harness) -> (StepResult, Json) {
    let result = harness.run("tune", "m").unwrap_or_else(|error| panic!("{}", error_text(&error)));
    let best = serde_json::from_slice(&std::fs::read(harness.output_path("best")).unwrap()).unwrap();
    (result, best)
}

#[test]
fn random_search_is_deterministic_and_in_range() {
    let (result, best) = run(&tune_harness("random", 8, 1, 3));
    let (_, again) = run(&tune_harness("random", 8, 1, 3));
    assert_eq!(best, again);
    let trials = best["trials"].as_array().unwrap();
    assert_eq!(trials.len(), 8);
    for trial in trials {
        let eta = trial["params"]["eta"].as_f64().unwrap();
        let depth = trial["params"]["max_depth"].as_i64().unwrap();
        assert!((0.001..=1.0).contains(&eta) && (1..=8).contains(&depth), "{trial}");
    }
    let lowest = trials.iter().map(|trial| trial["value"].as_f64().unwrap()).fold(f64::INFINITY, f64::min);
    assert_eq!(best["value"].as_f64(), Some(lowest));
    assert_eq!(result.metrics["logloss"], lowest);
    assert_eq!(best["params"], trials[best["best_trial"].as_u64().unwrap() as usize]["params"]);
    assert_eq!(best["goal"], "minimize");
}

#[test]
fn tpe_is_deterministic_with_parallel_trials() {
    let (_, first) = run(&tune_harness("tpe", 16, 3, 5));
    let (_, second) = run(&tune_harness("tpe", 16, 3, 5));
    assert_eq!(first, second);
    let numbers: Vec<u64> =
        first["trials"].as_array().unwrap().iter().map(|trial| trial["number"].as_u64().unwrap()).collect();
    assert_eq!(numbers, (0..16).collect::<Vec<_>>());
}

#[test]
fn tpe_matches_or_beats_random_search() {
    // Summed over a few seeds, so one lucky random draw does not decide it.
    let (mut tpe, mut random) = (0.0, 0.0);
    for seed in 0..3 {
        tpe += run(&tune_harness("tpe", 30, 2, seed)).1["value"].as_f64().unwrap();
        random += run(&tune_harness("random", 30, 2, seed)).1["value"].as_f64().unwrap();
    }
    assert!(tpe <= random + 1e-9, "tpe {tpe} vs random {random}");
}

#[test]
fn tuned_values_feed_train() {
    let (_, best) = run(&tune_harness("random", 4, 1, 1));
    let mut harness = train_harness(Kind::Binary, 400, true, json!({"rounds": 25, "early_stopping": 5}));
    let path = harness.write("best.json", best.to_string());
    harness.input("tuned", &path);
    let result = harness.run("train", "m").unwrap();
    let winner = &best["trials"][best["best_trial"].as_u64().unwrap() as usize];
    assert_eq!(result.metrics["best_iteration"], winner["best_iteration"].as_f64().unwrap());
    assert_eq!(result.metrics["valid_logloss"], best["value"].as_f64().unwrap(), "train reproduces the trial");
}

#[test]
fn tune_without_validation_data_is_an_error() {
    let mut harness = tune_harness("random", 2, 1, 0);
    harness.inputs.remove("valid");
    let error = error_text(&harness.run("tune", "m").unwrap_err());
    assert!(error.contains("no `valid` table"), "{error}");
}
