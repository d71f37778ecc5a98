//! Tables as XGBoost sees them: the features as `f32` columns (nulls become NaN, XGBoost's
//! missing value) and the label as numbers, with the mapping from label values to classes.
//!
//! Labels: a binary label is `bool` (false → 0, true → 1) or a number holding 0 and 1 only; a
//! multiclass label is text (a category: its levels in the plan's order when the plan gives
//! them as `label_levels`, else sorted) or an integer (its distinct values, sorted), mapped to
//! `0..k`; a regression label is any number. Missing labels and single-class labels are data
//! errors that name the column and the table.

use crate::exec::xgboost::DMatrix;
use polars::prelude::*;
use serde_json::Value as Json;

use crate::exec::metrics::Task;
use crate::exec::table::quoted_list;
use crate::exec::{on_every_core, StepError};

/// A table's features as XGBoost reads them: one `f32` column a feature.
#[derive(Debug, Clone)]
pub(crate) struct FeatureMatrix {
    /// Rows.
    pub rows: usize,
    /// The features' values, a column each, in the order of the features.
    pub columns: Vec<Vec<f32>>,
}

impl FeatureMatrix {
    /// Reads `features` from `table` (named `table_name` in messages): numbers and booleans as
    /// `f32`, nulls as NaN.
    pub fn from_table(table: &DataFrame, features: &[String], table_name: &str) -> Result<FeatureMatrix, StepError> {
        let columns = on_every_core(features, |feature| {
            let column = table.column(feature).map_err(|_| StepError::Data {
                message: format!("feature `{feature}` is not a column of {table_name}"),
                details: vec![format!("its columns are {}", column_names(table))],
            })?;
            floats(column, table_name)
        })?;
        Ok(FeatureMatrix { rows: table.height(), columns })
    }

    /// Reads `features` from the Parquet file at `path` a few columns at a time, so that the
    /// table is never whole in memory beside its matrix. Returns the matrix and the features'
    /// schema (type, and nullable when a null is there).
    pub fn from_parquet(
        path: &std::path::Path,
        features: &[String],
        table_name: &str,
    ) -> Result<(FeatureMatrix, Vec<super::preprocess::SchemaColumn>), StepError> {
        let names = crate::exec::table::parquet_column_names(path)?;
        if let Some(missing) = features.iter().find(|feature| !names.contains(feature)) {
            return Err(StepError::Data {
                message: format!("feature `{missing}` is not a column of {table_name}"),
                details: vec![format!("its columns are {}", quoted_list(&names))],
            });
        }
        let mut matrix = FeatureMatrix { rows: 0, columns: Vec::with_capacity(features.len()) };
        let mut schema = Vec::with_capacity(features.len());
        for batch in features.chunks(READ_BATCH) {
            let table = crate::exec::table::read_parquet_columns(path, batch)?;
            matrix.rows = table.height();
            let columns = on_every_core(batch, |feature| {
                let column = table.column(feature).map_err(|error| {
                    StepError::polars(format!("cannot read feature `{feature}` of {table_name}"), error)
                })?;
                floats(column, table_name)
            })?;
            matrix.columns.extend(columns);
            schema.extend(super::preprocess::feature_schema(&table, batch));
        }
        Ok((matrix, schema))
    }

    pub(crate) fn slices(&self) -> Result<Vec<&[f32]>, StepError> {
        if self.rows == 0 || self.columns.is_empty() {
            return Err(StepError::Internal("an XGBoost matrix needs rows and columns".to_string()));
        }
        Ok(self.columns.iter().map(Vec::as_slice).collect())
    }

    /// An XGBoost matrix of these features (NaN marks a missing value) and their `labels`,
    /// copied into XGBoost on up to `threads` threads.
    pub fn dmatrix(&self, labels: &[f32], threads: usize) -> Result<DMatrix, StepError> {
        let mut matrix = DMatrix::from_columns(&self.slices()?, threads).map_err(xgboost_error)?;
        matrix.set_labels(labels).map_err(xgboost_error)?;
        Ok(matrix)
    }

