//! `transform`: applies a transform's operations in order to its input table, writes the
//! result (`table`, Parquet) and what it learned from the input (`fitted`, JSON; see
//! [`Fitted`]) so that serving can [`replay`] the same transform on new rows.
//!
//! Statistics are fitted on this input: `impute` fill values (mean, median — rounded half away
//! from zero for `int` columns — or the most frequent value, ties broken by the smallest),
//! `scale` means and population standard deviations or minima and maxima. `one-hot` expands
//! the levels declared in the plan into `column_level` 0/1 `Int64` columns at the column's
//! place; a null or an unknown value gives 0 in every one of them.

mod fitted;
mod lower;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Deserialize;
use serde_json::Value as Json;

use fitted::FillValue;
pub use fitted::{Fitted, FittedOp, ScaleStats};

use super::table::{self, convert, quoted_list, ColumnType, ConvertError};
use super::{on_every_core, FileHash, StepContext, StepError, StepResult};

/// One operation, as the plan writes it in `ops`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
enum Op {
    Drop {
        columns: Vec<String>,
    },
    Keep {
        columns: Vec<String>,
    },
    Rename {
        from: String,
        to: String,
    },
    Cast {
        column: String,
        #[serde(rename = "type")]
        ty: String,
    },
    Impute {
        columns: Vec<String>,
        #[serde(default = "median")]
        strategy: String,
        #[serde(default)]
        value: Option<Json>,
    },
    OneHot {
        columns: Vec<String>,
        #[serde(default)]
        drop_first: bool,
        #[serde(default)]
        levels: BTreeMap<String, Vec<String>>,
    },
    Derive {
        column: String,
        expr: String,
    },
    Filter {
        expr: String,
    },
    Scale {
        columns: Vec<String>,
        #[serde(default = "standard")]
        method: String,
    },
}

fn median() -> String {
    "median".to_string()
}

fn standard() -> String {
    "standard".to_string()
}

impl Op {
    fn keyword(&self) -> &'static str {
        match self {
            Op::Drop { .. } => "drop",
            Op::Keep { .. } => "keep",
            Op::Rename { .. } => "rename",
            Op::Cast { .. } => "cast",
            Op::Impute { .. } => "impute",
            Op::OneHot { .. } => "one-hot",
            Op::Derive { .. } => "derive",
            Op::Filter { .. } => "filter",
            Op::Scale { .. } => "scale",
        }
    }
}

/// Where an operation stands, for messages: "operation 3 (`impute`) of transform `features`".
struct Place<'a> {
    transform: &'a str,
    index: usize,
    op: &'a Op,
    /// The table is one row group of the input: a filter may leave it empty.
    part: bool,
    /// In the fitting pass, the columns kept after this operation (the others are dropped
    /// at once); `None` when the whole table is transformed.
    kept: Option<&'a [String]>,
}

impl Place<'_> {
    fn describe(&self) -> String {
        format!("operation {} (`{}`) of transform `{}`", self.index + 1, self.op.keyword(), self.transform)
    }

    fn error(&self, message: String, details: Vec<String>) -> StepError {
        StepError::Data { message: format!("{message}, in {}", self.describe()), details }
    }

    fn polars(&self, error: PolarsError) -> StepError {
        StepError::polars(self.describe(), error)
    }

    fn column<'t>(&self, table: &'t DataFrame, name: &str) -> Result<&'t Column, StepError> {
        table.column(name).map_err(|_| {
            let names: Vec<&str> = table.get_column_names().into_iter().map(|name| name.as_str()).collect();
            self.error(
                format!("column `{name}` does not exist"),
                vec![format!("the columns are {}", quoted_list(&names))],
            )
        })
    }
}

