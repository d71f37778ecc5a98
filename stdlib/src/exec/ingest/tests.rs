//! Tests of `ingest` on real CSV, Parquet and NDJSON files.

use polars::prelude::*;
use serde_json::json;

use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::{read_parquet, write_parquet};

fn schema() -> serde_json::Value {
    json!([
        {"name": "id", "type": "string", "nullable": false},
        {"name": "age", "type": "int", "nullable": true},
        {"name": "score", "type": "float", "nullable": false},
        {"name": "active", "type": "bool", "nullable": false},
        {"name": "plan", "type": "category", "nullable": false, "levels": ["basic", "pro"]},
        {"name": "joined", "type": "date", "nullable": false},
        {"name": "seen", "type": "datetime", "nullable": true},
    ])
}

const CUSTOMERS: &str = "\
seen,id,age,score,active,plan,joined,notes
2024-01-02 10:00:00,c1,34,1.5,true,basic,2020-01-31,hi
,c2,,2,false,pro,2021-02-28,
2024-03-04T05:06:07.25,c3,51,-0.25,1,pro,2022-12-01,x
";

fn ingest(harness: &mut Harness, paths: serde_json::Value) -> &mut Harness {
    harness
        .params(json!({"paths": paths, "format": "auto", "delimiter": ",", "schema": schema()}))
        .output("raw", "parquet")
}

#[test]
fn csv_is_read_with_the_declared_types_and_order() {
    let mut harness = Harness::new();
    harness.write("data/customers.csv", CUSTOMERS);
    ingest(&mut harness, json!(["data/customers.csv"]));
    let result = harness.run("ingest", "customers").unwrap();
    assert_eq!(result.rows, Some(3));
    assert_eq!(result.notes, ["ignored 1 column not in the schema: `notes`"]);
    let raw = read_parquet(harness.output_path("raw")).unwrap();
    let names: Vec<&str> = raw.get_column_names().into_iter().map(|name| name.as_str()).collect();
    assert_eq!(names, ["id", "age", "score", "active", "plan", "joined", "seen"]);
    let dtypes = raw.dtypes();
    assert_eq!(
        dtypes,
        [
            DataType::String,
            DataType::Int64,
            DataType::Float64,
            DataType::Boolean,
            DataType::String,
            DataType::Date,
            DataType::Datetime(TimeUnit::Microseconds, None)
        ]
    );
    let age: Vec<Option<i64>> = raw.column("age").unwrap().i64().unwrap().iter().collect();
    assert_eq!(age, [Some(34), None, Some(51)]);
    let active: Vec<Option<bool>> = raw.column("active").unwrap().bool().unwrap().iter().collect();
    assert_eq!(active, [Some(true), Some(false), Some(true)]);
    assert_eq!(raw.column("seen").unwrap().null_count(), 1);
}

#[test]
fn globs_concatenate_files_in_sorted_order_and_output_bytes_are_stable() {
    let mut harness = Harness::new();
    let header = "id,age,score,active,plan,joined,seen\n";
    harness.write("data/part-2.csv", format!("{header}b,2,2.0,false,pro,2020-01-02,\n"));
    harness.write("data/part-1.csv", format!("{header}a,1,1.0,true,basic,2020-01-01,\n"));
    ingest(&mut harness, json!(["data/part-*.csv"]));
    harness.run("ingest", "customers").unwrap();
    let raw = read_parquet(harness.output_path("raw")).unwrap();
    let ids: Vec<Option<&str>> = raw.column("id").unwrap().str().unwrap().iter().collect();
    assert_eq!(ids, [Some("a"), Some("b")]);
    let first = std::fs::read(harness.output_path("raw")).unwrap();
    harness.run("ingest", "customers").unwrap();
    assert_eq!(first, std::fs::read(harness.output_path("raw")).unwrap());
}

#[test]
fn parquet_and_ndjson_sources_are_cast_to_the_schema() {
    let mut harness = Harness::new();
    let table = df!(
        "x" => [1i32, 2, 3],
        "y" => [1.0f64, 2.0, 3.5],
        "when" => ["2024-01-01", "2024-01-02", "2024-01-03"],
    )
    .unwrap();
    std::fs::create_dir_all(harness.path("data")).unwrap();
    write_parquet(&table, &harness.path("data/a.parquet")).unwrap();
    harness.write("data/b.ndjson", "{\"x\": 4, \"y\": 1, \"when\": \"2024-02-01\"}\n");
    harness
        .params(json!({
            "paths": ["data/a.parquet", "data/b.ndjson"],
            "format": "auto",
            "delimiter": ",",
            "schema": [
                {"name": "x", "type": "int", "nullable": false},
                {"name": "y", "type": "float", "nullable": false},
                {"name": "when", "type": "date", "nullable": false},
            ],
        }))
        .output("raw", "parquet");
    let result = harness.run("ingest", "events").unwrap();
    assert_eq!(result.rows, Some(4));
    let raw = read_parquet(harness.output_path("raw")).unwrap();
    assert_eq!(raw.dtypes(), [DataType::Int64, DataType::Float64, DataType::Date]);
}