    /// An XGBoost quantile matrix of these features for the `hist` tree method, binned into at
    /// most `max_bin` bins (at the boundaries of `reference` when given), with `labels`.
    pub fn quantile_dmatrix(
        &self,
        labels: &[f32],
        max_bin: u32,
        threads: usize,
        reference: Option<&DMatrix>,
    ) -> Result<DMatrix, StepError> {
        DMatrix::quantile_from_columns(&self.slices()?, labels, max_bin, threads, reference).map_err(xgboost_error)
    }
}

/// Features read from Parquet at once: enough for the reader's parallelism, few enough that a
/// batch is a fraction of the matrix.
const READ_BATCH: usize = 8;

/// A feature column as `f32`, nulls as NaN.
fn floats(column: &Column, table_name: &str) -> Result<Vec<f32>, StepError> {
    let feature = column.name();
    let dtype = column.dtype();
    if !(dtype.is_primitive_numeric() || dtype.is_bool() || dtype == &DataType::Null) {
        return Err(StepError::data(format!(
            "feature `{feature}` of {table_name} holds {dtype} values; features must be int, float or bool (one-hot or drop it)"
        )));
    }
    let unreadable = |error| StepError::polars(format!("cannot read feature `{feature}` as numbers"), error);
    // The usual types are converted in one pass, with Rust's `as`, which is how polars casts
    // them; any other goes through polars' cast.
    match dtype {
        DataType::Float64 => return Ok(converted(column.f64().map_err(unreadable)?, |value| value as f32)),
        DataType::Int64 => return Ok(converted(column.i64().map_err(unreadable)?, |value| value as f32)),
        DataType::Float32 => return Ok(converted(column.f32().map_err(unreadable)?, |value| value)),
        _ => {}
    }
    let cast = column.cast(&DataType::Float32).map_err(unreadable)?;
    Ok(converted(cast.f32().map_err(unreadable)?, |value| value))
}

/// The values of `column` as `f32` by `convert`, nulls as NaN: each chunk's values converted
/// in one pass, then its nulls overwritten.
fn converted<T: PolarsNumericType>(column: &ChunkedArray<T>, convert: impl Fn(T::Native) -> f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(column.len());
    for array in column.downcast_iter() {
        let start = out.len();
        out.extend(array.values().iter().map(|&value| convert(value)));
        if let Some(validity) = array.validity().filter(|validity| validity.unset_bits() > 0) {
            let chunk = &mut out[start..];
            let mut end = 0;
            for (valid, length) in polars_core::utils::arrow::bitmap::utils::SlicesIterator::new(validity) {
                chunk[end..valid].fill(f32::NAN);
                end = valid + length;
            }
            chunk[end..].fill(f32::NAN);
        }
    }
    out
}

/// An XGBoost error as a step error.
pub(crate) fn xgboost_error(error: crate::exec::xgboost::Error) -> StepError {
    let text = error.to_string();
    StepError::Xgboost(text.strip_prefix("XGBoost error: ").unwrap_or(&text).trim().to_string())
}

/// `a`, `b`, `c`: the columns of a table, for messages.
pub(crate) fn column_names(table: &DataFrame) -> String {
    let names: Vec<&str> = table.get_column_names().into_iter().map(PlSmallStr::as_str).collect();
    quoted_list(&names)
}

/// A label column's non-null values, by kind.
#[derive(Debug, Clone, PartialEq)]
enum LabelValues {
    Bool(Vec<bool>),
    Int(Vec<i64>),
    Float(Vec<f64>),
    Text(Vec<String>),
}

