//! Tests of `validate` on real Parquet files.

use polars::prelude::*;
use serde_json::{json, Value as Json};

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::{read_parquet, write_parquet};
use crate::exec::StepError;

fn columns() -> Json {
    json!([
        {"column": "id", "type": "string", "nullable": false, "unique": true},
        {"column": "age", "type": "int", "nullable": true, "unique": false, "min": 18, "max": 110},
        {"column": "plan", "type": "category", "nullable": false, "unique": false, "levels": ["basic", "pro"]},
        {"column": "charges", "type": "float", "nullable": false, "unique": false, "min": 0},
    ])
}

fn harness(table: &DataFrame, expect: Json, on_invalid: &str) -> Harness {
    let mut harness = Harness::new();
    let raw = harness.path("raw.parquet");
    write_parquet(table, &raw).unwrap();
    harness
        .params(json!({"columns": columns(), "expect": expect, "on_invalid": on_invalid}))
        .input("raw", &raw)
        .output("table", "parquet")
        .output("report", "json");
    harness
}

fn good() -> DataFrame {
    df!(
        "id" => ["a", "b", "c", "d"],
        "age" => [Some(20i64), None, Some(45), Some(110)],
        "plan" => ["basic", "pro", "pro", "basic"],
        "charges" => [0.0f64, 10.5, 3.0, 99.0],
    )
    .unwrap()
}

fn bad() -> DataFrame {
    df!(
        "id" => [Some("a"), Some("b"), Some("a"), None, Some("e"), Some("f"), Some("g")],
        "age" => [Some(20i64), Some(130), Some(12), None, Some(212), Some(111), Some(300)],
        "plan" => [Some("basic"), Some("gold"), Some("pro"), Some("pro"), None, Some("basic"), Some("basic")],
        "charges" => [1.0f64, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
    )
    .unwrap()
}

fn report(harness: &Harness) -> Json {
    serde_json::from_slice(&std::fs::read(harness.output_path("report")).unwrap()).unwrap()
}

#[test]
fn a_valid_table_passes_through_with_a_report() {
    let expect = json!([
        {"rule": "row-count", "min": 2, "max": 10},
        {"rule": "null-fraction", "column": "age", "max": 0.5},
        {"rule": "unique", "column": "id"},
    ]);
    let harness = harness(&good(), expect, "stop");
    let result = harness.run("validate", "customers").unwrap();
    assert_eq!(result.rows, Some(4));
    assert_eq!(result.notes, ["validation: 11 checks passed"]);
    assert!(read_parquet(harness.output_path("table")).unwrap().equals_missing(&good()));
    let report = report(&harness);
    assert_eq!(report["passed"], json!(true));
    assert_eq!(report["checks"].as_array().unwrap().len(), 11);
    assert_eq!(
        report["checks"][9],
        json!({
            "rule": "null-fraction", "column": "age", "source": "expect", "passed": true, "count": 1,
            "max": 0.5, "value": 0.25, "examples": [],
        })
    );
}

#[test]
fn stop_fails_naming_columns_counts_and_example_rows() {
    let expect = json!([{"rule": "row-count", "min": 10}, {"rule": "null-fraction", "column": "age", "max": 0.1}]);
    let harness = harness(&bad(), expect, "stop");
    let error = harness.run("validate", "customers").unwrap_err();
    assert!(matches!(error, StepError::Data { .. }));
    assert_eq!(
        error_text(&error),
        "validation failed: 8 problems in dataset `customers`\n\
         column `id`: 1 null, but it is not nullable (row 4)\n\
         column `id`: 2 rows share their value with another row (rows 1, 3: `a`, `a`)\n\
         column `age`: 1 value below min 18 (row 3: 12)\n\
         column `age`: 4 values above max 110 (rows 2, 5, 6, 7: 130, 212, 111, 300)\n\
         column `plan`: 1 null, but it is not nullable (row 5)\n\
         column `plan`: 1 value outside the levels `basic`, `pro` (row 2: `gold`)\n\
         row count 7 is below the expected min 10\n\
         column `age`: null fraction 0.1429 (1 of 7 rows) is above the expected max 0.1"
    );
    // The report is written before failing, for `mlopsc step run` users.
    assert_eq!(report(&harness)["problems"], json!(8));
}

#[test]
fn examples_stop_at_five_rows() {
    let ages: Vec<i64> = (0..8).map(|index| 200 + index).collect();
    let table = df!(
        "id" => (0..8).map(|index| format!("c{index}")).collect::<Vec<_>>(),
        "age" => ages,
        "plan" => vec!["pro"; 8],
        "charges" => vec![1.0f64; 8],
    )
    .unwrap();
    let harness = harness(&table, json!([]), "stop");
    let text = error_text(&harness.run("validate", "customers").unwrap_err());
    assert!(
        text.contains("column `age`: 8 values above max 110 (rows 1, 2, 3, 4, 5, …: 200, 201, 202, 203, 204, …)"),
        "{text}"
    );
    let report = report(&harness);
    let examples = report["checks"][3]["examples"].as_array().unwrap();
    assert_eq!(examples.len(), 5);
    assert_eq!(examples[0], json!({"row": 1, "value": 200}));
}

#[test]
fn warn_succeeds_with_notes_and_keeps_every_row() {
    let harness = harness(&bad(), json!([{"rule": "unique", "column": "plan"}]), "warn");
    let result = harness.run("validate", "customers").unwrap();
    assert_eq!(result.notes[0], "validation: 7 problems in dataset `customers` (on-invalid \"warn\": the run goes on)");
    assert_eq!(result.notes.len(), 8);
    assert_eq!(result.notes[7], "column `plan`: 5 rows share their value with another row (rows 1, 3, 4, 6, 7: `basic`, `pro`, `pro`, `basic`, `basic`)");
    assert_eq!(read_parquet(harness.output_path("table")).unwrap().height(), 7);
    assert_eq!(report(&harness)["passed"], json!(false));
}

#[test]
fn a_missing_or_mistyped_column_is_reported_before_any_check() {
    let table = df!("id" => ["a"], "age" => ["old"], "plan" => ["pro"]).unwrap();
    let harness = harness(&table, json!([]), "warn");
    let error = harness.run("validate", "customers").unwrap_err();
    assert_eq!(
        error_text(&error),
        "the table of dataset `customers` does not have the declared columns\n\
         column `age` holds str values, but the schema declares `int`\n\
         column `charges` is missing\n\
         the table has `id`, `age`, `plan`"
    );
}
