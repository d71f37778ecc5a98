//! Aligned plain-text tables and the small formatting helpers shared by `runs`, `models` and
//! `lineage`, plus their `--json` printer (sorted keys, pretty).

use serde::Serialize;

/// A table: a header row and rows of cells, printed with columns aligned.
#[derive(Debug, Default)]
pub(crate) struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    right: Vec<bool>,
}

impl Table {
    /// A table with these column titles; a title starting with `>` is right-aligned (numbers).
    pub(crate) fn new(columns: &[&str]) -> Table {
        Table {
            header: columns.iter().map(|column| column.trim_start_matches('>').to_string()).collect(),
            rows: Vec::new(),
            right: columns.iter().map(|column| column.starts_with('>')).collect(),
        }
    }

    /// Adds a row; missing cells are empty.
    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Whether it has no rows.
    pub(crate) fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The table as text, one line per row, two spaces between columns, no trailing spaces.
    pub(crate) fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|title| title.chars().count()).collect();
        for row in &self.rows {
            for (index, cell) in row.iter().enumerate().take(columns) {
                widths[index] = widths[index].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (index, width) in widths.iter().enumerate() {
                let cell = row.get(index).map_or("", String::as_str);
                let pad = width.saturating_sub(cell.chars().count());
                if index > 0 {
                    line.push_str("  ");
                }
                if self.right.get(index).copied().unwrap_or(false) {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints a value as pretty JSON with sorted keys (going through `serde_json::Value`, whose maps
/// are sorted) and a final newline.
pub(crate) fn print_json<T: Serialize>(value: &T) {
    let value = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    let text = serde_json::to_string_pretty(&value).unwrap_or_default();
    crate::output::stdout(&format!("{text}\n"));
}

/// `blake3:0123456789ab…` → `0123456789ab`.
pub(crate) fn short_hash(hash: &str) -> String {
    let hex = hash.split_once(':').map_or(hash, |(_, hex)| hex);
    hex.chars().take(12).collect()
}

/// Milliseconds as `1.23s`, `2m 05s` or `1h 02m`; `-` when unknown.
pub(crate) fn duration(millis: Option<i64>) -> String {
    let Some(millis) = millis else { return "-".to_string() };
    let millis = millis.max(0);
    if millis < 60_000 {
        format!("{:.2}s", millis as f64 / 1000.0)
    } else if millis < 3_600_000 {
        format!("{}m {:02}s", millis / 60_000, (millis / 1000) % 60)
    } else {
        format!("{}h {:02}m", millis / 3_600_000, (millis / 60_000) % 60)
    }
}

/// `2025-01-02T03:04:05.678Z` → `2025-01-02 03:04:05`.
pub(crate) fn time(rfc3339: &str) -> String {
    let trimmed = rfc3339.split('.').next().unwrap_or(rfc3339).trim_end_matches('Z');
    trimmed.replacen('T', " ", 1)
}

/// A metric value with at most 4 decimals and no trailing zeros.
pub(crate) fn number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let text = format!("{value:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" || text.is_empty() {
        "0".to_string()
    } else {
        text.to_string()
    }
}

/// A signed difference: `+0.0123`, `-2`, `0`.
pub(crate) fn delta(value: f64) -> String {
    let text = number(value);
    if value > 0.0 && text != "0" {
        format!("+{text}")
    } else {
        text
    }
}

/// A byte count with thousands separators.
pub(crate) fn bytes(count: i64) -> String {
    let digits = count.unsigned_abs().to_string();
    let mut out = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    if count < 0 {
        out.insert(0, '-');
    }
    out
}

/// A JSON value as a cell: strings bare, everything else as JSON.
pub(crate) fn json_cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None => "-".to_string(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_align_and_numbers_go_right() {
        let mut table = Table::new(&["name", ">n"]);
        table.row(vec!["a".to_string(), "1".to_string()]);
        table.row(vec!["long name".to_string(), "100".to_string()]);
        assert_eq!(table.render(), "name         n\na            1\nlong name  100\n");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(number(0.912345), "0.9123");
        assert_eq!(number(3.0), "3");
        assert_eq!(delta(0.01), "+0.01");
        assert_eq!(delta(-0.5), "-0.5");
        assert_eq!(bytes(1234567), "1,234,567");
        assert_eq!(duration(Some(61_000)), "1m 01s");
        assert_eq!(time("2025-01-02T03:04:05.678Z"), "2025-01-02 03:04:05");
    }
}