#[test]
fn an_empty_field_is_null_in_every_column_but_a_quoted_one_is_text() {
    let mut harness = Harness::new();
    harness.write("data/e.csv", "a,b,c\n,1,\nx,,\"\"\n");
    harness
        .params(json!({
            "paths": ["data/e.csv"],
            "format": "auto",
            "delimiter": ",",
            "schema": [
                {"name": "a", "type": "string", "nullable": true},
                {"name": "b", "type": "int", "nullable": true},
                {"name": "c", "type": "category", "nullable": true},
            ],
        }))
        .output("raw", "parquet");
    harness.run("ingest", "e").unwrap();
    let raw = read_parquet(harness.output_path("raw")).unwrap();
    let nulls: Vec<usize> = raw.columns().iter().map(|column| column.null_count()).collect();
    assert_eq!(nulls, [1, 1, 1]);
    assert_eq!(raw.column("c").unwrap().str().unwrap().get(1), Some(""));
}

#[test]
fn a_delimiter_other_than_a_comma_is_used() {
    let mut harness = Harness::new();
    harness.write("data/p.csv", "a;b\n1;x\n2;y\n");
    harness
        .params(json!({
            "paths": ["data/p.csv"],
            "format": "csv",
            "delimiter": ";",
            "schema": [{"name": "a", "type": "int", "nullable": false}, {"name": "b", "type": "string", "nullable": false}],
        }))
        .output("raw", "parquet");
    assert_eq!(harness.run("ingest", "p").unwrap().rows, Some(2));
}

#[test]
fn a_value_of_the_wrong_type_names_file_column_row_and_value() {
    let mut harness = Harness::new();
    let text = CUSTOMERS.replace(",c2,,2,", ",c2,abc,2,").replace(",c3,51,", ",c3,5x,");
    harness.write("data/customers.csv", text);
    ingest(&mut harness, json!(["data/customers.csv"]));
    let error = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(
        error_text(&error),
        "`data/customers.csv`, column `age`, row 2: `abc` is not an int\n\
         1 more value in this column cannot be read as int\n\
         the dataset's schema declares `age` as `int`"
    );
}

#[test]
fn a_bad_value_far_into_a_file_names_its_row_in_the_file() {
    // Far past the first block of lines (tiny in tests): the file is read again whole to name
    // the row.
    let mut text = String::from("id,age,score,active,plan,joined,seen\n");
    for row in 0..200 {
        let age = if row == 150 { "old".to_string() } else { row.to_string() };
        text.push_str(&format!("c{row},{age},1.5,true,basic,2020-01-31,\n"));
    }
    let mut harness = Harness::new();
    harness.write("data/customers.csv", &text);
    ingest(&mut harness, json!(["data/customers.csv"]));
    let text = error_text(&harness.run("ingest", "customers").unwrap_err());
    assert!(text.contains("row 151") && text.contains("`old`") && text.contains("`age`"), "{text}");
    assert_eq!(harness.logged.lock().unwrap()[0], super::FELL_BACK);
}

#[test]
fn a_file_read_in_blocks_keeps_every_row_in_order() {
    let mut text = String::from("id,age,score,active,plan,joined,seen\n");
    for row in 0..300 {
        text.push_str(&format!("c{row},{},{}.25,{},pro,2021-02-28,\n", row % 90, row, row % 2 == 0));
    }
    let mut harness = Harness::new();
    harness.write("data/customers.csv", &text);
    ingest(&mut harness, json!(["data/customers.csv"]));
    let result = harness.run("ingest", "customers").unwrap();
    assert_eq!(result.rows, Some(300));
    assert_eq!(*harness.logged.lock().unwrap(), ["read 300 rows from `data/customers.csv`"], "read in blocks");
    let raw = read_parquet(harness.output_path("raw")).unwrap();
    let ids: Vec<String> = (0..300).map(|row| format!("c{row}")).collect();
    let read: Vec<&str> = raw.column("id").unwrap().str().unwrap().iter().flatten().collect();
    assert_eq!(read, ids, "every row once, in file order");
    let scores: Vec<f64> = raw.column("score").unwrap().f64().unwrap().iter().flatten().collect();
    assert_eq!(scores, (0..300).map(|row| row as f64 + 0.25).collect::<Vec<_>>());
}

