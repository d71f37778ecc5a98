//! What the plan holds beyond the fixture listings: every `(param)` resolved to its value, and
//! every step wired to its data even where the columns of a table are unknown.

use mlops_compiler::plan::Plan;
use mlops_compiler::{compile, Compilation};
use serde_json::{json, Value as Json};

fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Every spec that must compile: the `ok` fixtures and the examples.
fn clean_specs() -> Vec<(String, String)> {
    let mut specs = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/fixtures/ok")).expect("ok fixtures exist") {
        let path = entry.expect("readable entry").path();
        let source = std::fs::read_to_string(&path).expect("fixture is readable");
        specs.push((path.display().to_string(), source));
    }
    for entry in std::fs::read_dir(root().join("../examples")).expect("examples exist") {
        let path = entry.expect("readable entry").path().join("mlops.kdl");
        if let Ok(source) = std::fs::read_to_string(&path) {
            specs.push((path.display().to_string(), source));
        }
    }
    specs.sort();
    specs
}

fn plan_of(source: &str) -> (Compilation, Plan) {
    let mut compilation = compile(source, "mlops.kdl");
    let plan = compilation.plan.take().expect("the spec has no errors, so it has a plan");
    (compilation, plan)
}

/// The JSON paths of every `{"param": …}` object under `value`.
fn unresolved(value: &Json, path: &str, found: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            if map.contains_key("param") {
                found.push(path.to_string());
            }
            for (key, inner) in map {
                unresolved(inner, &format!("{path}.{key}"), found);
            }
        }
        Json::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                unresolved(inner, &format!("{path}.{index}"), found);
            }
        }
        _ => {}
    }
}

#[test]
fn no_param_reference_survives_lowering() {
    let specs = clean_specs();
    assert!(specs.len() >= 10, "expected the ok fixtures and the examples, found {}", specs.len());
    for (name, source) in specs {
        let (_, plan) = plan_of(&source);
        let mut found = Vec::new();
        unresolved(&serde_json::to_value(&plan).expect("a plan serializes"), "plan", &mut found);
        assert!(found.is_empty(), "{name}: unresolved `(param)` at {found:?}");
    }
}

#[test]
fn params_in_options_and_arguments_take_their_values() {
    let source = std::fs::read_to_string(root().join("tests/fixtures/ok/params_of_every_type.kdl"))
        .expect("fixture is readable");
    let (_, plan) = plan_of(&source);
    let params = |id: &str| plan.step(id).unwrap_or_else(|| panic!("no step {id}")).params.clone();
    assert_eq!(plan.project.version, "1.0.0");
    let serve = params("serve.churn-api");
    assert_eq!(
        (&serve["max_batch"], &serve["log_predictions"], &serve["port"]),
        (&json!(250), &json!(true), &json!(8081))
    );
    assert_eq!(params("evaluate.churn")["compare_to"][0]["metric"], json!("auc"));
    assert_eq!(params("monitor.churn-drift")["performance"][0]["min"], json!(0.7));
    let validate = params("validate.customers");
    assert_eq!(validate["columns"][0]["max"], json!(110));
    assert_eq!(validate["expect"][0]["min"], json!(100));
    let refs = &plan.step("serve.churn-api").expect("serve step").param_refs;
    assert_eq!(refs.get("max_batch").map(String::as_str), Some("batch"));
}

/// A custom step writes a table without declaring its columns; everything after it reads it.
const UNKNOWN_COLUMNS: &str = r#"
dataset "raw" {
    source "data/raw.csv"
    schema {
        id string
        score float
    }
}

step "s" {
    run "python s.py --in {inputs.raw} --out {outputs.table}"
    input "raw" from="raw"
    output "table"
}

transform "t" from="s" {
    drop "id"
}

split "holdout" from="t" train=0.7 valid=0.1 test=0.2

train "m" data="holdout.train" label="whatever" {
    xgboost objective="binary:logistic"
}

tune "m" metric="auc" {
    eta uniform 0.05 0.3
}

evaluate "m" data="holdout.test" {
    gate "auc" min=0.8
}

register "m-model" model="m"

monitor "m-drift" model="m-model@production" reference="s" current="data/new.csv" {
    drift "psi" threshold=0.2
}
"#;

#[test]
fn a_step_output_without_schema_warns_but_keeps_every_reader_wired() {
    let (compilation, plan) = plan_of(UNKNOWN_COLUMNS);
    let codes: Vec<String> = compilation.diagnostics.iter().map(|diagnostic| diagnostic.code_string()).collect();
    assert_eq!(codes, ["mlops::check::unknown-schema"], "one warning, at the output without a schema");

    let step = |id: &str| plan.step(id).unwrap_or_else(|| panic!("no step {id}"));
    let inputs = |id: &str| -> Vec<String> {
        step(id)
            .inputs
            .iter()
            .map(|input| format!("{} = {}.{}", input.name, input.from.step, input.from.output))
            .collect()
    };
    assert_eq!(inputs("transform.t"), ["data = step.s.table"]);
    assert_eq!(inputs("split.holdout"), ["data = transform.t.table"]);
    assert_eq!(
        inputs("train.m"),
        [
            "data = split.holdout.train",
            "valid = split.holdout.valid",
            "tuned = tune.m.best",
            "fitted.t = transform.t.fitted"
        ]
    );
    assert_eq!(inputs("tune.m"), ["data = split.holdout.train", "valid = split.holdout.valid"]);
    assert_eq!(
        inputs("evaluate.m"),
        ["model = train.m.model", "preprocess = train.m.preprocess", "data = split.holdout.test"]
    );
    assert_eq!(inputs("monitor.m-drift"), ["reference = step.s.table"]);

    // The task is known without the columns; the features are not, so they are left out.
    let train = &step("train.m").params;
    assert_eq!((&train["task"], &train["label"]), (&json!("binary"), &json!("whatever")));
    assert!(!train.contains_key("features"), "features are unknown: {train:?}");
    let evaluate = &step("evaluate.m").params;
    assert_eq!(evaluate["metrics"], json!(["auc", "logloss", "accuracy", "precision", "recall", "f1"]));
    assert_eq!((&evaluate["task"], &evaluate["label"]), (&json!("binary"), &json!("whatever")));

    // Steps come after what they read.
    let position = |id: &str| plan.steps.iter().position(|step| step.id == id).expect("step exists");
    for (before, after) in [("validate.raw", "step.s"), ("split.holdout", "tune.m"), ("tune.m", "train.m")] {
        assert!(position(before) < position(after), "{before} must come before {after}");
    }
    assert!(position("ingest.raw") < position("train.m"));
}
