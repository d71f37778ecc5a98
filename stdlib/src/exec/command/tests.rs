//! Tests of custom `step` commands, run through the real `sh`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use polars::prelude::*;
use serde_json::json;

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::{read_parquet, write_parquet};
use crate::exec::{StepContext, StepError};

fn raw_table(harness: &Harness) -> std::path::PathBuf {
    let path = harness.path("raw.parquet");
    write_parquet(&df!("id" => ["a", "b"], "x" => [1i64, 2]).unwrap(), &path).unwrap();
    path
}

#[test]
fn placeholders_tables_and_logs() {
    let mut harness = Harness::new();
    let raw = raw_table(&harness);
    harness.input("raw", &raw).output("copy", "csv").output("table", "parquet");
    harness.params(json!({
        "run": "cp {inputs.raw} {outputs.copy} && printf 'id,x2,kind\\na,2,big\\nb,4,small\\n' > {outputs.table} && echo hello && echo careful >&2 && echo {inputs_dir}",
        "code": [],
        "env": {},
        "output_schemas": {"table": [
            {"name": "id", "type": "string", "nullable": false},
            {"name": "x2", "type": "float", "nullable": false},
            {"name": "kind", "type": "category", "nullable": false, "levels": ["big", "small"]}
        ]}
    }));
    let result = harness.run("step", "double").unwrap_or_else(|error| panic!("{}", error_text(&error)));
    assert_eq!(std::fs::read_to_string(harness.output_path("copy")).unwrap(), "id,x\na,1\nb,2\n");
    let table = read_parquet(harness.output_path("table")).unwrap();
    assert_eq!(table.get_column_names(), ["id", "x2", "kind"]);
    assert_eq!(table.column("x2").unwrap().dtype(), &DataType::Float64);
    assert_eq!(result.rows, Some(2));
    let logged = harness.logged.lock().unwrap().clone();
    for line in ["hello", "careful", "{inputs_dir}"] {
        assert!(logged.iter().any(|logged| logged == line), "{line} in {logged:?}");
    }
    assert!(logged[0].starts_with("$ cp /"), "the command line is logged with absolute paths: {logged:?}");
    let leftovers: Vec<_> =
        std::fs::read_dir(harness.path("out")).unwrap().map(|entry| entry.unwrap().file_name()).collect();
    assert_eq!(leftovers.len(), 2, "the temporary folder is gone: {leftovers:?}");
}

#[test]
fn paths_with_spaces_are_quoted() {
    let mut harness = Harness::new();
    let input = harness.write("my data/it's.txt", "hello\n");
    harness.input("f", &input).output("o", "txt");
    harness.params(json!({"run": "tr a-z A-Z < {inputs.f} > {outputs.o}"}));
    harness.run("step", "upper").unwrap_or_else(|error| panic!("{}", error_text(&error)));
    assert_eq!(std::fs::read_to_string(harness.output_path("o")).unwrap(), "HELLO\n");
}

#[test]
fn missing_secrets_and_env_are_named_with_the_fix() {
    let mut harness = Harness::new();
    harness.output("o", "txt");
    harness.params(json!({
        "run": "echo never > {outputs.o}",
        "env": {
            "API_TOKEN": {"secret": "MLOPSC_TEST_UNSET_SECRET_42"},
            "PROXY": {"env": "MLOPSC_TEST_UNSET_ENV_42"},
            "LEVEL": "info"
        }
    }));
    let error = harness.run("step", "embed").unwrap_err();
    let StepError::Command(message) = &error else { panic!("a command error, not {error:?}") };
    assert!(message.contains("secret `MLOPSC_TEST_UNSET_SECRET_42` (for `API_TOKEN`): provide it with `export MLOPSC_TEST_UNSET_SECRET_42=…`"), "{message}");
    assert!(message.contains("environment variable `MLOPSC_TEST_UNSET_ENV_42` (for `PROXY`)"), "{message}");
    assert!(!harness.output_path("o").exists(), "the command did not run");

    harness.params(json!({
        "run": "test \"$LEVEL\" = info && test \"$ROUNDS\" = 3 && test -n \"$FROM_PATH\" && echo ok > {outputs.o}",
        "env": {"LEVEL": "info", "ROUNDS": 3, "FROM_PATH": {"env": "PATH"}}
    }));
    harness.run("step", "embed").unwrap_or_else(|error| panic!("{}", error_text(&error)));
    assert_eq!(std::fs::read_to_string(harness.output_path("o")).unwrap(), "ok\n");
}

#[test]
fn a_failing_command_reports_its_code_and_stderr() {
    let mut harness = Harness::new();
    harness.output("o", "txt");
    harness.params(json!({"run": "echo first >&2; echo second >&2; exit 3"}));
    let error = harness.run("step", "fails").unwrap_err();
    let StepError::Command(message) = &error else { panic!("a command error, not {error:?}") };
    assert!(message.starts_with("the command of step `step.fails` exited with code 3"), "{message}");
    assert!(message.ends_with("last lines of stderr:\n  first\n  second"), "{message}");
}

#[test]
fn outputs_the_command_did_not_write_or_got_wrong_are_errors() {
    let mut harness = Harness::new();
    harness.output("model", "json");
    harness.params(json!({"run": "true"}));
    let error = harness.run("step", "lazy").unwrap_err().to_string();
    assert!(error.contains("did not write output `model`"), "{error}");

    let mut harness = Harness::new();
    harness.output("table", "parquet");
    harness.params(json!({
        "run": "printf 'id,extra\\na,1\\n' > {outputs.table}",
        "output_schemas": {"table": [{"name": "id", "type": "string", "nullable": false}, {"name": "score", "type": "float", "nullable": false}]}
    }));
    let error = error_text(&harness.run("step", "wrong").unwrap_err());
    assert!(error.contains("missing: `score`") && error.contains("not declared: `extra`"), "{error}");

    harness.params(json!({
        "run": "printf 'score\\n1.5\\nabc\\n' > {outputs.table}",
        "output_schemas": {"table": [{"name": "score", "type": "float", "nullable": false}]}
    }));
    let error = error_text(&harness.run("step", "wrong").unwrap_err());
    assert!(error.contains("row 2 holds `abc`"), "{error}");
}

#[test]
fn cancelling_stops_the_command() {
    let harness = Harness::new();
    let params: BTreeMap<String, serde_json::Value> = [("run".to_string(), json!("sleep 30; echo late"))].into();
    let inputs = BTreeMap::new();
    let outputs = BTreeMap::new();
    let cancel = AtomicBool::new(false);
    let log = |_: &str| {};
    let ctx = StepContext {
        step_id: "step.slow",
        kind: "step",
        params: &params,
        inputs: &inputs,
        outputs: &outputs,
        project_dir: harness.dir.path(),
        threads: 1,
        log: &log,
        cancel: &cancel,
    };
    let started = Instant::now();
    let error = std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(300));
            cancel.store(true, Ordering::Relaxed);
        });
        crate::exec::run(&ctx).unwrap_err()
    });
    assert!(matches!(error, StepError::Cancelled), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}