/// Runs `transform`.
///
/// A table of one row group is transformed whole. A larger one is transformed in two passes,
/// so that the step never holds the whole table: the statistics are fitted on the columns
/// they depend on alone ([`fit_columns`]), then every row group is transformed with them, as
/// serving replays a transform, and written before the next is read. The output is the same
/// bytes either way. When a row group fails, the table is transformed whole instead, so that
/// the error is the one the whole table gives (its row numbers count from the table's first
/// row).
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let ops: Vec<Op> = ctx.param("ops")?;
    let transform = ctx.step_id.split_once('.').map_or(ctx.step_id, |(_, name)| name);
    let (input, output) = (ctx.input("data")?, ctx.output("table")?);
    let groups = table::row_groups(input)?;
    let mut notes = Vec::new();
    let streamed = match groups.len() {
        0 | 1 => None,
        _ => {
            let streamed = streamed(ctx, &groups, &ops, transform, &mut notes)?;
            if streamed.is_none() {
                (ctx.log)(FELL_BACK);
            }
            streamed
        }
    };
    let (rows, fitted, hash) = match streamed {
        Some(done) => done,
        None => {
            notes.clear();
            let input = table::normalize_categories(table::read_parquet(input)?)?;
            let (table, fitted) = apply(input, &ops, None, transform, &mut notes, &|| ctx.check_cancelled())?;
            let hash = table::write_parquet(&table, output)?;
            (table.height(), fitted, Some(hash))
        }
    };
    if let Some(path) = ctx.outputs.get("fitted") {
        table::write_json(&fitted, path)?;
    }
    let hashes = hash.map(|hash| ("table".to_string(), hash)).into_iter().collect();
    Ok(StepResult { rows: Some(rows as u64), notes, hashes, ..StepResult::default() })
}

/// What the step logs when a row group fails and the table is transformed whole.
const FELL_BACK: &str = "an operation failed on a row group; transforming the whole table to report it";

/// The two-pass transform of [`run`]: the rows written and the fitted statistics, or `None`
/// when an operation failed on the fitting columns or on a row group.
fn streamed(
    ctx: &StepContext,
    groups: &[(usize, usize)],
    ops: &[Op],
    transform: &str,
    notes: &mut Vec<String>,
) -> Result<Option<(usize, Fitted, Option<FileHash>)>, StepError> {
    let (input, output) = (ctx.input("data")?, ctx.output("table")?);
    let needed = fit_columns(ops);
    let present = table::parquet_column_names(input)?;
    // The columns the statistics depend on before the first operation: the input's.
    let from_input = needed.first().map(|(before, _)| before.as_slice()).unwrap_or_default();
    let read: Vec<String> = present.into_iter().filter(|name| from_input.contains(name)).collect();
    let fitting = if read.is_empty() {
        DataFrame::empty_with_height(table::parquet_row_count(input)?)
    } else {
        table::normalize_categories(table::read_parquet_columns(input, &read)?)?
    };
    let fitted = match fit(fitting, ops, &needed, transform, notes, ctx) {
        Ok(fitted) => fitted,
        Err(StepError::Cancelled) => return Err(StepError::Cancelled),
        Err(_) => return Ok(None),
    };
    let mut sink: Option<(table::ParquetSink, SchemaRef)> = None;
    let (mut rows, mut columns) = (0, Vec::new());
    for &(offset, length) in groups {
        ctx.check_cancelled()?;
        let group = table::normalize_categories(table::read_parquet_slice(input, offset, length)?)?;
        let Ok(part) = replay_part(group, ops, &fitted, transform) else { return Ok(None) };
        let sink = match &mut sink {
            // Every row group must come out with the same columns and types (an expression's
            // type could depend on a group's values); if one does not, transform whole.
            Some((_, schema)) if part.schema() != schema => return Ok(None),
            Some((sink, _)) => sink,
            None => {
                columns = part.get_column_names().into_iter().map(|name| name.to_string()).collect();
                let schema = part.schema().clone();
                &mut sink.insert((table::ParquetSink::create(output, &schema)?, schema)).0
            }
        };
        sink.push(&part)?;
        rows += part.height();
    }
    let hash = sink.map(|(sink, _)| sink.finish()).transpose()?;
    Ok(Some((rows, Fitted { columns, ops: fitted }, hash)))
}

