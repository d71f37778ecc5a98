//! Tests of `transform` on real Parquet files: every operation, expressions, fitted output,
//! replay and errors.

use polars::prelude::*;
use serde_json::{json, Value as Json};

use super::replay;
use crate::exec::table::testing::{error_text, Harness};
use crate::exec::table::{read_parquet, write_parquet};

fn customers() -> DataFrame {
    df!(
        "customer_id" => ["c1", "c2", "c3", "c4", "c5"],
        "age" => [Some(30i64), None, Some(50), Some(17), Some(41)],
        "plan" => [Some("basic"), Some("pro"), Some("pro"), None, Some("enterprise")],
        "monthly_charges" => [10.0f64, 20.0, 30.0, 40.0, 50.0],
        "tenure_months" => [0i64, 1, 3, 9, 4],
        "churned" => [true, false, false, true, false],
    )
    .unwrap()
}

fn run(table: &DataFrame, ops: Json) -> (Harness, Result<crate::exec::StepResult, crate::exec::StepError>) {
    let mut harness = Harness::new();
    let data = harness.path("data.parquet");
    write_parquet(table, &data).unwrap();
    harness.params(json!({"ops": ops})).input("data", &data).output("table", "parquet").output("fitted", "json");
    let result = harness.run("transform", "features");
    (harness, result)
}

fn output(harness: &Harness) -> DataFrame {
    read_parquet(harness.output_path("table")).unwrap()
}

fn fitted(harness: &Harness) -> Json {
    serde_json::from_slice(&std::fs::read(harness.output_path("fitted")).unwrap()).unwrap()
}

fn names(table: &DataFrame) -> Vec<String> {
    table.get_column_names().into_iter().map(|name| name.to_string()).collect()
}

fn floats(table: &DataFrame, column: &str) -> Vec<Option<f64>> {
    table.column(column).unwrap().f64().unwrap().iter().collect()
}

fn ints(table: &DataFrame, column: &str) -> Vec<Option<i64>> {
    table.column(column).unwrap().i64().unwrap().iter().collect()
}

fn churn_ops() -> Json {
    json!([
        {"op": "drop", "columns": ["customer_id"]},
        {"op": "impute", "columns": ["age"], "strategy": "median"},
        {"op": "one-hot", "columns": ["plan"], "drop_first": false, "levels": {"plan": ["basic", "pro", "enterprise"]}},
        {"op": "derive", "column": "charge_per_tenure", "expr": "monthly_charges / (tenure_months + 1)"},
        {"op": "filter", "expr": "age >= 18"},
        {"op": "scale", "columns": ["monthly_charges", "charge_per_tenure"], "method": "standard"},
    ])
}

#[test]
fn the_churn_transform_runs_and_records_what_it_fitted() {
    let (harness, result) = run(&customers(), churn_ops());
    let result = result.unwrap();
    assert_eq!(result.rows, Some(4));
    assert_eq!(result.notes, ["filter `age >= 18` kept 4 of 5 rows"]);
    let table = output(&harness);
    assert_eq!(
        names(&table),
        [
            "age",
            "plan_basic",
            "plan_pro",
            "plan_enterprise",
            "monthly_charges",
            "tenure_months",
            "churned",
            "charge_per_tenure"
        ]
    );
    // The median of 30, 50, 17, 41 is 35.5, rounded half away from zero for an int column.
    assert_eq!(ints(&table, "age"), [Some(30), Some(36), Some(50), Some(41)]);
    assert_eq!(ints(&table, "plan_pro"), [Some(0), Some(1), Some(1), Some(0)]);
    assert_eq!(ints(&table, "plan_enterprise"), [Some(0), Some(0), Some(0), Some(1)]);
    let charges = floats(&table, "monthly_charges");
    let mean: f64 = charges.iter().map(|value| value.unwrap()).sum::<f64>() / 4.0;
    assert!(mean.abs() < 1e-12, "{charges:?}");
    let fitted = fitted(&harness);
    assert_eq!(fitted["ops"][0], json!({"op": "drop"}));
    assert_eq!(fitted["ops"][1], json!({"op": "impute", "strategy": "median", "values": {"age": 36}}));
    assert_eq!(
        fitted["ops"][2],
        json!({"op": "one-hot", "drop_first": false, "levels": {"plan": ["basic", "pro", "enterprise"]}})
    );
    // Scaling is fitted after the filter: on the four rows that are left.
    assert_eq!(fitted["ops"][5]["stats"]["monthly_charges"], json!({"mean": 27.5, "std": 14.79019945774904}));
    assert_eq!(fitted["columns"].as_array().unwrap().len(), 8);
}

