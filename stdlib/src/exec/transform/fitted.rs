//! What `transform` learns from its input — fill values, scaling statistics, one-hot levels —
//! written as the `fitted` output (JSON), so serving replays exactly the same transform.
//!
//! ```json
//! {
//!   "columns": ["age", "plan_basic", "plan_pro", "monthly_charges"],
//!   "ops": [
//!     {"op": "drop"},
//!     {"op": "impute", "strategy": "median", "values": {"age": 42}},
//!     {"op": "one-hot", "drop_first": false, "levels": {"plan": ["basic", "pro"]}},
//!     {"op": "derive"},
//!     {"op": "filter"},
//!     {"op": "scale", "method": "standard", "stats": {"monthly_charges": {"mean": 61.2, "std": 18.4}}}
//!   ]
//! }
//! ```
//!
//! `ops[i]` belongs to the transform's i-th operation. Fill values have the column's type
//! (dates as `YYYY-MM-DD`, datetimes as `YYYY-MM-DD HH:MM:SS.ffffff`). Scaling maps `x` to
//! `(x - mean) / std` or `(x - min) / (max - min)`; a spread of 0 divides by 1 instead.

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use crate::exec::table::{format_date, parse_date, parse_datetime, value_json};

/// The fitted state of a whole transform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fitted {
    /// The output table's columns, in order.
    pub columns: Vec<String>,
    /// One entry per operation, in order.
    pub ops: Vec<FittedOp>,
}

/// The fitted state of one operation; operations that learn nothing have only their name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum FittedOp {
    /// `drop`.
    Drop,
    /// `keep`.
    Keep,
    /// `rename`.
    Rename,
    /// `cast`.
    Cast,
    /// `derive`.
    Derive,
    /// `filter`.
    Filter,
    /// `impute`: column → fill value.
    Impute {
        /// `mean`, `median`, `mode` or `constant`.
        strategy: String,
        /// Column → the value its nulls were filled with.
        values: BTreeMap<String, Json>,
    },
    /// `one-hot`: the levels each column was expanded into.
    OneHot {
        /// Whether the first level's column was left out.
        drop_first: bool,
        /// Column → levels, in order.
        levels: BTreeMap<String, Vec<String>>,
    },
    /// `scale`: per column statistics.
    Scale {
        /// `standard` or `minmax`.
        method: String,
        /// Column → statistics.
        stats: BTreeMap<String, ScaleStats>,
    },
}

/// The statistics `scale` learned for one column.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ScaleStats {
    /// `standard`: mean and population standard deviation.
    Standard {
        /// The mean.
        mean: f64,
        /// The standard deviation (ddof 0).
        std: f64,
    },
    /// `minmax`: smallest and largest value.
    MinMax {
        /// The smallest value.
        min: f64,
        /// The largest value.
        max: f64,
    },
}

impl ScaleStats {
    /// `x ↦ (x - center) / spread`, with a spread of 0 (or not finite) read as 1.
    pub fn center_and_spread(self) -> (f64, f64) {
        let (center, spread) = match self {
            ScaleStats::Standard { mean, std } => (mean, std),
            ScaleStats::MinMax { min, max } => (min, max - min),
        };
        let spread = if spread == 0.0 || !spread.is_finite() { 1.0 } else { spread };
        (center, spread)
    }
}

/// A fill value of one column's type.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum FillValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Text(String),
    Date(i32),
    Datetime(i64),
}

impl FillValue {
    /// The value as a literal of `dtype`.
    pub fn literal(&self, dtype: &DataType) -> Expr {
        let expr = match self {
            FillValue::Int(int) => lit(*int),
            FillValue::Float(float) => lit(*float),
            FillValue::Bool(flag) => lit(*flag),
            FillValue::Text(text) => lit(text.clone()),
            FillValue::Date(days) => lit(*days),
            FillValue::Datetime(micros) => lit(*micros),
        };
        expr.cast(dtype.clone())
    }

    /// The value as written in `fitted`.
    pub fn to_json(&self) -> Json {
        match self {
            FillValue::Int(int) => Json::from(*int),
            FillValue::Float(float) => value_json(&AnyValue::Float64(*float)),
            FillValue::Bool(flag) => Json::Bool(*flag),
            FillValue::Text(text) => Json::String(text.clone()),
            FillValue::Date(days) => Json::String(format_date(*days)),
            FillValue::Datetime(micros) => {
                let days = micros.div_euclid(86_400_000_000);
                let rest = micros.rem_euclid(86_400_000_000);
                let (seconds, fraction) = (rest / 1_000_000, rest % 1_000_000);
                let date = i32::try_from(days).map_or_else(|_| days.to_string(), format_date);
                Json::String(format!(
                    "{date} {:02}:{:02}:{:02}.{fraction:06}",
                    seconds / 3600,
                    seconds / 60 % 60,
                    seconds % 60
                ))
            }
        }
    }