/// For each operation, in order: the columns the fitted statistics depend on before it runs
/// and after it ran. A statistic (`impute`, `scale`) depends on its columns; those depend on
/// the columns of a `derive` that makes them and on a `rename`'s source; every `filter`
/// depends on its columns (it decides the rows), and `one-hot` on a column whose levels are
/// not declared (its type decides them) or whose indicator columns a statistic depends on.
fn fit_columns(ops: &[Op]) -> Vec<(Vec<String>, Vec<String>)> {
    let mut needed: Vec<String> = Vec::new();
    let mut sets = Vec::with_capacity(ops.len());
    let add = |needed: &mut Vec<String>, name: &str| {
        if !needed.iter().any(|known| known == name) {
            needed.push(name.to_string());
        }
    };
    let referenced = |expr: &str| -> Vec<String> {
        crate::expr::parse(expr).map(|ast| ast.columns().into_iter().map(str::to_string).collect()).unwrap_or_default()
    };
    for op in ops.iter().rev() {
        let after = needed.clone();
        match op {
            Op::Impute { columns, .. } | Op::Scale { columns, .. } => {
                columns.iter().for_each(|name| add(&mut needed, name))
            }
            Op::OneHot { columns, drop_first, levels } => {
                for name in columns {
                    let read = levels.get(name).is_none_or(|declared| {
                        let mut created = declared.iter().skip(usize::from(*drop_first));
                        created.any(|level| needed.contains(&format!("{name}_{level}")))
                    });
                    if read {
                        add(&mut needed, name);
                    }
                }
            }
            Op::Filter { expr } => referenced(expr).iter().for_each(|name| add(&mut needed, name)),
            Op::Derive { column, expr } if needed.contains(column) => {
                needed.retain(|name| name != column);
                referenced(expr).iter().for_each(|name| add(&mut needed, name));
            }
            Op::Rename { from, to } if needed.contains(to) => {
                needed.retain(|name| name != to);
                add(&mut needed, from);
            }
            Op::Drop { .. } | Op::Keep { .. } | Op::Cast { .. } | Op::Derive { .. } | Op::Rename { .. } => {}
        }
        sets.push((needed.clone(), after));
    }
    sets.reverse();
    sets
}

/// Fits the statistics on `table`, which holds the columns [`fit_columns`] says they depend
/// on. An operation on columns that are not there is left out (it cannot change a statistic);
/// after each operation only the columns a later statistic depends on are kept.
fn fit(
    mut table: DataFrame,
    ops: &[Op],
    needed: &[(Vec<String>, Vec<String>)],
    transform: &str,
    notes: &mut Vec<String>,
    ctx: &StepContext,
) -> Result<Vec<FittedOp>, StepError> {
    let mut fitted = Vec::with_capacity(ops.len());
    for (index, (op, (_, after))) in ops.iter().zip(needed).enumerate() {
        ctx.check_cancelled()?;
        let present = |name: &String| table.column(name).is_ok();
        let present_only = |columns: &[String]| columns.iter().filter(|name| present(name)).cloned().collect();
        // Levels of the one-hot columns whose indicator columns no statistic depends on.
        let mut levels_only = BTreeMap::new();
        let projected = match op {
            Op::Drop { columns } => Op::Drop { columns: present_only(columns) },
            Op::Keep { columns } => Op::Keep { columns: present_only(columns) },
            Op::Rename { from, .. } if !present(from) => {
                fitted.push(FittedOp::Rename);
                continue;
            }
            Op::Cast { column, .. } if !present(column) => {
                fitted.push(FittedOp::Cast);
                continue;
            }
            Op::Derive { column, .. } if !after.contains(column) => {
                fitted.push(FittedOp::Derive);
                continue;
            }
            Op::OneHot { columns, drop_first, levels } => {
                let place = Place { transform, index, op, part: false, kept: None };
                let mut expanded = Vec::new();
                for name in columns {
                    // A column left unread has declared levels, and no statistic depends on
                    // its indicator columns.
                    if let (false, Some(declared)) = (present(name), levels.get(name)) {
                        levels_only.insert(name.clone(), declared.clone());
                        continue;
                    }
                    let column_levels = one_hot_levels(place.column(&table, name)?, name, levels, None, &place)?;
                    let mut created = column_levels.iter().skip(usize::from(*drop_first));
                    if created.any(|level| after.contains(&format!("{name}_{level}"))) {
                        expanded.push(name.clone());
                    } else {
                        levels_only.insert(name.clone(), column_levels);
                    }
                }
                Op::OneHot { columns: expanded, drop_first: *drop_first, levels: levels.clone() }
            }
            _ => op.clone(),
        };
        let place = Place { transform, index, op: &projected, part: false, kept: Some(after) };
        let (next, mut statistics) = apply_op(table, &projected, None, &place, notes)?;
        if let FittedOp::OneHot { levels, .. } = &mut statistics {
            levels.extend(levels_only);
        }
        let unneeded: Vec<String> = next
            .get_column_names()
            .into_iter()
            .filter(|name| !after.iter().any(|needed| needed == name.as_str()))
            .map(|name| name.to_string())
            .collect();
        table = if unneeded.len() == next.width() {
            // No column left: the rows still count (a `filter` may come later).
            DataFrame::empty_with_height(next.height())
        } else {
            next.drop_many(unneeded)
        };
        fitted.push(statistics);
    }
    Ok(fitted)
}

