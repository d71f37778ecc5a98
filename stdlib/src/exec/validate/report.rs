//! The validation report: what `validate` writes as its `report` output (JSON).
//!
//! ```json
//! {
//!   "dataset": "customers", "rows": 1000, "passed": false, "problems": 1, "on_invalid": "stop",
//!   "checks": [
//!     {"rule": "max", "column": "age", "source": "schema", "passed": false, "count": 2,
//!      "max": 110.0, "examples": [{"row": 4, "value": 130}, {"row": 19, "value": 212}]},
//!     {"rule": "row-count", "source": "expect", "passed": true, "count": 0, "min": 1000.0,
//!      "value": 1000, "examples": []}
//!   ]
//! }
//! ```
//!
//! Rules: `not-null`, `min`, `max`, `levels`, `unique` (from the schema or an `expect`),
//! `row-count` and `null-fraction` (from `expect`). `count` is the number of offending rows
//! (for `null-fraction`, the nulls); `examples` the first five of them, with 1-based row
//! numbers; `value` the measured quantity of a table-level rule.

use serde::Serialize;
use serde_json::Value as Json;

/// The whole report.
#[derive(Debug, Serialize)]
pub(super) struct Report {
    /// The dataset's name.
    pub dataset: String,
    /// Rows checked.
    pub rows: u64,
    /// Whether every check passed.
    pub passed: bool,
    /// How many checks failed.
    pub problems: usize,
    /// `stop` or `warn`.
    pub on_invalid: String,
    /// Every check, in order: per column as declared, then the `expect` rules.
    pub checks: Vec<CheckReport>,
}

/// One check.
#[derive(Debug, Serialize)]
pub(super) struct CheckReport {
    /// `not-null`, `min`, `max`, `levels`, `unique`, `row-count`, `null-fraction`.
    pub rule: String,
    /// The column, for column rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// `schema` or `expect`: where the rule was written.
    pub source: &'static str,
    /// Whether it holds.
    pub passed: bool,
    /// Offending rows (nulls for `null-fraction`).
    pub count: u64,
    /// The lower bound, for `min`, `row-count`, `null-fraction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// The upper bound, for `max`, `row-count`, `null-fraction`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// The allowed levels, for `levels`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub levels: Option<Vec<String>>,
    /// The measured value of a table-level rule: the row count, the null fraction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Json>,
    /// The first offending rows.
    pub examples: Vec<Example>,
}

/// An offending row.
#[derive(Debug, Serialize)]
pub(super) struct Example {
    /// 1-based row number in the ingested table.
    pub row: u64,
    /// Its value in the checked column.
    pub value: Json,
}

impl CheckReport {
    /// A passing check with nothing measured yet.
    pub fn new(rule: &str, column: Option<&str>, source: &'static str) -> CheckReport {
        CheckReport {
            rule: rule.to_string(),
            column: column.map(str::to_string),
            source,
            passed: true,
            count: 0,
            min: None,
            max: None,
            levels: None,
            value: None,
            examples: Vec::new(),
        }
    }

    /// ` (rows 4, 19, …: 130, 212, …)` — the examples, for messages.
    pub fn example_text(&self) -> String {
        if self.examples.is_empty() {
            return String::new();
        }
        let more = if self.count > self.examples.len() as u64 { ", …" } else { "" };
        let rows: Vec<String> = self.examples.iter().map(|example| example.row.to_string()).collect();
        let values: Vec<String> = self
            .examples
            .iter()
            .map(|example| match &example.value {
                Json::String(text) => format!("`{text}`"),
                other => other.to_string(),
            })
            .collect();
        let noun = if rows.len() == 1 && more.is_empty() { "row" } else { "rows" };
        if self.rule == "not-null" {
            return format!(" ({noun} {}{more})", rows.join(", "));
        }
        format!(" ({noun} {}{more}: {}{more})", rows.join(", "), values.join(", "))
    }

    /// The measured value, for messages.
    pub fn count_text(&self) -> String {
        match &self.value {
            Some(Json::Number(number)) => match number.as_f64() {
                Some(fraction) if self.rule == "null-fraction" => format!("{fraction:.4}"),
                _ => number.to_string(),
            },
            Some(other) => other.to_string(),
            None => self.count.to_string(),
        }
    }

    /// "below the expected min 1000", "above the expected max 0.05", "outside 1..5".
    pub fn bounds_text(&self) -> String {
        let value = match &self.value {
            Some(Json::Number(number)) => number.as_f64().unwrap_or_default(),
            _ => self.count as f64,
        };
        match (self.min, self.max) {
            (Some(min), _) if value < min => format!("below the expected min {}", format_bound(Some(min))),
            (_, Some(max)) if value > max => format!("above the expected max {}", format_bound(Some(max))),
            _ => "outside the expected bounds".to_string(),
        }
    }
}

/// A bound as the user wrote it: `110`, not `110.0`.
pub(super) fn format_bound(bound: Option<f64>) -> String {
    match bound {
        Some(bound) if bound.fract() == 0.0 && bound.abs() < 1e15 => format!("{}", bound as i64),
        Some(bound) => bound.to_string(),
        None => "?".to_string(),
    }
}