#[test]
fn numbers_polars_refuses_are_read_by_the_text_path_with_the_same_result() {
    // Numbers are read by polars' typed CSV parser; a value it refuses (spaces around an int,
    // a blank float) sends the whole file through the text path, which reads the same values.
    let typed = CUSTOMERS.replace(",c3,51,-0.25,", ",c3,51,1e3,");
    let spaced = typed.replace(",c1,34,", ",c1, 34 ,").replace(",c2,,2,", ",c2,,  ,");
    let mut tables = Vec::new();
    for text in [&typed, &spaced] {
        let mut harness = Harness::new();
        harness.write("data/customers.csv", text);
        ingest(&mut harness, json!(["data/customers.csv"]));
        harness.run("ingest", "customers").unwrap();
        tables.push(read_parquet(harness.output_path("raw")).unwrap());
    }
    let age: Vec<Option<i64>> = tables[1].column("age").unwrap().i64().unwrap().iter().collect();
    assert_eq!(age, [Some(34), None, Some(51)]);
    let score: Vec<Option<f64>> = tables[0].column("score").unwrap().f64().unwrap().iter().collect();
    assert_eq!(score, [Some(1.5), Some(2.0), Some(1000.0)]);
    let blank: Vec<Option<f64>> = tables[1].column("score").unwrap().f64().unwrap().iter().collect();
    assert_eq!(blank, [Some(1.5), None, Some(1000.0)]);
    assert!(tables[0].drop("score").unwrap().equals_missing(&tables[1].drop("score").unwrap()));
}

#[test]
fn missing_columns_are_named() {
    let mut harness = Harness::new();
    harness.write("data/customers.csv", "id,age\nc1,3\n");
    ingest(&mut harness, json!(["data/customers.csv"]));
    let error = harness.run("ingest", "customers").unwrap_err();
    let text = error_text(&error);
    assert!(
        text.starts_with("`data/customers.csv` has no columns `score`, `active`, `plan`, `joined`, `seen`\n"),
        "{text}"
    );
    assert!(text.ends_with("the file has `id`, `age`"), "{text}");
}

#[test]
fn missing_files_empty_globs_and_corrupt_files_are_named() {
    let mut harness = Harness::new();
    ingest(&mut harness, json!(["data/customers.csv"]));
    let missing = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(missing.to_string(), "source file `data/customers.csv` does not exist");

    ingest(&mut harness, json!(["data/*.csv"]));
    let empty = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(empty.to_string(), "no file matches source `data/*.csv`");

    harness.write("data/broken.parquet", b"PAR1 definitely not parquet PAR1");
    ingest(&mut harness, json!(["data/broken.parquet"]));
    let corrupt = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(corrupt.to_string(), "cannot read `data/broken.parquet` as parquet");

    harness.write("data/ragged.csv", "id,age\nc1,3\nc2,4,5,6\n");
    ingest(&mut harness, json!(["data/ragged.csv"]));
    let ragged = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(ragged.to_string(), "cannot read `data/ragged.csv` as csv");

    harness.write("data/table.xlsx", b"");
    ingest(&mut harness, json!(["data/table.xlsx"]));
    let unknown = harness.run("ingest", "customers").unwrap_err();
    assert_eq!(unknown.to_string(), "cannot tell the format of `data/table.xlsx` from its extension");
}

#[test]
fn files_with_different_columns_need_a_schema() {
    let mut harness = Harness::new();
    harness.write("data/a.csv", "x\n1\n");
    harness.write("data/b.csv", "y\n2\n");
    harness.params(json!({"paths": ["data/*.csv"], "format": "auto", "delimiter": ","})).output("raw", "parquet");
    let error = harness.run("ingest", "loose").unwrap_err();
    assert_eq!(error.to_string(), "`data/b.csv` does not have the columns of `data/a.csv`");
}

#[test]
fn a_long_delimiter_is_refused() {
    let mut harness = Harness::new();
    harness.write("data/a.csv", "x\n1\n");
    harness.params(json!({"paths": ["data/a.csv"], "format": "csv", "delimiter": ";;"})).output("raw", "parquet");
    let error = harness.run("ingest", "a").unwrap_err();
    assert_eq!(error.to_string(), "the CSV delimiter must be a single ASCII character, found `;;`");
}
