//! Checking a table a custom command wrote against the schema its output declares: the same
//! columns (none missing, none extra), each readable as its type, no nulls where the column is
//! not nullable, categories within their levels. The result has the declared column order and
//! the mlopsc representation of each type.

use polars::prelude::*;

use crate::exec::table::{convert, quoted_list, ColumnType, ConvertError};
use crate::exec::train::preprocess::SchemaColumn;
use crate::exec::StepError;

/// Makes `written` conform to `columns`, or says precisely how it does not.
pub(super) fn conform(written: DataFrame, columns: &[SchemaColumn], output: &str) -> Result<DataFrame, StepError> {
    let present: Vec<String> = written.get_column_names().into_iter().map(|name| name.to_string()).collect();
    let declared: Vec<&str> = columns.iter().map(|column| column.name.as_str()).collect();
    let missing: Vec<&str> = declared.iter().copied().filter(|name| !present.iter().any(|p| p == name)).collect();
    let extra: Vec<&str> = present.iter().map(String::as_str).filter(|name| !declared.contains(name)).collect();
    if !missing.is_empty() || !extra.is_empty() {
        let mut details = Vec::new();
        if !missing.is_empty() {
            details.push(format!("missing: {}", quoted_list(&missing)));
        }
        if !extra.is_empty() {
            details.push(format!(
                "not declared: {} (declare them in the output's `schema`, or leave them out)",
                quoted_list(&extra)
            ));
        }
        return Err(StepError::Data {
            message: format!("the table the command wrote for output `{output}` does not have the declared columns"),
            details,
        });
    }
    let mut converted = Vec::with_capacity(columns.len());
    for column in columns {
        let ty = ColumnType::parse(&column.ty).ok_or_else(|| {
            StepError::Internal(format!(
                "output `{output}` declares column `{}` of unknown type `{}`",
                column.name, column.ty
            ))
        })?;
        let series = written
            .column(&column.name)
            .map_err(|error| {
                StepError::polars(format!("cannot read column `{}` of output `{output}`", column.name), error)
            })?
            .as_materialized_series()
            .clone();
        let series = convert(&series, ty).map_err(|error| match error {
            ConvertError::BadValue(bad) => StepError::data(format!(
                "column `{}` of output `{output}` should hold {} values, but row {} holds `{}` ({} such value{})",
                column.name,
                ty.name(),
                bad.row + 1,
                bad.value,
                bad.count,
                if bad.count == 1 { "" } else { "s" }
            )),
            ConvertError::Unsupported(dtype) => StepError::data(format!(
                "column `{}` of output `{output}` holds {dtype} values, which cannot be read as {}",
                column.name,
                ty.with_article()
            )),
            ConvertError::Polars(error) => StepError::polars(format!("cannot convert column `{}`", column.name), error),
        })?;
        let nulls = series.null_count();
        if nulls > 0 && !column.nullable {
            return Err(StepError::data(format!(
                "column `{}` of output `{output}` is not nullable but has {nulls} null value{}",
                column.name,
                if nulls == 1 { "" } else { "s" }
            )));
        }
        if let (Some(levels), ColumnType::Category) = (&column.levels, ty) {
            check_levels(&series, levels, &column.name, output)?;
        }
        converted.push(Column::from(series));
    }
    DataFrame::new(written.height(), converted)
        .map_err(|error| StepError::polars(format!("cannot assemble output `{output}`"), error))
}

fn check_levels(series: &Series, levels: &[String], column: &str, output: &str) -> Result<(), StepError> {
    let text =
        series.str().map_err(|error| StepError::polars(format!("cannot read category column `{column}`"), error))?;
    let mut unknown: Vec<&str> =
        text.iter().flatten().filter(|value| !levels.iter().any(|level| level == value)).collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let count = unknown.len();
    unknown.sort_unstable();
    unknown.dedup();
    unknown.truncate(5);
    Err(StepError::Data {
        message: format!("column `{column}` of output `{output}` has {count} value(s) outside its levels"),
        details: vec![format!("found {}", quoted_list(&unknown)), format!("levels: {}", quoted_list(levels))],
    })
}