/// Reads the label column, refusing nulls and NaN.
fn label_values(table: &DataFrame, label: &str, table_name: &str) -> Result<LabelValues, StepError> {
    let column = table.column(label).map_err(|_| StepError::Data {
        message: format!("label `{label}` is not a column of {table_name}"),
        details: vec![format!("its columns are {}", column_names(table))],
    })?;
    let unreadable = |error: PolarsError| StepError::polars(format!("cannot read label `{label}`"), error);
    let missing = |count: usize| {
        StepError::data(format!(
            "label `{label}` has {count} missing value{} (null or NaN) in {table_name}; drop or impute those rows first",
            if count == 1 { "" } else { "s" }
        ))
    };
    let dtype = column.dtype().clone();
    let nulls = column.null_count();
    if dtype.is_float() {
        let floats = column.cast(&DataType::Float64).map_err(unreadable)?;
        let floats: Vec<Option<f64>> = floats.f64().map_err(unreadable)?.iter().collect();
        let count = floats.iter().filter(|value| value.is_none_or(f64::is_nan)).count();
        if count > 0 {
            return Err(missing(count));
        }
        return Ok(LabelValues::Float(floats.into_iter().flatten().collect()));
    }
    if nulls > 0 {
        return Err(missing(nulls));
    }
    if dtype.is_bool() {
        Ok(LabelValues::Bool(column.bool().map_err(unreadable)?.iter().flatten().collect()))
    } else if dtype.is_integer() {
        let ints = column.cast(&DataType::Int64).map_err(unreadable)?;
        Ok(LabelValues::Int(ints.i64().map_err(unreadable)?.iter().flatten().collect()))
    } else if matches!(dtype, DataType::String | DataType::Categorical(..) | DataType::Enum(..)) {
        let text = column.cast(&DataType::String).map_err(unreadable)?;
        Ok(LabelValues::Text(text.str().map_err(unreadable)?.iter().flatten().map(str::to_string).collect()))
    } else {
        Err(StepError::data(format!(
            "label `{label}` of {table_name} holds {dtype} values; a label is bool, int, float or category"
        )))
    }
}

/// How label values become the numbers XGBoost learns: `classes[i]` is class `i`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Classes {
    /// The task.
    pub task: Task,
    /// The label value of each class (empty for regression), as JSON: `false`/`true`, `0`/`1`,
    /// category levels or integers.
    pub values: Vec<Json>,
}

impl Classes {
    /// Decides the classes from the training table (and the validation table, so a class seen
    /// only there still has a number). `levels` are a category label's levels in order. The
    /// training table must hold at least two classes.
    pub fn fit(
        task: Task,
        label: &str,
        tables: &[(&DataFrame, &str)],
        levels: Option<&[String]>,
    ) -> Result<Classes, StepError> {
        let mut all = Vec::new();
        for (table, table_name) in tables {
            all.push((label_values(table, label, table_name)?, *table_name));
        }
        let classes = Classes { task, values: decide(task, label, &all, levels)? };
        // Encoding checks every value.
        for (index, (values, table_name)) in all.iter().enumerate() {
            let encoded = classes.encode_values(values, label, table_name)?;
            if index == 0 && task != Task::Regression {
                classes.require_two_classes(&encoded, label, table_name)?;
            }
        }
        Ok(classes)
    }

    /// The classes of a scored table when the model's own are not recorded: as [`Classes::fit`]
    /// decides them, without requiring two.
    pub fn infer(task: Task, label: &str, table: &DataFrame, table_name: &str) -> Result<Classes, StepError> {
        let all = [(label_values(table, label, table_name)?, table_name)];
        Ok(Classes { task, values: decide(task, label, &all, None)? })
    }

    /// The classes recorded by `train` (in its `preprocess` output).
    pub fn recorded(task: Task, values: Vec<Json>) -> Classes {
        Classes { task, values }
    }

    /// The number of classes XGBoost predicts (1 for regression).
    pub fn count(&self) -> usize {
        self.values.len().max(1)
    }

