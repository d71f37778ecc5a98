//! `validate`: checks the ingested table against the dataset's schema constraints and `expect`
//! rules, writes the report (JSON) and the table (Parquet, the same rows), and stops the run or
//! warns when something does not hold.
//!
//! Every row-level check is a boolean polars expression; all of them are evaluated in one
//! `select` over the table, so the data is read once however many checks there are. Only the
//! columns some check reads are read at all; the column types come from the file's schema.

mod report;

use polars::prelude::*;
use serde::Deserialize;
use serde_json::Value as Json;

use report::{format_bound, CheckReport, Example, Report};

use super::table::{self, quoted_list, ColumnType};
use super::{FileHash, StepContext, StepError, StepResult};

/// How many example rows a check reports.
const EXAMPLES: usize = 5;

/// A column's constraints, as the plan writes them in `columns`.
#[derive(Debug, Deserialize)]
struct ColumnRule {
    column: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    nullable: bool,
    #[serde(default)]
    unique: bool,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
    #[serde(default)]
    levels: Option<Vec<String>>,
}

/// An `expect` rule.
#[derive(Debug, Deserialize)]
struct ExpectRule {
    rule: String,
    #[serde(default)]
    column: Option<String>,
    #[serde(default)]
    min: Option<f64>,
    #[serde(default)]
    max: Option<f64>,
}

#[derive(Debug, Deserialize)]
struct Params {
    #[serde(default)]
    columns: Vec<ColumnRule>,
    #[serde(default)]
    expect: Vec<ExpectRule>,
    #[serde(default = "stop")]
    on_invalid: String,
}

fn stop() -> String {
    "stop".to_string()
}

/// A check evaluated row by row: the rows where `mask` holds are the bad ones.
struct RowCheck {
    report: CheckReport,
    mask: Expr,
}

/// A check in the report's order: row-level ones wait for the one pass over the table,
/// table-level ones are decided when planned.
enum Planned {
    Rows(RowCheck),
    Decided(CheckReport),
}

/// Runs `validate`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let object = Json::Object(ctx.params.iter().map(|(key, value)| (key.clone(), value.clone())).collect());
    let params: Params = serde_json::from_value(object).map_err(|error| {
        StepError::Internal(format!("the params of step `{}` have an unexpected shape: {error}", ctx.step_id))
    })?;
    let dataset = ctx.step_id.split_once('.').map_or(ctx.step_id, |(_, name)| name);
    let input = ctx.input("raw")?;
    // The columns' types come from the file's schema; only the columns a check reads are read.
    let empty = table::read_parquet_slice(input, 0, 0)?;
    // A table with no categorical columns passes through as the very bytes it came in.
    let unchanged = !empty.columns().iter().any(|column| column.dtype().is_categorical() || column.dtype().is_enum());
    check_columns(&table::normalize_categories(empty)?, &params.columns, dataset)?;
    ctx.check_cancelled()?;
    let height = table::parquet_row_count(input)?;
    let present = table::parquet_column_names(input)?;
    let checked: Vec<String> = checked_columns(&params).into_iter().filter(|name| present.contains(name)).collect();
    let table = table::normalize_categories(table::read_parquet_columns(input, &checked)?)?;

    let planned = plan_checks(&table, height, &params)?;
    let checks = evaluate(&table, planned)?;
    let problems: Vec<String> =
        checks.iter().filter(|check| !check.passed).map(|check| check.line(height as u64)).collect();
    let report = Report {
        dataset: dataset.to_string(),
        rows: height as u64,
        passed: problems.is_empty(),
        problems: problems.len(),
        on_invalid: params.on_invalid.clone(),
        checks,
    };
    table::write_json(&report, ctx.output("report")?)?;
    drop(table);
    let rows = Some(height as u64);
    // The hash of the table passed on, when it was written here.
    let pass_through = |output: &std::path::Path| -> Result<Option<FileHash>, StepError> {
        if unchanged {
            // The same bytes: a second name for the input when they share a filesystem (the
            // input is an immutable store object), a copy otherwise.
            return std::fs::hard_link(input, output)
                .or_else(|_| std::fs::copy(input, output).map(drop))
                .map(|()| None)
                .map_err(|source| StepError::Io { action: "write", path: output.to_path_buf(), source });
        }
        // Categories become text, a row group at a time.
        let mut sink = table::ParquetSink::create(output, &table::parquet_schema(input)?)?;
        for (offset, length) in table::row_groups(input)? {
            ctx.check_cancelled()?;
            sink.push(&table::normalize_categories(table::read_parquet_slice(input, offset, length)?)?)?;
        }
        sink.finish().map(Some)
    };
    let hashes = |hash: Option<FileHash>| hash.map(|hash| ("table".to_string(), hash)).into_iter().collect();
    if problems.is_empty() {
        let hash = pass_through(ctx.output("table")?)?;
        let note = format!("validation: {} checks passed", report.checks.len());
        return Ok(StepResult { rows, notes: vec![note], hashes: hashes(hash), ..StepResult::default() });
    }
    let plural = if problems.len() == 1 { "" } else { "s" };
    let summary = format!("{} problem{plural} in dataset `{dataset}`", problems.len());
    if params.on_invalid == "warn" {
        let hash = pass_through(ctx.output("table")?)?;
        let mut notes = vec![format!("validation: {summary} (on-invalid \"warn\": the run goes on)")];
        notes.extend(problems);
        return Ok(StepResult { rows, notes, hashes: hashes(hash), ..StepResult::default() });
    }
    Err(StepError::Data { message: format!("validation failed: {summary}"), details: problems })
}