/// Transforms one row group with the fitted statistics.
fn replay_part(table: DataFrame, ops: &[Op], fitted: &[FittedOp], transform: &str) -> Result<DataFrame, StepError> {
    let mut table = table;
    for (index, (op, previous)) in ops.iter().zip(fitted).enumerate() {
        let place = Place { transform, index, op, part: true, kept: None };
        table = apply_op(table, op, Some(previous), &place, &mut Vec::new())?.0;
    }
    Ok(table)
}

/// Applies a transform's `ops` (the plan's param) to `table` with the statistics in `fitted`
/// (the transform's `fitted` output) instead of fitting new ones: what serving does to a
/// request's rows.
pub fn replay(table: DataFrame, ops: &Json, fitted: &Json) -> Result<DataFrame, StepError> {
    let ops: Vec<Op> = serde_json::from_value(ops.clone())
        .map_err(|error| StepError::Internal(format!("the `ops` of a transform have an unexpected shape: {error}")))?;
    let fitted: Fitted = serde_json::from_value(fitted.clone())
        .map_err(|error| StepError::Internal(format!("a transform's fitted statistics are malformed: {error}")))?;
    if fitted.ops.len() != ops.len() {
        return Err(StepError::Internal(format!(
            "the transform has {} operations but its fitted statistics {}",
            ops.len(),
            fitted.ops.len()
        )));
    }
    let table = table::normalize_categories(table)?;
    apply(table, &ops, Some(&fitted.ops), "replay", &mut Vec::new(), &|| Ok(())).map(|(table, _)| table)
}

fn apply(
    mut table: DataFrame,
    ops: &[Op],
    replay: Option<&[FittedOp]>,
    transform: &str,
    notes: &mut Vec<String>,
    check_cancelled: &dyn Fn() -> Result<(), StepError>,
) -> Result<(DataFrame, Fitted), StepError> {
    let mut fitted_ops = Vec::with_capacity(ops.len());
    for (index, op) in ops.iter().enumerate() {
        check_cancelled()?;
        let place = Place { transform, index, op, part: false, kept: None };
        let previous = replay.and_then(|fitted| fitted.get(index));
        let (next, fitted) = apply_op(table, op, previous, &place, notes)?;
        table = next;
        fitted_ops.push(fitted);
    }
    let columns = table.get_column_names().into_iter().map(|name| name.to_string()).collect();
    Ok((table, Fitted { columns, ops: fitted_ops }))
}