    /// The label of `table` as numbers.
    pub fn encode(&self, table: &DataFrame, label: &str, table_name: &str) -> Result<Vec<f32>, StepError> {
        self.encode_values(&label_values(table, label, table_name)?, label, table_name)
    }

    fn encode_values(&self, values: &LabelValues, label: &str, table_name: &str) -> Result<Vec<f32>, StepError> {
        let unknown = |value: String| StepError::Data {
            message: format!("label `{label}` has the value {value} in {table_name}, which is not one of its classes"),
            details: vec![format!("the classes are {}", json_list(&self.values))],
        };
        match (self.task, values) {
            (Task::Regression, LabelValues::Float(floats)) => Ok(floats.iter().map(|&value| value as f32).collect()),
            (Task::Regression, LabelValues::Int(ints)) => Ok(ints.iter().map(|&value| value as f32).collect()),
            (Task::Regression, _) => Err(StepError::data(format!(
                "label `{label}` of {table_name} is not numeric; a regression label is int or float"
            ))),
            (_, LabelValues::Bool(flags)) if self.task == Task::Binary => {
                Ok(flags.iter().map(|&flag| f32::from(u8::from(flag))).collect())
            }
            (_, LabelValues::Text(text)) => text
                .iter()
                .map(|value| {
                    self.values
                        .iter()
                        .position(|class| class.as_str() == Some(value))
                        .map(|index| index as f32)
                        .ok_or_else(|| unknown(format!("`{value}`")))
                })
                .collect(),
            (_, LabelValues::Int(_) | LabelValues::Float(_)) => {
                let numbers = whole_numbers(values, label, table_name)?;
                numbers
                    .iter()
                    .map(|&value| {
                        self.values
                            .iter()
                            .position(|class| class.as_i64() == Some(value))
                            .map(|index| index as f32)
                            .ok_or_else(|| {
                                if self.task == Task::Binary {
                                    StepError::data(format!(
                                        "label `{label}` has the value {value} in {table_name}; a binary label holds 0 and 1 only (or is a bool)"
                                    ))
                                } else {
                                    unknown(value.to_string())
                                }
                            })
                    })
                    .collect()
            }
            (_, LabelValues::Bool(_)) => Err(StepError::data(format!(
                "label `{label}` of {table_name} is a bool; a multiclass label is int or category"
            ))),
        }
    }

    fn require_two_classes(&self, encoded: &[f32], label: &str, table_name: &str) -> Result<(), StepError> {
        let first = encoded.first().copied();
        if let Some(first) = first {
            if encoded.iter().all(|&class| class == first) {
                let value = self.values.get(first as usize).map_or_else(|| first.to_string(), Json::to_string);
                return Err(StepError::data(format!(
                    "label `{label}` has only one class ({}) in {table_name}; a classifier needs at least two",
                    value.trim_matches('"')
                )));
            }
        } else {
            return Err(StepError::data(format!("{table_name} has no rows")));
        }
        Ok(())
    }
}

/// The label value of each class.
fn decide(
    task: Task,
    label: &str,
    all: &[(LabelValues, &str)],
    levels: Option<&[String]>,
) -> Result<Vec<Json>, StepError> {
    let first = all.first().map(|(values, _)| values);
    Ok(match task {
        Task::Regression => Vec::new(),
        Task::Binary => match first {
            Some(LabelValues::Bool(_)) => vec![Json::Bool(false), Json::Bool(true)],
            _ => vec![Json::from(0), Json::from(1)],
        },
        Task::Multiclass => match (first, levels) {
            (Some(LabelValues::Text(_)), Some(levels)) => levels.iter().cloned().map(Json::String).collect(),
            (Some(LabelValues::Text(_)), None) => {
                let mut distinct: Vec<&String> = all
                    .iter()
                    .flat_map(|(values, _)| match values {
                        LabelValues::Text(text) => text.iter().collect(),
                        _ => Vec::new(),
                    })
                    .collect();
                distinct.sort();
                distinct.dedup();
                distinct.into_iter().cloned().map(Json::String).collect()
            }
            _ => {
                let mut distinct = Vec::new();
                for (values, table_name) in all {
                    distinct.extend(whole_numbers(values, label, table_name)?);
                }
                distinct.sort_unstable();
                distinct.dedup();
                distinct.into_iter().map(Json::from).collect()
            }
        },
    })
}