/// Every declared column is there with its type: anything else means the table is not the one
/// the spec describes, and no row-level check would make sense.
fn check_columns(table: &DataFrame, columns: &[ColumnRule], dataset: &str) -> Result<(), StepError> {
    let mut problems = Vec::new();
    for rule in columns {
        let ty = ColumnType::parse(&rule.ty).ok_or_else(|| {
            StepError::Internal(format!("column `{}` has an unknown type `{}`", rule.column, rule.ty))
        })?;
        match table.column(&rule.column) {
            Err(_) => problems.push(format!("column `{}` is missing", rule.column)),
            Ok(column) if column.dtype() != &ty.dtype() => problems.push(format!(
                "column `{}` holds {} values, but the schema declares `{}`",
                rule.column,
                column.dtype(),
                ty.name()
            )),
            Ok(_) => {}
        }
    }
    if problems.is_empty() {
        return Ok(());
    }
    let found: Vec<&str> = table.get_column_names().into_iter().map(|name| name.as_str()).collect();
    problems.push(format!("the table has {}", quoted_list(&found)));
    Err(StepError::Data {
        message: format!("the table of dataset `{dataset}` does not have the declared columns"),
        details: problems,
    })
}

/// The columns some check reads, in the order of the checks, each once.
fn checked_columns(params: &Params) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let declared = params.columns.iter().filter(|rule| {
        !rule.nullable || rule.unique || rule.min.is_some() || rule.max.is_some() || rule.levels.is_some()
    });
    for name in declared.map(|rule| &rule.column).chain(params.expect.iter().filter_map(|rule| rule.column.as_ref())) {
        if !names.contains(name) {
            names.push(name.clone());
        }
    }
    names
}

/// Every check, in order: per column as declared, then the `expect` rules. `table` holds the
/// columns the checks read ([`checked_columns`]) of a table of `height` rows.
fn plan_checks(table: &DataFrame, height: usize, params: &Params) -> Result<Vec<Planned>, StepError> {
    let mut planned = Vec::new();
    for rule in &params.columns {
        let column = || col(rule.column.as_str());
        if !rule.nullable {
            planned.push(Planned::Rows(RowCheck {
                report: CheckReport::new("not-null", Some(&rule.column), "schema"),
                mask: column().is_null(),
            }));
        }
        if let Some(min) = rule.min {
            let mut report = CheckReport::new("min", Some(&rule.column), "schema");
            report.min = Some(min);
            planned.push(Planned::Rows(RowCheck { report, mask: column().lt(lit(min)).fill_null(lit(false)) }));
        }
        if let Some(max) = rule.max {
            let mut report = CheckReport::new("max", Some(&rule.column), "schema");
            report.max = Some(max);
            planned.push(Planned::Rows(RowCheck { report, mask: column().gt(lit(max)).fill_null(lit(false)) }));
        }
        if let Some(levels) = &rule.levels {
            let mut report = CheckReport::new("levels", Some(&rule.column), "schema");
            report.levels = Some(levels.clone());
            let allowed = lit(Series::new("levels".into(), levels.as_slice())).implode(true);
            let outside = column().is_in(allowed, false).not();
            planned.push(Planned::Rows(RowCheck {
                report,
                mask: column().is_not_null().and(outside).fill_null(lit(false)),
            }));
        }
        if rule.unique {
            planned.push(Planned::Rows(unique_check(table, &rule.column, "schema")?));
        }
    }
    for expect in &params.expect {
        match (expect.rule.as_str(), &expect.column) {
            ("row-count", _) => {
                let mut report = CheckReport::new("row-count", None, "expect");
                report.min = expect.min;
                report.max = expect.max;
                report.value = Some(Json::from(height as u64));
                report.passed = within(height as f64, expect.min, expect.max);
                planned.push(Planned::Decided(report));
            }
            ("null-fraction", Some(name)) => {
                let column = table.column(name).map_err(|_| missing_expect_column(name))?;
                let nulls = column.null_count();
                let fraction = if height == 0 { 0.0 } else { nulls as f64 / height as f64 };
                let mut report = CheckReport::new("null-fraction", Some(name), "expect");
                report.min = expect.min;
                report.max = expect.max;
                report.count = nulls as u64;
                report.value = Some(Json::from(fraction));
                report.passed = within(fraction, expect.min, expect.max);
                planned.push(Planned::Decided(report));
            }
            ("unique", Some(name)) => {
                table.column(name).map_err(|_| missing_expect_column(name))?;
                planned.push(Planned::Rows(unique_check(table, name, "expect")?));
            }
            (rule, column) => {
                return Err(StepError::Internal(format!("malformed expect rule `{rule}` (column {column:?})")));
            }
        }
    }
    Ok(planned)
}