fn apply_op(
    table: DataFrame,
    op: &Op,
    previous: Option<&FittedOp>,
    place: &Place,
    notes: &mut Vec<String>,
) -> Result<(DataFrame, FittedOp), StepError> {
    match op {
        Op::Drop { columns } => {
            for name in columns {
                place.column(&table, name)?;
            }
            Ok((table.drop_many(columns.iter().map(String::as_str)), FittedOp::Drop))
        }
        Op::Keep { columns } => {
            for name in columns {
                place.column(&table, name)?;
            }
            let kept = table.select(columns.iter().map(String::as_str)).map_err(|error| place.polars(error))?;
            Ok((kept, FittedOp::Keep))
        }
        Op::Rename { from, to } => {
            place.column(&table, from)?;
            if from != to && table.column(to).is_ok() {
                return Err(place.error(format!("column `{to}` already exists"), Vec::new()));
            }
            let mut table = table;
            table.rename(from, to.as_str().into()).map_err(|error| place.polars(error))?;
            Ok((table, FittedOp::Rename))
        }
        Op::Cast { column, ty } => cast(table, column, ty, place),
        Op::Impute { columns, strategy, value } => impute(table, columns, strategy, value.as_ref(), previous, place),
        Op::OneHot { columns, drop_first, levels } => one_hot(table, columns, *drop_first, levels, previous, place),
        Op::Derive { column, expr } => {
            let lowered = lower::lower(expr, table.schema())
                .map_err(|message| place.error(format!("{message} in `{expr}`"), Vec::new()))?;
            let expr = lowered.expr.cast(lowered.ty.dtype()).alias(column.as_str());
            let table = table.lazy().with_column(expr).collect().map_err(|error| place.polars(error))?;
            Ok((table, FittedOp::Derive))
        }
        Op::Filter { expr: text } => {
            let lowered = lower::lower(text, table.schema())
                .map_err(|message| place.error(format!("{message} in `{text}`"), Vec::new()))?;
            if lowered.ty != lower::Ty::Bool {
                return Err(place.error(format!("filter `{text}` is not a condition"), Vec::new()));
            }
            let rows_in = table.height();
            let kept = table.lazy().filter(lowered.expr).collect().map_err(|error| place.polars(error))?;
            if kept.height() == 0 && !place.part {
                return Err(place.error(
                    format!("filter `{text}` removed every row"),
                    vec![format!(
                        "{rows_in} rows came in; none satisfies the condition (a null condition counts as false)"
                    )],
                ));
            }
            if kept.height() < rows_in {
                notes.push(format!("filter `{text}` kept {} of {rows_in} rows", kept.height()));
            }
            Ok((kept, FittedOp::Filter))
        }
        Op::Scale { columns, method } => scale(table, columns, method, previous, place),
    }
}

fn cast(mut table: DataFrame, column: &str, ty: &str, place: &Place) -> Result<(DataFrame, FittedOp), StepError> {
    let target = ColumnType::parse(ty).ok_or_else(|| StepError::Internal(format!("unknown column type `{ty}`")))?;
    let series = place.column(&table, column)?.as_materialized_series().clone();
    let converted = convert(&series, target).map_err(|error| match error {
        ConvertError::BadValue(bad) => place.error(
            format!("cannot cast column `{column}` to `{ty}`: row {} holds `{}`", bad.row + 1, bad.value),
            vec![format!(
                "{} value{} cannot be read as {}",
                bad.count,
                if bad.count == 1 { "" } else { "s" },
                target.name()
            )],
        ),
        ConvertError::Unsupported(dtype) => {
            place.error(format!("cannot cast column `{column}` from {dtype} to `{ty}`"), Vec::new())
        }
        ConvertError::Polars(error) => place.polars(error),
    })?;
    table.replace(column, converted.into_column()).map_err(|error| place.polars(error))?;
    Ok((table, FittedOp::Cast))
}

fn impute(
    table: DataFrame,
    columns: &[String],
    strategy: &str,
    value: Option<&Json>,
    previous: Option<&FittedOp>,
    place: &Place,
) -> Result<(DataFrame, FittedOp), StepError> {
    // The fill values first: fitted on every core, one column each, or read from the fitted
    // statistics.
    let fills = on_every_core(columns, |name| {
        let column = place.column(&table, name)?;
        let dtype = column.dtype().clone();
        let fill = match previous {
            Some(FittedOp::Impute { values, .. }) => {
                let stored = values.get(name).ok_or_else(|| missing_fitted(name, place))?;
                FillValue::from_json(stored, &dtype).ok_or_else(|| missing_fitted(name, place))?
            }
            _ => fit_fill(column.as_materialized_series(), strategy, value, place)?,
        };
        Ok((fill, dtype))
    })?;
    let mut values = BTreeMap::new();
    let mut filled = Vec::new();
    for (name, (fill, dtype)) in columns.iter().zip(fills) {
        values.insert(name.clone(), fill.to_json());
        // The fitting pass fills only the columns a later statistic reads.
        if place.kept.is_none_or(|kept| kept.contains(name)) {
            filled.push(col(name.as_str()).fill_null(fill.literal(&dtype)));
        }
    }
    // A row group, small, is filled all its columns at once; a whole table a column at a time,
    // each filled column replacing its original before the next is made.
    let batches: Vec<Vec<Expr>> =
        if place.part { vec![filled] } else { filled.into_iter().map(|expr| vec![expr]).collect() };
    let mut table = table;
    for batch in batches.into_iter().filter(|batch| !batch.is_empty()) {
        table = table.lazy().with_columns(batch).collect().map_err(|error| place.polars(error))?;
    }
    Ok((table, FittedOp::Impute { strategy: strategy.to_string(), values }))
}