/// Integer label values (floats must be whole).
fn whole_numbers(values: &LabelValues, label: &str, table_name: &str) -> Result<Vec<i64>, StepError> {
    match values {
        LabelValues::Int(ints) => Ok(ints.clone()),
        LabelValues::Float(floats) => floats
            .iter()
            .map(|&value| {
                if value.fract() == 0.0 && value.abs() < 9.0e15 {
                    Ok(value as i64)
                } else {
                    Err(StepError::data(format!(
                        "label `{label}` has the value {value} in {table_name}; class labels are whole numbers"
                    )))
                }
            })
            .collect(),
        LabelValues::Bool(flags) => Ok(flags.iter().map(|&flag| i64::from(flag)).collect()),
        LabelValues::Text(_) => Err(StepError::Internal("text labels have no numbers".to_string())),
    }
}

fn json_list(values: &[Json]) -> String {
    values.iter().map(Json::to_string).collect::<Vec<_>>().join(", ")
}

/// The features of a model: the plan's `features` when given, else every column of `table` but
/// the label, in table order.
pub(crate) fn feature_names(features: Option<Vec<String>>, table: &DataFrame, label: &str) -> Vec<String> {
    features.unwrap_or_else(|| {
        table
            .get_column_names()
            .into_iter()
            .filter(|name| name.as_str() != label)
            .map(|name| name.to_string())
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_convert_to_f32_as_polars_casts_them_with_nulls_as_nan() {
        let floats64 = [
            Some(0.1f64),
            None,
            Some(-0.0),
            Some(f64::NAN),
            Some(f64::INFINITY),
            Some(1e300),
            Some(-1e-300),
            Some(16_777_217.0),
            Some(3.4028235e38),
            Some(1.0000000596046448),
        ];
        let ints = [Some(16_777_217i64), None, Some(-3), Some(i64::MAX), Some(i64::MIN), Some(0), None, None];
        let mut chunked = Series::new("f".into(), &floats64);
        chunked.append(&Series::new("f".into(), &[None, Some(2.5f64), None])).unwrap();
        let columns = [
            chunked,
            Series::new("i".into(), &ints),
            Series::new("g".into(), &[Some(1.5f32), None, Some(f32::NAN)]),
            Series::new("n".into(), &[Some(7i32), None, Some(i32::MAX)]),
            Series::new("b".into(), &[Some(true), None, Some(false)]),
            Series::new("all".into(), &[None::<f64>, None]),
            Series::new("whole".into(), &[1.25f64, 2.0]),
        ];
        for series in columns {
            let ours = floats(&series.clone().into_column(), "`data`").unwrap();
            let cast = series.cast(&DataType::Float32).unwrap();
            let theirs: Vec<f32> = cast.f32().unwrap().iter().map(|value| value.unwrap_or(f32::NAN)).collect();
            let bits = |values: &[f32]| values.iter().map(|value| value.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&ours), bits(&theirs), "{series}");
        }
    }

    fn error(result: Result<Classes, StepError>) -> String {
        result.unwrap_err().to_string()
    }

    #[test]
    fn binary_labels_are_bool_or_zero_one() {
        let table = df!("y" => [true, false, true], "x" => [1.0, 2.0, 3.0]).unwrap();
        let classes = Classes::fit(Task::Binary, "y", &[(&table, "`data`")], None).unwrap();
        assert_eq!(classes.values, vec![Json::Bool(false), Json::Bool(true)]);
        assert_eq!(classes.encode(&table, "y", "`data`").unwrap(), vec![1.0, 0.0, 1.0]);

        let ints = df!("y" => [0i64, 1, 2]).unwrap();
        let message = error(Classes::fit(Task::Binary, "y", &[(&ints, "`data`")], None));
        assert!(message.contains("value 2") && message.contains("0 and 1"), "{message}");

        let one = df!("churned" => [false, false]).unwrap();
        let message = error(Classes::fit(Task::Binary, "churned", &[(&one, "the training table `data`")], None));
        assert_eq!(
            message,
            "label `churned` has only one class (false) in the training table `data`; a classifier needs at least two"
        );
    }

    #[test]
    fn missing_labels_are_counted() {
        let table = df!("y" => [Some(1.0), None, Some(f64::NAN)]).unwrap();
        let message = error(Classes::fit(Task::Regression, "y", &[(&table, "`data`")], None));
        assert!(message.contains("2 missing values"), "{message}");
    }

    #[test]
    fn multiclass_labels_follow_levels_or_sorted_values() {
        let table = df!("y" => ["b", "a", "c", "a"]).unwrap();
        let sorted = Classes::fit(Task::Multiclass, "y", &[(&table, "t")], None).unwrap();
        assert_eq!(sorted.encode(&table, "y", "t").unwrap(), vec![1.0, 0.0, 2.0, 0.0]);
        let levels = ["c".to_string(), "b".to_string(), "a".to_string()];
        let declared = Classes::fit(Task::Multiclass, "y", &[(&table, "t")], Some(&levels)).unwrap();
        assert_eq!(declared.encode(&table, "y", "t").unwrap(), vec![1.0, 2.0, 0.0, 2.0]);

        let ints = df!("y" => [3i64, 1, 2]).unwrap();
        let classes = Classes::fit(Task::Multiclass, "y", &[(&ints, "t")], None).unwrap();
        assert_eq!(classes.values, vec![Json::from(1), Json::from(2), Json::from(3)]);
        let unseen = df!("y" => [4i64]).unwrap();
        assert!(classes.encode(&unseen, "y", "t").unwrap_err().to_string().contains("not one of its classes"));
    }

    #[test]
    fn features_become_floats_with_nan_for_nulls() {
        let table = df!("a" => [Some(1i64), None], "b" => [true, false], "s" => ["x", "y"]).unwrap();
        let matrix = FeatureMatrix::from_table(&table, &["a".to_string(), "b".to_string()], "t").unwrap();
        // A column a feature: a = (1, null), b = (true, false).
        assert_eq!(matrix.rows, 2);
        assert_eq!(matrix.columns[0][0], 1.0);
        assert!(matrix.columns[0][1].is_nan());
        assert_eq!(matrix.columns[1], vec![1.0, 0.0]);
        let text = FeatureMatrix::from_table(&table, &["s".to_string()], "t").unwrap_err().to_string();
        assert!(text.contains("feature `s`"), "{text}");
        // Columns are converted on every core; the error is still the first bad feature's.
        let two = df!("a" => [1i64, 2], "s" => ["x", "y"], "r" => ["p", "q"]).unwrap();
        for (features, first) in [(["a", "r", "s"], "r"), (["s", "a", "r"], "s")] {
            let features: Vec<String> = features.iter().map(|name| name.to_string()).collect();
            let text = FeatureMatrix::from_table(&two, &features, "t").unwrap_err().to_string();
            assert!(text.contains(&format!("feature `{first}`")), "{text}");
        }
        let missing = FeatureMatrix::from_table(&table, &["z".to_string()], "t").unwrap_err();
        assert!(crate::exec::table::testing::error_text(&missing).contains("`a`, `b`, `s`"));
        assert_eq!(feature_names(None, &table, "b"), vec!["a".to_string(), "s".to_string()]);
    }
}