/// Rows whose (non-null) value appears more than once. polars' `is_duplicated` expression needs
/// a feature the workspace does not build, so the mask is computed on the frame and enters the
/// one `select` as a literal column.
fn unique_check(table: &DataFrame, column: &str, source: &'static str) -> Result<RowCheck, StepError> {
    let context = || format!("cannot look for duplicates in column `{column}`");
    let duplicated = table
        .select([column])
        .and_then(|values| values.is_duplicated())
        .map_err(|error| StepError::polars(context(), error))?;
    let present = table.column(column).map_err(|error| StepError::polars(context(), error))?.is_not_null();
    let mask = (duplicated & present).with_name(column.into()).into_series();
    Ok(RowCheck { report: CheckReport::new("unique", Some(column), source), mask: lit(mask) })
}

fn missing_expect_column(name: &str) -> StepError {
    StepError::data(format!("an `expect` rule names column `{name}`, which the table does not have"))
}

fn within(value: f64, min: Option<f64>, max: Option<f64>) -> bool {
    min.is_none_or(|min| value >= min) && max.is_none_or(|max| value <= max)
}

/// Evaluates every row check in one pass and fills in counts and examples; returns every
/// check's report in the planned order.
fn evaluate(table: &DataFrame, planned: Vec<Planned>) -> Result<Vec<CheckReport>, StepError> {
    let masks: Vec<Expr> = planned
        .iter()
        .enumerate()
        .filter_map(|(index, check)| match check {
            Planned::Rows(check) => Some(check.mask.clone().alias(format!("check_{index}"))),
            Planned::Decided(_) => None,
        })
        .collect();
    let evaluated = if masks.is_empty() {
        DataFrame::empty()
    } else {
        table
            .clone()
            .lazy()
            .select(masks)
            .collect()
            .map_err(|error| StepError::polars("cannot evaluate the validation checks", error))?
    };
    let mut evaluated = evaluated.columns().iter();
    let mut reports = Vec::with_capacity(planned.len());
    for check in planned {
        let check = match check {
            Planned::Decided(report) => {
                reports.push(report);
                continue;
            }
            Planned::Rows(check) => check,
        };
        let mask = evaluated
            .next()
            .ok_or_else(|| StepError::Internal("a validation check was not evaluated".to_string()))?
            .bool()
            .map_err(|error| StepError::polars("a validation check is not boolean", error))?;
        let mut report = check.report;
        report.count = u64::from(mask.sum().unwrap_or(0));
        report.passed = report.count == 0;
        // A passed check has no example rows to look for.
        if let (Some(name), false) = (&report.column, report.passed) {
            let rows =
                mask.iter().enumerate().filter(|(_, flag)| *flag == Some(true)).map(|(row, _)| row).take(EXAMPLES);
            let values =
                table.column(name).map_err(|error| StepError::polars(format!("cannot read column `{name}`"), error))?;
            for row in rows {
                let value = values
                    .get(row)
                    .map_err(|error| StepError::polars(format!("cannot read row {} of `{name}`", row + 1), error))?;
                report.examples.push(Example { row: row as u64 + 1, value: table::value_json(&value) });
            }
        }
        reports.push(report);
    }
    Ok(reports)
}

impl CheckReport {
    /// The one-line description of a failed check, for the error's details and the notes.
    fn line(&self, rows: u64) -> String {
        let column = self.column.as_deref().unwrap_or_default();
        let plural = |count: u64, one: &str, many: &str| format!("{count} {}", if count == 1 { one } else { many });
        let examples = self.example_text();
        match self.rule.as_str() {
            "not-null" => {
                format!("column `{column}`: {}, but it is not nullable{examples}", plural(self.count, "null", "nulls"))
            }
            "min" => format!(
                "column `{column}`: {} below min {}{examples}",
                plural(self.count, "value", "values"),
                format_bound(self.min)
            ),
            "max" => format!(
                "column `{column}`: {} above max {}{examples}",
                plural(self.count, "value", "values"),
                format_bound(self.max)
            ),
            "levels" => format!(
                "column `{column}`: {} outside the levels {}{examples}",
                plural(self.count, "value", "values"),
                quoted_list(self.levels.as_deref().unwrap_or_default())
            ),
            "unique" => format!(
                "column `{column}`: {} share their value with another row{examples}",
                plural(self.count, "row", "rows")
            ),
            "row-count" => format!("row count {} is {}", self.count_text(), self.bounds_text()),
            "null-fraction" => format!(
                "column `{column}`: null fraction {} ({} of {rows} rows) is {}",
                self.count_text(),
                self.count,
                self.bounds_text()
            ),
            other => format!("check `{other}` failed"),
        }
    }
}

#[cfg(test)]
mod tests;