fn missing_fitted(column: &str, place: &Place) -> StepError {
    StepError::Internal(format!(
        "the fitted statistics have no usable value for column `{column}` in {}",
        place.describe()
    ))
}

fn fit_fill(series: &Series, strategy: &str, value: Option<&Json>, place: &Place) -> Result<FillValue, StepError> {
    let name = series.name().as_str();
    let dtype = series.dtype();
    let empty =
        || place.error(format!("cannot impute column `{name}` with its {strategy}: it has no values"), Vec::new());
    match strategy {
        "mean" | "median" => {
            if !dtype.is_primitive_numeric() {
                return Err(place.error(
                    format!("cannot take the {strategy} of column `{name}`: it holds {dtype} values"),
                    Vec::new(),
                ));
            }
            let statistic = if strategy == "mean" {
                let floats = series.cast(&DataType::Float64).map_err(|error| place.polars(error))?;
                mean_and_std(floats.f64().map_err(|error| place.polars(error))?).map(|(mean, _)| mean)
            } else {
                median_of(series).map_err(|error| place.polars(error))?
            };
            let statistic = statistic.filter(|value| !value.is_nan()).ok_or_else(empty)?;
            Ok(if dtype.is_integer() { FillValue::Int(statistic.round() as i64) } else { FillValue::Float(statistic) })
        }
        "mode" => {
            let mode = mode(series).map_err(|error| place.polars(error))?.ok_or_else(empty)?;
            FillValue::from_any_value(&mode, dtype)
                .ok_or_else(|| place.error(format!("cannot impute column `{name}` of type {dtype}"), Vec::new()))
        }
        "constant" => {
            let value =
                value.ok_or_else(|| place.error("`strategy=\"constant\"` needs a `value`".to_string(), Vec::new()))?;
            FillValue::from_json(value, dtype).ok_or_else(|| {
                place.error(
                    format!("the fill value {value} does not fit column `{name}`, which holds {dtype} values"),
                    Vec::new(),
                )
            })
        }
        other => Err(StepError::Internal(format!("unknown impute strategy `{other}`"))),
    }
}

/// The median of the non-null values (the mean of the middle two for an even count), by
/// selection rather than polars' sort: linear time, a few milliseconds a million rows. NaN
/// sorts above every number, as in polars. Integers that fit `i64` are counted when their
/// values span at most [`COUNTED_RANGE`] numbers, and otherwise selected as integers:
/// converting to `f64` keeps their order, so the middle values are the same either way.
fn median_of(series: &Series) -> PolarsResult<Option<f64>> {
    use DataType::{Int16, Int32, Int64, Int8, UInt16, UInt32, UInt8};
    if matches!(series.dtype(), Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32) {
        let ints = series.cast(&DataType::Int64)?;
        let values = non_null_values(ints.i64()?);
        let middle = counted_middle(&values).or_else(|| selected_middle(values, i64::cmp));
        return Ok(middle.map(|middle| middle.median(|value| value as f64)));
    }
    let floats = series.cast(&DataType::Float64)?;
    let values = non_null_values(floats.f64()?);
    Ok(selected_middle(values, f64::total_cmp).map(|middle| middle.median(|value| value)))
}

/// The middle of sorted values: one value for an odd count, two for an even one.
enum Middle<T> {
    One(T),
    Two(T, T),
}

impl<T: Copy> Middle<T> {
    fn median(self, float: impl Fn(T) -> f64) -> f64 {
        match self {
            Middle::One(value) => float(value),
            Middle::Two(lower, upper) => (float(lower) + float(upper)) / 2.0,
        }
    }
}

/// The widest range of integers whose median [`median_of`] takes by counting them.
const COUNTED_RANGE: i64 = 1 << 16;

/// The non-null values of `column`, runs of valid values copied at once.
fn non_null_values<T: PolarsNumericType>(column: &ChunkedArray<T>) -> Vec<T::Native> {
    let mut values = Vec::with_capacity(column.len() - column.null_count());
    for array in column.downcast_iter() {
        match array.validity().filter(|validity| validity.unset_bits() > 0) {
            None => values.extend_from_slice(array.values()),
            Some(validity) => {
                for (start, length) in polars_core::utils::arrow::bitmap::utils::SlicesIterator::new(validity) {
                    values.extend_from_slice(&array.values()[start..start + length]);
                }
            }
        }
    }
    values
}