#[test]
fn output_bytes_are_the_same_every_run() {
    let (first, _) = run(&customers(), churn_ops());
    let (second, _) = run(&customers(), churn_ops());
    assert_eq!(std::fs::read(first.output_path("table")).unwrap(), std::fs::read(second.output_path("table")).unwrap());
    assert_eq!(
        std::fs::read(first.output_path("fitted")).unwrap(),
        std::fs::read(second.output_path("fitted")).unwrap()
    );
}

#[test]
fn replay_uses_the_fitted_statistics() {
    let (harness, result) = run(&customers(), churn_ops());
    result.unwrap();
    let fitted = fitted(&harness);
    let request = df!(
        "customer_id" => ["new"],
        "age" => [None::<i64>],
        "plan" => ["enterprise"],
        "monthly_charges" => [27.5f64],
        "tenure_months" => [10i64],
        "churned" => [false],
    )
    .unwrap();
    let replayed = replay(request, &churn_ops(), &fitted).unwrap();
    assert_eq!(names(&replayed), names(&output(&harness)));
    assert_eq!(ints(&replayed, "age"), [Some(36)]);
    assert_eq!(ints(&replayed, "plan_enterprise"), [Some(1)]);
    assert_eq!(floats(&replayed, "monthly_charges"), [Some(0.0)]);
}

#[test]
fn impute_strategies_fill_every_type() {
    let table = df!(
        "i" => [Some(1i64), None, Some(2), Some(2)],
        "f" => [Some(1.0f64), Some(2.0), None, Some(4.5)],
        "s" => [Some("b"), Some("a"), None, Some("a")],
        "t" => [Some(true), None, Some(false), Some(true)],
        "g" => [None, Some("x"), Some("y"), None],
    )
    .unwrap();
    let ops = json!([
        {"op": "impute", "columns": ["i"], "strategy": "mean"},
        {"op": "impute", "columns": ["f"], "strategy": "mean"},
        {"op": "impute", "columns": ["s", "t"], "strategy": "mode"},
        {"op": "impute", "columns": ["g"], "strategy": "constant", "value": "none"},
    ]);
    let (harness, result) = run(&table, ops);
    result.unwrap();
    let out = output(&harness);
    assert_eq!(ints(&out, "i"), [Some(1), Some(2), Some(2), Some(2)]);
    assert_eq!(floats(&out, "f")[2], Some(2.5));
    let text: Vec<Option<&str>> = out.column("s").unwrap().str().unwrap().iter().collect();
    assert_eq!(text, [Some("b"), Some("a"), Some("a"), Some("a")]);
    assert_eq!(out.column("t").unwrap().bool().unwrap().get(1), Some(true));
    assert_eq!(out.column("g").unwrap().str().unwrap().get(0), Some("none"));
    assert_eq!(fitted(&harness)["ops"][2]["values"], json!({"s": "a", "t": true}));
}

