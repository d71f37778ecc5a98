//! Cross-check against Python XGBoost: models trained by the `train` step, loaded by the
//! official Python package, predict the same values (within 1e-6) as the Rust runtime does.
//!
//! Needs `MLOPSC_TEST_PYTHON`: a Python interpreter with `xgboost` and `numpy`. Without it the
//! test fails and says how to make one; CI installs it.
#![cfg(feature = "exec")]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicBool;

use mlops_stdlib::exec::xgboost::{Booster, DMatrix};
use mlops_stdlib::exec::{self, StepContext};
use polars::prelude::*;
use serde_json::{json, Value as Json};

const HOW_TO: &str = "set MLOPSC_TEST_PYTHON to a Python with xgboost and numpy, for instance:\n\
    python3 -m pip install uv && python3 -m uv venv /tmp/xgb-venv && \
    python3 -m uv pip install --python /tmp/xgb-venv/bin/python xgboost numpy && \
    export MLOPSC_TEST_PYTHON=/tmp/xgb-venv/bin/python";

/// Loads the model, predicts the rows of a CSV of `f32` bit patterns (exact, NaN included)
/// and writes one line of predictions per row.
const PREDICT_PY: &str = r#"
import sys
import numpy as np
import xgboost as xgb

model, features, out = sys.argv[1:4]
bits = np.loadtxt(features, delimiter=",", dtype=np.uint32, ndmin=2)
x = bits.view(np.float32)
booster = xgb.Booster()
booster.load_model(model)
predictions = booster.predict(xgb.DMatrix(x, missing=np.nan))
np.savetxt(out, predictions.reshape(x.shape[0], -1), fmt="%.9g", delimiter=",")
"#;

/// A deterministic table: four features (one with nulls) and the three kinds of label.
fn table(rows: usize) -> DataFrame {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut a, mut b, mut c, mut d) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut binary, mut species, mut price) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rows {
        let (x, y, z, noise) = (next() * 4.0 - 2.0, next() * 4.0 - 2.0, next(), next() - 0.5);
        a.push(x);
        b.push(y);
        c.push(if next() < 0.15 { None } else { Some(z) });
        d.push((next() * 6.0).floor() as i64);
        binary.push(x * y + z - 0.3 + noise > 0.0);
        species.push(["setosa", "versicolor", "virginica"][((x + 2.0 + noise) * 0.75).clamp(0.0, 2.0) as usize]);
        price.push(2.0 * x - y * y + z + noise);
    }
    df!("a" => a, "b" => b, "c" => c, "d" => d, "binary" => binary, "species" => species, "price" => price).unwrap()
}

fn write_parquet(table: &DataFrame, path: &Path) {
    let mut table = table.clone();
    ParquetWriter::new(std::fs::File::create(path).unwrap()).finish(&mut table).unwrap();
}

/// Runs the `train` step and returns the model file.
fn train(dir: &Path, data: &Path, label: &str, task: &str, objective: &str) -> PathBuf {
    let params: BTreeMap<String, Json> = json!({
        "label": label,
        "task": task,
        "features": ["a", "b", "c", "d"],
        "xgboost": {"objective": objective, "rounds": 25, "max_depth": 4, "eta": 0.3, "subsample": 0.9, "seed": 3},
    })
    .as_object()
    .unwrap()
    .clone()
    .into_iter()
    .collect();
    let inputs = BTreeMap::from([("data".to_string(), data.to_path_buf())]);
    let model = dir.join(format!("{label}.json"));
    let outputs = BTreeMap::from([("model".to_string(), model.clone())]);
    let cancel = AtomicBool::new(false);
    let log = |_: &str| {};
    let ctx = StepContext {
        step_id: "train.cross-check",
        kind: "train",
        params: &params,
        inputs: &inputs,
        outputs: &outputs,
        project_dir: dir,
        threads: 2,
        log: &log,
        cancel: &cancel,
    };
    exec::run(&ctx).unwrap_or_else(|error| panic!("train failed: {error}"));
    model
}

/// The features as an `f32` row-major matrix, nulls as NaN.
fn features(table: &DataFrame) -> (Vec<f32>, usize) {
    let columns: Vec<Vec<f32>> = ["a", "b", "c", "d"]
        .iter()
        .map(|name| {
            let column = table.column(name).unwrap().cast(&DataType::Float32).unwrap();
            column.f32().unwrap().iter().map(|value| value.unwrap_or(f32::NAN)).collect()
        })
        .collect();
    let rows = table.height();
    let values = (0..rows).flat_map(|row| columns.iter().map(move |column| column[row])).collect();
    (values, rows)
}

#[test]
fn python_xgboost_predicts_what_the_rust_runtime_predicts() {
    let python = std::env::var("MLOPSC_TEST_PYTHON").unwrap_or_else(|_| panic!("{HOW_TO}"));
    let dir = tempfile::tempdir().unwrap();
    let data_table = table(800);
    let data = dir.path().join("data.parquet");
    write_parquet(&data_table, &data);
    let (values, rows) = features(&data_table);
    let mut csv = String::new();
    for row in values.chunks(4) {
        let line: Vec<String> = row.iter().map(|value| value.to_bits().to_string()).collect();
        writeln!(csv, "{}", line.join(",")).unwrap();
    }
    let features_csv = dir.path().join("features.csv");
    std::fs::write(&features_csv, csv).unwrap();
    let script = dir.path().join("predict.py");
    std::fs::write(&script, PREDICT_PY).unwrap();

    for (label, task, objective) in [
        ("binary", "binary", "binary:logistic"),
        ("species", "multiclass", "multi:softprob"),
        ("price", "regression", "reg:squarederror"),
    ] {
        let model = train(dir.path(), &data, label, task, objective);
        let booster = Booster::load_buffer(&std::fs::read(&model).unwrap()).unwrap();
        let matrix = DMatrix::from_dense(&values, rows, 1).unwrap();
        let rust = booster.predict(&matrix).unwrap();

        let predictions = dir.path().join(format!("{label}.predictions.csv"));
        let output = Command::new(&python)
            .arg(&script)
            .arg(&model)
            .arg(&features_csv)
            .arg(&predictions)
            .output()
            .unwrap_or_else(|error| panic!("cannot run `{python}`: {error}\n{HOW_TO}"));
        assert!(output.status.success(), "python failed: {}", String::from_utf8_lossy(&output.stderr));
        let text = std::fs::read_to_string(&predictions).unwrap();
        let python_values: Vec<f32> =
            text.lines().flat_map(|line| line.split(',').map(|value| value.parse::<f32>().unwrap())).collect();
        assert_eq!(python_values.len(), rust.len(), "{label}: as many predictions");
        assert!(rust.len() >= rows, "{label}: one or more predictions per row");
        for (index, (python, rust)) in python_values.iter().zip(&rust).enumerate() {
            assert!((python - rust).abs() <= 1e-6, "{label}: prediction {index}: python {python} vs rust {rust}");
        }
    }
}