    /// A value for a column of `dtype`: from an `impute` `value` param or from `fitted`.
    pub fn from_json(value: &Json, dtype: &DataType) -> Option<FillValue> {
        match (dtype, value) {
            (dtype, Json::Number(number)) if dtype.is_integer() => number
                .as_i64()
                .or_else(|| number.as_f64().filter(|float| float.fract() == 0.0).map(|float| float as i64))
                .map(FillValue::Int),
            (dtype, Json::Number(number)) if dtype.is_float() => number.as_f64().map(FillValue::Float),
            (dtype, Json::String(text)) if dtype.is_float() => text.parse().ok().map(FillValue::Float),
            (DataType::Boolean, Json::Bool(flag)) => Some(FillValue::Bool(*flag)),
            (DataType::String, Json::String(text)) => Some(FillValue::Text(text.clone())),
            (DataType::Date, Json::String(text)) => parse_date(text).map(FillValue::Date),
            (DataType::Datetime(..), Json::String(text)) => parse_datetime(text).map(FillValue::Datetime),
            _ => None,
        }
    }

    /// A value read from a column of `dtype` (a mode).
    pub fn from_any_value(value: &AnyValue, dtype: &DataType) -> Option<FillValue> {
        Some(match value {
            AnyValue::Boolean(flag) => FillValue::Bool(*flag),
            AnyValue::String(text) => FillValue::Text((*text).to_string()),
            AnyValue::StringOwned(text) => FillValue::Text(text.to_string()),
            AnyValue::Date(days) => FillValue::Date(*days),
            AnyValue::Datetime(value, unit, _) | AnyValue::DatetimeOwned(value, unit, _) => {
                let micros = match unit {
                    TimeUnit::Nanoseconds => value / 1000,
                    TimeUnit::Microseconds => *value,
                    TimeUnit::Milliseconds => value * 1000,
                };
                FillValue::Datetime(micros)
            }
            value if dtype.is_float() => FillValue::Float(value.extract::<f64>()?),
            value if dtype.is_integer() => FillValue::Int(value.extract::<i64>()?),
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_serializes_with_an_op_tag() {
        let fitted = Fitted {
            columns: vec!["x".to_string()],
            ops: vec![
                FittedOp::Drop,
                FittedOp::Scale {
                    method: "minmax".to_string(),
                    stats: BTreeMap::from([("x".to_string(), ScaleStats::MinMax { min: 1.0, max: 3.0 })]),
                },
            ],
        };
        let json = serde_json::to_value(&fitted).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"columns": ["x"], "ops": [
                {"op": "drop"},
                {"op": "scale", "method": "minmax", "stats": {"x": {"min": 1.0, "max": 3.0}}},
            ]})
        );
        assert_eq!(serde_json::from_value::<Fitted>(json).unwrap(), fitted);
    }

    #[test]
    fn fill_values_round_trip_through_json() {
        let cases = [
            (FillValue::Int(3), DataType::Int64),
            (FillValue::Float(2.5), DataType::Float64),
            (FillValue::Bool(true), DataType::Boolean),
            (FillValue::Text("none".to_string()), DataType::String),
            (FillValue::Date(19_723), DataType::Date),
            (FillValue::Datetime(1_704_067_201_500_000), DataType::Datetime(TimeUnit::Microseconds, None)),
        ];
        for (value, dtype) in cases {
            assert_eq!(FillValue::from_json(&value.to_json(), &dtype), Some(value.clone()), "{value:?}");
        }
        assert_eq!(FillValue::from_json(&Json::from(1.5), &DataType::Int64), None);
        assert_eq!(FillValue::from_json(&Json::from("x"), &DataType::Int64), None);
    }

    #[test]
    fn a_zero_spread_divides_by_one() {
        assert_eq!(ScaleStats::Standard { mean: 2.0, std: 0.0 }.center_and_spread(), (2.0, 1.0));
        assert_eq!(ScaleStats::MinMax { min: 1.0, max: 5.0 }.center_and_spread(), (1.0, 4.0));
    }
}