#[test]
fn impute_needs_values_and_fitting_constants() {
    let table = df!("x" => [None::<f64>, None], "n" => [Some(1i64), None]).unwrap();
    let (_, result) = run(&table, json!([{"op": "impute", "columns": ["x"], "strategy": "median"}]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "cannot impute column `x` with its median: it has no values, in operation 1 (`impute`) of transform `features`"
    );
    let (_, result) = run(&table, json!([{"op": "impute", "columns": ["n"], "strategy": "constant", "value": "zero"}]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "the fill value \"zero\" does not fit column `n`, which holds i64 values, in operation 1 (`impute`) of transform `features`"
    );
}

#[test]
fn of_several_columns_that_cannot_be_imputed_the_first_is_named() {
    // Fill values are fitted on every core; the error is still the first column's.
    let table = df!("ok" => [Some(1.0f64), None], "text" => ["a", "b"], "empty" => [None::<f64>, None]).unwrap();
    for columns in [json!(["ok", "text", "empty"]), json!(["empty", "text"])] {
        let first = columns[usize::from(columns[0] == "ok")].as_str().unwrap().to_string();
        let (_, result) = run(&table, json!([{"op": "impute", "columns": columns, "strategy": "median"}]));
        let message = result.unwrap_err().to_string();
        assert!(message.contains(&format!("column `{first}`")), "{message}");
    }
}

#[test]
fn drop_keep_rename_and_cast() {
    let table = df!("a" => ["1", "2"], "b" => [1.5f64, 2.5], "c" => [true, false]).unwrap();
    let ops = json!([
        {"op": "rename", "from": "b", "to": "beta"},
        {"op": "cast", "column": "a", "type": "int"},
        {"op": "cast", "column": "c", "type": "string"},
        {"op": "keep", "columns": ["c", "a"]},
        {"op": "drop", "columns": ["c"]},
    ]);
    let (harness, result) = run(&table, ops);
    result.unwrap();
    let out = output(&harness);
    assert_eq!(names(&out), ["a"]);
    assert_eq!(ints(&out, "a"), [Some(1), Some(2)]);

    let bad = df!("a" => ["1", "two"]).unwrap();
    let (_, result) = run(&bad, json!([{"op": "cast", "column": "a", "type": "int"}]));
    assert_eq!(
        error_text(&result.unwrap_err()),
        "cannot cast column `a` to `int`: row 2 holds `two`, in operation 1 (`cast`) of transform `features`\n\
         1 value cannot be read as int"
    );
}

#[test]
fn a_missing_column_is_named_with_the_ones_there() {
    let (_, result) = run(&customers(), json!([{"op": "drop", "columns": ["nope"]}]));
    assert_eq!(
        error_text(&result.unwrap_err()),
        "column `nope` does not exist, in operation 1 (`drop`) of transform `features`\n\
         the columns are `customer_id`, `age`, `plan`, `monthly_charges`, `tenure_months`, `churned`"
    );
}

#[test]
fn one_hot_with_drop_first_and_booleans() {
    let ops = json!([
        {"op": "one-hot", "columns": ["plan", "churned"], "drop_first": true,
         "levels": {"plan": ["basic", "pro", "enterprise"], "churned": ["false", "true"]}},
    ]);
    let (harness, result) = run(&customers(), ops);
    result.unwrap();
    let out = output(&harness);
    assert_eq!(
        names(&out),
        ["customer_id", "age", "plan_pro", "plan_enterprise", "monthly_charges", "tenure_months", "churned_true"]
    );
    // A null plan is 0 in every level's column.
    assert_eq!(ints(&out, "plan_pro"), [Some(0), Some(1), Some(1), Some(0), Some(0)]);
    assert_eq!(ints(&out, "churned_true"), [Some(1), Some(0), Some(0), Some(1), Some(0)]);
}

#[test]
fn derive_adds_or_replaces_columns() {
    let ops = json!([
        {"op": "derive", "column": "age", "expr": "coalesce(age, 0) + 1"},
        {"op": "derive", "column": "senior", "expr": "age >= 40 and not is_null(plan)"},
        {"op": "derive", "column": "plan_len", "expr": "len(upper(plan))"},
        {"op": "derive", "column": "ratio", "expr": "monthly_charges / max(tenure_months, 1)"},
    ]);
    let (harness, result) = run(&customers(), ops);
    result.unwrap();
    let out = output(&harness);
    assert_eq!(names(&out)[1], "age");
    assert_eq!(ints(&out, "age"), [Some(31), Some(1), Some(51), Some(18), Some(42)]);
    let senior: Vec<Option<bool>> = out.column("senior").unwrap().bool().unwrap().iter().collect();
    assert_eq!(senior, [Some(false), Some(false), Some(true), Some(false), Some(true)]);
    assert_eq!(ints(&out, "plan_len"), [Some(5), Some(3), Some(3), None, Some(10)]);
    assert_eq!(floats(&out, "ratio"), [Some(10.0), Some(20.0), Some(10.0), Some(40.0 / 9.0), Some(12.5)]);
}

#[test]
fn a_filter_that_removes_every_row_fails() {
    let (_, result) = run(&customers(), json!([{"op": "filter", "expr": "age > 200"}]));
    assert_eq!(
        error_text(&result.unwrap_err()),
        "filter `age > 200` removed every row, in operation 1 (`filter`) of transform `features`\n\
         5 rows came in; none satisfies the condition (a null condition counts as false)"
    );
}

#[test]
fn expression_errors_name_the_expression() {
    let (_, result) = run(&customers(), json!([{"op": "derive", "column": "x", "expr": "salary * 2"}]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "column `salary` does not exist in `salary * 2`, in operation 1 (`derive`) of transform `features`"
    );
    let (_, result) = run(&customers(), json!([{"op": "filter", "expr": "age + 1"}]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "filter `age + 1` is not a condition, in operation 1 (`filter`) of transform `features`"
    );
}

#[test]
fn scale_minmax_maps_onto_zero_one() {
    let ops = json!([{"op": "scale", "columns": ["tenure_months", "monthly_charges"], "method": "minmax"}]);
    let (harness, result) = run(&customers(), ops);
    result.unwrap();
    let out = output(&harness);
    assert_eq!(
        floats(&out, "tenure_months"),
        [Some(0.0), Some(1.0 / 9.0), Some(3.0 / 9.0), Some(1.0), Some(4.0 / 9.0)]
    );
    assert_eq!(floats(&out, "monthly_charges"), [Some(0.0), Some(0.25), Some(0.5), Some(0.75), Some(1.0)]);
    assert_eq!(fitted(&harness)["ops"][0]["stats"]["tenure_months"], json!({"min": 0.0, "max": 9.0}));
    let (_, result) = run(&customers(), json!([{"op": "scale", "columns": ["plan"], "method": "standard"}]));
    assert_eq!(
        result.unwrap_err().to_string(),
        "cannot scale column `plan`: it holds str values, in operation 1 (`scale`) of transform `features`"
    );
}

#[test]
fn medians_are_taken_by_selection_over_the_non_null_values() {
    let median = |values: &[Option<f64>]| super::median_of(&Series::new("x".into(), values)).unwrap();
    assert_eq!(median(&[Some(3.0), Some(1.0), Some(2.0)]), Some(2.0));
    assert_eq!(median(&[Some(4.0), None, Some(1.0), Some(3.0), Some(2.0)]), Some(2.5));
    assert_eq!(median(&[Some(-1.0)]), Some(-1.0));
    assert_eq!(median(&[None, None]), None);
    let ints = Series::new("n".into(), &[7i64, 1, 5, 3]);
    assert_eq!(super::median_of(&ints).unwrap(), Some(4.0));
}

/// The median by a full sort of the values as `f64`, the definition `median_of` must meet.
fn sorted_median(series: &Series) -> Option<f64> {
    let floats = series.cast(&DataType::Float64).unwrap();
    let mut values: Vec<f64> = floats.f64().unwrap().iter().flatten().collect();
    values.sort_by(f64::total_cmp);
    let count = values.len();
    match count {
        0 => None,
        _ if count % 2 == 1 => Some(values[count / 2]),
        _ => Some((values[count / 2 - 1] + values[count / 2]) / 2.0),
    }
}

#[test]
fn medians_of_integers_counted_or_selected_and_of_floats_match_a_full_sort() {
    use rand_chacha::rand_core::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    for length in [1usize, 2, 3, 10, 101, 1000, 4096] {
        for nulls in [0u32, 1, 30] {
            // Spans a counting window takes, spans it does not, and negative values.
            for span in [1i64, 60, 70_000, 1 << 40] {
                let values: Vec<Option<i64>> = (0..length)
                    .map(|_| {
                        let null = rng.next_u32() % 100 < nulls;
                        let value = (rng.next_u64() % (2 * span as u64 + 1)) as i64 - span;
                        (!null).then_some(value)
                    })
                    .collect();
                let chunked = Series::new("n".into(), &values);
                // Two chunks, as a table read a row group at a time holds its columns.
                let mut split = chunked.slice(0, length / 3);
                split.append(&chunked.slice((length / 3) as i64, length)).unwrap();
                for series in [chunked, split] {
                    let bits = |value: Option<f64>| value.map(f64::to_bits);
                    assert_eq!(bits(super::median_of(&series).unwrap()), bits(sorted_median(&series)), "{values:?}");
                    let floats = series.cast(&DataType::Float64).unwrap() * 0.37;
                    assert_eq!(bits(super::median_of(&floats).unwrap()), bits(sorted_median(&floats)));
                }
            }
        }
    }
    // Small integer types, unsigned integers past `i64`, and the edges of `i64`.
    let small = Series::new("n".into(), &[3i8, -7, 100, 5]);
    assert_eq!(super::median_of(&small).unwrap(), Some(4.0));
    let unsigned = Series::new("n".into(), &[u64::MAX, 1, u64::MAX - 5]);
    assert_eq!(super::median_of(&unsigned).unwrap(), sorted_median(&unsigned));
    let edges = Series::new("n".into(), &[i64::MIN, i64::MAX, 0, i64::MAX]);
    assert_eq!(super::median_of(&edges).unwrap(), sorted_median(&edges));
    // NaN sorts above every number; -0.0 and 0.0 average to 0.0.
    let nan = Series::new("x".into(), &[f64::NAN, 1.0, 2.0]);
    assert_eq!(super::median_of(&nan).unwrap(), Some(2.0));
    let zeros = Series::new("x".into(), &[-0.0f64, 0.0]);
    assert_eq!(super::median_of(&zeros).unwrap().map(f64::to_bits), Some(0.0f64.to_bits()));
}

/// A table of more than one row group, with nulls, text, booleans and a column to cast.
fn large(rows: usize) -> DataFrame {
    let plans = ["basic", "pro", "enterprise"];
    df!(
        "customer_id" => (0..rows).map(|row| format!("c{row}")).collect::<Vec<_>>(),
        "age" => (0..rows).map(|row| (row % 7 != 0).then_some((row % 60) as i64 + 15)).collect::<Vec<_>>(),
        "plan" => (0..rows).map(|row| (row % 11 != 0).then_some(plans[row % 3])).collect::<Vec<_>>(),
        "monthly_charges" => (0..rows).map(|row| (row % 13 != 0).then_some((row % 97) as f64 * 1.5)).collect::<Vec<_>>(),
        "tenure_months" => (0..rows).map(|row| (row % 40) as i64).collect::<Vec<_>>(),
        "score" => (0..rows).map(|row| format!("{}", row % 5)).collect::<Vec<_>>(),
        "active" => (0..rows).map(|row| row % 3 == 0).collect::<Vec<_>>(),
        "churned" => (0..rows).map(|row| row % 4 == 0).collect::<Vec<_>>(),
    )
    .unwrap()
}

fn large_ops() -> Json {
    json!([
        {"op": "drop", "columns": ["customer_id"]},
        {"op": "rename", "from": "tenure_months", "to": "tenure"},
        {"op": "cast", "column": "score", "type": "int"},
        {"op": "impute", "columns": ["age"], "strategy": "median"},
        {"op": "impute", "columns": ["plan"], "strategy": "mode"},
        {"op": "one-hot", "columns": ["plan"], "drop_first": false, "levels": {"plan": ["basic", "pro", "enterprise"]}},
        {"op": "one-hot", "columns": ["active"], "drop_first": true},
        {"op": "derive", "column": "charge_per_tenure", "expr": "monthly_charges / (tenure + 1)"},
        {"op": "derive", "column": "unused", "expr": "score * 2"},
        {"op": "filter", "expr": "age >= 18 and plan_pro == 0"},
        {"op": "impute", "columns": ["monthly_charges", "charge_per_tenure"], "strategy": "mean"},
        {"op": "scale", "columns": ["monthly_charges", "charge_per_tenure", "tenure"], "method": "standard"},
        {"op": "scale", "columns": ["plan_basic"], "method": "minmax"},
    ])
}

#[test]
fn the_fitting_pass_reads_a_one_hot_column_only_when_its_levels_or_indicators_need_it() {
    let ops: Vec<super::Op> = serde_json::from_value(json!([
        {"op": "one-hot", "columns": ["plan", "region", "active"], "drop_first": false,
         "levels": {"plan": ["basic", "pro"], "region": ["north", "south"]}},
        {"op": "scale", "columns": ["region_south"], "method": "minmax"},
    ]))
    .unwrap();
    let needed = super::fit_columns(&ops);
    // `plan`'s levels are declared and nothing reads its indicators; `region_south` is scaled;
    // `active`'s levels come from its type.
    assert_eq!(needed[0].0, ["region_south", "region", "active"]);
    // The statistics are those of the whole table, `plan`'s declared levels among them.
    let table = large(300_000);
    let ops = json!([
        {"op": "one-hot", "columns": ["plan", "active"], "drop_first": false, "levels": {"plan": ["basic", "pro"]}},
        {"op": "scale", "columns": ["monthly_charges"], "method": "standard"},
    ]);
    let (harness, result) = run(&table, ops.clone());
    result.unwrap();
    let ops: Vec<super::Op> = serde_json::from_value(ops).unwrap();
    let (whole, whole_fitted) = super::apply(table, &ops, None, "features", &mut Vec::new(), &|| Ok(())).unwrap();
    assert_eq!(fitted(&harness), serde_json::to_value(&whole_fitted).unwrap());
    assert_eq!(fitted(&harness)["ops"][0]["levels"]["plan"], json!(["basic", "pro"]));
    assert_eq!(names(&output(&harness)), names(&whole));
}

#[test]
fn a_table_of_several_row_groups_gives_the_bytes_and_statistics_of_the_whole_table() {
    // Over two row groups: fitted on the columns the statistics need, replayed a row group
    // at a time. The whole-table transform, run here directly, is the reference.
    let table = large(300_000);
    let (harness, result) = run(&table, large_ops());
    let result = result.unwrap();

    let ops: Vec<super::Op> = serde_json::from_value(large_ops()).unwrap();
    let mut notes = Vec::new();
    let (whole, whole_fitted) = super::apply(table, &ops, None, "features", &mut notes, &|| Ok(())).unwrap();
    let reference = harness.path("whole.parquet");
    write_parquet(&whole, &reference).unwrap();
    let streamed = output(&harness);
    assert_eq!(names(&streamed), names(&whole));
    for name in names(&whole) {
        let (a, b) = (streamed.column(&name).unwrap(), whole.column(&name).unwrap());
        assert!(a.as_materialized_series().equals_missing(b.as_materialized_series()), "column {name}");
    }
    assert!(
        std::fs::read(harness.output_path("table")).unwrap() == std::fs::read(&reference).unwrap(),
        "the same bytes"
    );
    assert_eq!(fitted(&harness), serde_json::to_value(&whole_fitted).unwrap());
    assert_eq!(result.rows, Some(whole.height() as u64));
    assert_eq!(result.notes, notes, "the filter's note counts the whole table");
    assert!(!harness.logged.lock().unwrap().iter().any(|line| line == super::FELL_BACK), "two passes, no fallback");
    assert!(whole.height() > 100_000 && names(&whole).contains(&"unused".to_string()));
}

#[test]
fn an_error_in_a_later_row_group_names_the_row_of_the_whole_table() {
    let mut table = large(300_000);
    let mut scores: Vec<String> = (0..300_000).map(|row| format!("{}", row % 5)).collect();
    scores[270_001] = "lots".to_string();
    table.replace("score", Series::new("score".into(), scores).into_column()).unwrap();
    let (harness, result) = run(&table, json!([{"op": "cast", "column": "score", "type": "int"}]));
    let text = error_text(&result.unwrap_err());
    assert_eq!(*harness.logged.lock().unwrap(), [super::FELL_BACK]);
    assert!(text.starts_with("cannot cast column `score` to `int`: row 270002 holds `lots`"), "{text}");
}

#[test]
fn a_filter_may_empty_a_row_group_but_not_the_table() {
    let mut table = large(300_000);
    // Only the first 1000 rows, all in the first row group, are kept.
    let charges: Vec<f64> = (0..300_000).map(|row| if row < 1000 { 5000.0 } else { 1.0 }).collect();
    table.replace("monthly_charges", Series::new("monthly_charges".into(), charges).into_column()).unwrap();
    let (harness, result) = run(&table, json!([{"op": "filter", "expr": "monthly_charges > 1000"}]));
    assert_eq!(result.unwrap().notes, ["filter `monthly_charges > 1000` kept 1000 of 300000 rows"]);
    assert!(harness.logged.lock().unwrap().is_empty(), "the emptied row group did not make it fall back");
    assert_eq!(output(&harness).height(), 1000);
    let (_, result) = run(&table, json!([{"op": "filter", "expr": "monthly_charges > 10000"}]));
    assert!(error_text(&result.unwrap_err()).contains("removed every row"));
}