/// The middle of `values`, by selection.
fn selected_middle<T: Copy>(mut values: Vec<T>, order: fn(&T, &T) -> std::cmp::Ordering) -> Option<Middle<T>> {
    let count = values.len();
    if count == 0 {
        return None;
    }
    let (below, &mut upper, _) = values.select_nth_unstable_by(count / 2, order);
    if count % 2 == 1 {
        return Some(Middle::One(upper));
    }
    let lower = below.iter().copied().max_by(order).unwrap_or(upper);
    Some(Middle::Two(lower, upper))
}

/// The middle of `values` by counting each value, when they span at most [`COUNTED_RANGE`]
/// numbers; `None` otherwise, or when there are none.
fn counted_middle(values: &[i64]) -> Option<Middle<i64>> {
    let min = values.iter().copied().min()?;
    let max = values.iter().copied().max()?;
    let range = i128::from(max) - i128::from(min);
    if range >= i128::from(COUNTED_RANGE) {
        return None;
    }
    let mut counts = vec![0usize; range as usize + 1];
    for &value in values {
        counts[(value - min) as usize] += 1;
    }
    // The value of a 0-based rank in sorted order.
    let ranked = |wanted: usize| {
        let mut seen = 0;
        counts
            .iter()
            .position(|&times| {
                seen += times;
                seen > wanted
            })
            .map(|offset| min + offset as i64)
    };
    let count = values.len();
    let upper = ranked(count / 2)?;
    Some(if count % 2 == 1 { Middle::One(upper) } else { Middle::Two(ranked(count / 2 - 1)?, upper) })
}

/// The most frequent non-null value; ties go to the smallest.
fn mode(series: &Series) -> PolarsResult<Option<AnyValue<'static>>> {
    let name = series.name().clone();
    let counts = DataFrame::new(series.len(), vec![series.clone().into_column()])?
        .lazy()
        .filter(col(name.clone()).is_not_null())
        .group_by([col(name.clone())])
        .agg([len().alias("count")])
        .sort_by_exprs(
            [col("count"), col(name.clone())],
            SortMultipleOptions::default().with_order_descending_multi([true, false]),
        )
        .limit(1)
        .collect()?;
    if counts.height() == 0 {
        return Ok(None);
    }
    Ok(Some(counts.column(&name)?.get(0)?.into_static()))
}

fn one_hot(
    table: DataFrame,
    columns: &[String],
    drop_first: bool,
    levels: &BTreeMap<String, Vec<String>>,
    previous: Option<&FittedOp>,
    place: &Place,
) -> Result<(DataFrame, FittedOp), StepError> {
    let mut order: Vec<String> = table.get_column_names().into_iter().map(|name| name.to_string()).collect();
    let mut created = Vec::new();
    let mut fitted_levels = BTreeMap::new();
    for name in columns {
        let column_levels = one_hot_levels(place.column(&table, name)?, name, levels, previous, place)?;
        let text = col(name.as_str()).cast(DataType::String);
        let names: Vec<String> =
            column_levels.iter().skip(usize::from(drop_first)).map(|level| format!("{name}_{level}")).collect();
        for (level, new_name) in column_levels.iter().skip(usize::from(drop_first)).zip(&names) {
            if new_name != name && table.column(new_name).is_ok() {
                return Err(place.error(format!("column `{new_name}` already exists"), Vec::new()));
            }
            let indicator = text.clone().eq(lit(level.as_str())).fill_null(lit(false)).cast(DataType::Int64);
            created.push(indicator.alias(new_name.as_str()));
        }
        let position = order
            .iter()
            .position(|existing| existing == name)
            .ok_or_else(|| StepError::Internal(format!("column `{name}` vanished during one-hot encoding")))?;
        order.splice(position..=position, names);
        fitted_levels.insert(name.clone(), column_levels);
    }
    let order: Vec<Expr> = order.iter().map(|name| col(name.as_str())).collect();
    let table = table.lazy().with_columns(created).select(order).collect().map_err(|error| place.polars(error))?;
    Ok((table, FittedOp::OneHot { drop_first, levels: fitted_levels }))
}

/// The levels `one-hot` expands `column` into: the fitted ones when replaying, else the
/// declared ones, `false` and `true` for a boolean column.
fn one_hot_levels(
    column: &Column,
    name: &str,
    levels: &BTreeMap<String, Vec<String>>,
    previous: Option<&FittedOp>,
    place: &Place,
) -> Result<Vec<String>, StepError> {
    let known = match previous {
        Some(FittedOp::OneHot { levels, .. }) => levels.get(name).cloned(),
        _ => levels.get(name).cloned(),
    };
    match (known, column.dtype()) {
        (Some(levels), _) => Ok(levels),
        (None, DataType::Boolean) => Ok(vec!["false".to_string(), "true".to_string()]),
        (None, dtype) => Err(place.error(
            format!("column `{name}` has no declared levels to one-hot encode"),
            vec![format!("it holds {dtype} values; declare it as a `category` with `levels`")],
        )),
    }
}

fn scale(
    table: DataFrame,
    columns: &[String],
    method: &str,
    previous: Option<&FittedOp>,
    place: &Place,
) -> Result<(DataFrame, FittedOp), StepError> {
    let mut stats = BTreeMap::new();
    let mut scaled = Vec::with_capacity(columns.len());
    for name in columns {
        let column = place.column(&table, name)?;
        if !column.dtype().is_primitive_numeric() {
            return Err(
                place.error(format!("cannot scale column `{name}`: it holds {} values", column.dtype()), Vec::new())
            );
        }
        let column_stats = match previous {
            Some(FittedOp::Scale { stats, .. }) => *stats.get(name).ok_or_else(|| missing_fitted(name, place))?,
            _ => fit_scale(column.as_materialized_series(), method, place)?,
        };
        let (center, spread) = column_stats.center_and_spread();
        scaled.push(((col(name.as_str()).cast(DataType::Float64) - lit(center)) / lit(spread)).alias(name.as_str()));
        stats.insert(name.clone(), column_stats);
    }
    let table = table.lazy().with_columns(scaled).collect().map_err(|error| place.polars(error))?;
    Ok((table, FittedOp::Scale { method: method.to_string(), stats }))
}

/// The mean and the population standard deviation of the non-null values (NaN counts as a
/// value), `None` when there is none. The values are summed one after the other with
/// Neumaier's compensation, so the result is accurate and does not depend on how the column
/// is cut into chunks (a table read a row group at a time, say) or on how many threads run.
fn mean_and_std(floats: &Float64Chunked) -> Option<(f64, f64)> {
    let sum = |values: &mut dyn Iterator<Item = f64>| {
        let (mut total, mut compensation, mut count) = (0.0f64, 0.0f64, 0usize);
        for value in values {
            let next = total + value;
            compensation += if total.abs() >= value.abs() { (total - next) + value } else { (value - next) + total };
            total = next;
            count += 1;
        }
        (total + compensation, count)
    };
    let (total, count) = sum(&mut floats.iter().flatten());
    if count == 0 {
        return None;
    }
    let mean = total / count as f64;
    let (squares, _) = sum(&mut floats.iter().flatten().map(|value| (value - mean) * (value - mean)));
    Some((mean, (squares / count as f64).sqrt()))
}

fn fit_scale(series: &Series, method: &str, place: &Place) -> Result<ScaleStats, StepError> {
    let name = series.name().as_str();
    let floats = series.cast(&DataType::Float64).map_err(|error| place.polars(error))?;
    let floats = floats.f64().map_err(|error| place.polars(error))?;
    let empty = || place.error(format!("cannot scale column `{name}`: it has no values"), Vec::new());
    match method {
        "standard" => {
            let (mean, std) = mean_and_std(floats).ok_or_else(empty)?;
            Ok(ScaleStats::Standard { mean, std })
        }
        "minmax" => {
            let min = floats.min().ok_or_else(empty)?;
            let max = floats.max().ok_or_else(empty)?;
            Ok(ScaleStats::MinMax { min, max })
        }
        other => Err(StepError::Internal(format!("unknown scale method `{other}`"))),
    }
}

#[cfg(test)]
mod tests;
