//! `split`: divides a table into `train`, `valid` and `test` parts by seeded random sampling,
//! optionally stratified by a column's classes, and writes each requested part as Parquet.
//!
//! Sizes: each part gets `fraction × rows` rows rounded by the largest-remainder method, so the
//! sizes always add up to the table's rows (per class, when stratified). Which rows go where is
//! decided by a Fisher–Yates shuffle driven by ChaCha8 seeded with `seed`, one shuffle per class
//! in order of the classes' first appearance; the algorithm is written here rather than taken
//! from `rand`, so the same seed selects the same rows whatever the crate versions. Within a
//! part the rows keep their original order.
//!
//! Only the stratifying column is read whole; the rows are then copied into their parts one
//! row group of the input at a time, so the step holds about a row group of each part, never
//! the whole table.

use std::collections::BTreeMap;

use polars::prelude::*;
use rand_chacha::rand_core::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

use super::table;
use super::{StepContext, StepError, StepResult};

/// The parts, in the order of their fractions.
const PARTS: [&str; 3] = ["train", "valid", "test"];

#[derive(Debug, Deserialize)]
struct Params {
    train: f64,
    #[serde(default)]
    valid: f64,
    #[serde(default)]
    test: f64,
    #[serde(default)]
    stratify: Option<String>,
    #[serde(default)]
    seed: u64,
}

/// Runs `split`.
pub fn run(ctx: &StepContext) -> Result<StepResult, StepError> {
    let object =
        serde_json::Value::Object(ctx.params.iter().map(|(key, value)| (key.clone(), value.clone())).collect());
    let params: Params = serde_json::from_value(object).map_err(|error| {
        StepError::Internal(format!("the params of step `{}` have an unexpected shape: {error}", ctx.step_id))
    })?;
    let name = ctx.step_id.split_once('.').map_or(ctx.step_id, |(_, name)| name);
    let fractions = [params.train, params.valid, params.test];
    let total: f64 = fractions.iter().sum();
    if fractions.iter().any(|fraction| !(0.0..=1.0).contains(fraction)) || (total - 1.0).abs() > 1e-6 {
        return Err(StepError::data(format!(
            "the fractions of split `{name}` must lie between 0 and 1 and add up to 1, found train={} valid={} test={} (sum {total})",
            params.train, params.valid, params.test
        )));
    }
    let input = ctx.input("data")?;
    let height = table::parquet_row_count(input)?;
    // Which rows go where needs only the stratifying column; the rows themselves are then
    // copied a row group at a time.
    let classes = match &params.stratify {
        Some(column) => {
            // A missing column is reported by `classes`.
            let values = if table::parquet_column_names(input)?.contains(column) {
                table::normalize_categories(table::read_parquet_columns(input, std::slice::from_ref(column))?)?
            } else {
                DataFrame::empty()
            };
            classes(&values, column, name)?
        }
        None => vec![(0..height).collect()],
    };
    let mut rng = ChaCha8Rng::seed_from_u64(params.seed);
    // Each row's part, then each part's rows in order: a pass instead of sorting the parts.
    let mut part_of = vec![0u8; height];
    let mut sizes = [0usize; PARTS.len()];
    for mut rows in classes {
        shuffle(&mut rows, &mut rng);
        let class_sizes = self::sizes(rows.len(), fractions);
        let mut start = 0;
        for (part, size) in class_sizes.into_iter().enumerate() {
            rows[start..start + size].iter().for_each(|&row| part_of[row] = part as u8);
            sizes[part] += size;
            start += size;
        }
    }
    let mut parts: [Vec<IdxSize>; 3] = std::array::from_fn(|part| Vec::with_capacity(sizes[part]));
    for (row, &part) in part_of.iter().enumerate() {
        parts[part as usize].push(row as IdxSize);
    }
    drop(part_of);
    for ((part, size), fraction) in PARTS.iter().zip(&sizes).zip(fractions) {
        if fraction > 0.0 && *size == 0 {
            return Err(empty_part(name, part, height, &sizes, fractions, params.stratify.as_deref()));
        }
    }
    let mut sinks: Vec<(usize, table::ParquetSink)> = Vec::new();
    for (index, part) in PARTS.into_iter().enumerate() {
        let Some(path) = ctx.outputs.get(part) else { continue };
        let schema = table::parquet_schema(input)?;
        sinks.push((index, table::ParquetSink::create(path, &schema)?));
    }
    for (offset, length) in table::row_groups(input)? {
        ctx.check_cancelled()?;
        let group = table::normalize_categories(table::read_parquet_slice(input, offset, length)?)?;
        for (index, sink) in &mut sinks {
            let rows = &parts[*index];
            let (first, last) = (offset as IdxSize, (offset + length) as IdxSize);
            let range = rows.partition_point(|&row| row < first)..rows.partition_point(|&row| row < last);
            let indices = IdxCa::from_vec("rows".into(), rows[range].iter().map(|&row| row - first).collect());
            let taken = group
                .take(&indices)
                .map_err(|error| StepError::polars(format!("cannot take the `{}` rows", PARTS[*index]), error))?;
            sink.push(&taken)?;
        }
    }
    let mut notes = Vec::new();
    let mut hashes = BTreeMap::new();
    for (index, sink) in sinks {
        hashes.insert(PARTS[index].to_string(), sink.finish()?);
        notes.push(format!("{}: {} rows", PARTS[index], sizes[index]));
    }
    Ok(StepResult { rows: Some(height as u64), notes: vec![notes.join(", ")], hashes, ..StepResult::default() })
}

/// Row indices grouped by the value of `column`, classes in order of first appearance (nulls
/// form a class of their own).
fn classes(data: &DataFrame, column: &str, name: &str) -> Result<Vec<Vec<usize>>, StepError> {
    let values = data.column(column).map_err(|_| {
        StepError::data(format!("split `{name}` stratifies by column `{column}`, which the table does not have"))
    })?;
    let unreadable = |error| StepError::polars(format!("cannot read the classes of column `{column}`"), error);
    // Integer and boolean labels are grouped as numbers, anything else by its text.
    if values.dtype().is_integer() || values.dtype().is_bool() {
        let keys = values.cast(&DataType::Int64).map_err(unreadable)?;
        Ok(group_rows(keys.i64().map_err(unreadable)?.iter()))
    } else {
        let keys = values.cast(&DataType::String).map_err(unreadable)?;
        Ok(group_rows(keys.str().map_err(unreadable)?.iter()))
    }
}

/// Row indices grouped by key, groups in order of their key's first appearance. The first
/// keys are looked up in a list (labels have few classes), more in a hash map.
fn group_rows<K: std::hash::Hash + Eq>(keys: impl Iterator<Item = K>) -> Vec<Vec<usize>> {
    const LISTED: usize = 16;
    let mut listed: Vec<K> = Vec::new();
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for (row, key) in keys.enumerate() {
        let group = match listed.iter().position(|known| *known == key) {
            Some(group) => group,
            None if groups.len() < LISTED => {
                listed.push(key);
                groups.push(Vec::new());
                groups.len() - 1
            }
            None => *index.entry(key).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            }),
        };
        groups[group].push(row);
    }
    groups
}

/// Fisher–Yates with unbiased bounded draws.
fn shuffle(rows: &mut [usize], rng: &mut ChaCha8Rng) {
    for upper in (1..rows.len()).rev() {
        let pick = below(rng, upper as u64 + 1) as usize;
        rows.swap(upper, pick);
    }
}

/// A uniform draw from `0..bound` (bound > 0), by rejection of the biased tail.
fn below(rng: &mut ChaCha8Rng, bound: u64) -> u64 {
    let zone = u64::MAX - (u64::MAX % bound) - 1;
    loop {
        let draw = rng.next_u64();
        if draw <= zone {
            return draw % bound;
        }
    }
}

/// Largest-remainder sizes of `rows` split by `fractions`.
fn sizes(rows: usize, fractions: [f64; 3]) -> [usize; 3] {
    let exact = fractions.map(|fraction| fraction * rows as f64);
    let mut sizes = exact.map(|value| value.floor() as usize);
    let left = rows.saturating_sub(sizes.iter().sum());
    let mut by_remainder: Vec<usize> = (0..3).filter(|&part| fractions[part] > 0.0).collect();
    // Largest remainder first; ties go to the earlier part, so `train` wins a tie.
    by_remainder
        .sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())).then(a.cmp(&b)));
    for &part in by_remainder.iter().cycle().take(left) {
        sizes[part] += 1;
    }
    sizes
}

fn empty_part(
    name: &str,
    part: &str,
    rows: usize,
    sizes: &[usize],
    fractions: [f64; 3],
    stratify: Option<&str>,
) -> StepError {
    let planned: Vec<String> = PARTS
        .iter()
        .zip(sizes)
        .zip(fractions)
        .filter(|(_, fraction)| *fraction > 0.0)
        .map(|((part, size), fraction)| format!("{part} {size} ({fraction} of {rows})"))
        .collect();
    let mut details = vec![format!("the parts would hold: {}", planned.join(", "))];
    if let Some(column) = stratify {
        details.push(format!("sizes are rounded per class of `{column}`; small classes can leave a part empty"));
    }
    details.push("use more rows or a larger fraction for this part".to_string());
    StepError::Data {
        message: format!("part `{part}` of split `{name}` would be empty: the table has {rows} rows"),
        details,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exec::table::testing::{error_text, Harness};
    use crate::exec::table::{read_parquet, write_parquet};

    fn table(rows: i64) -> DataFrame {
        df!(
            "id" => (0..rows).collect::<Vec<_>>(),
            "label" => (0..rows).map(|row| row % 4 == 0).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    fn split(data: &DataFrame, params: serde_json::Value, parts: &[&str]) -> (Harness, Result<StepResult, StepError>) {
        let mut harness = Harness::new();
        let input = harness.path("data.parquet");
        write_parquet(data, &input).unwrap();
        harness.params(params).input("data", &input);
        for part in parts {
            harness.output(part, "parquet");
        }
        let result = harness.run("split", "holdout");
        (harness, result)
    }

    fn ids(harness: &Harness, part: &str) -> Vec<i64> {
        let part = read_parquet(harness.output_path(part)).unwrap();
        part.column("id").unwrap().i64().unwrap().into_no_null_iter().collect()
    }

    #[test]
    fn parts_have_the_right_sizes_cover_every_row_and_keep_order() {
        let params = json!({"train": 0.7, "valid": 0.15, "test": 0.15, "seed": 42});
        let (harness, result) = split(&table(100), params, &["train", "valid", "test"]);
        let result = result.unwrap();
        assert_eq!(result.rows, Some(100));
        assert_eq!(result.notes, ["train: 70 rows, valid: 15 rows, test: 15 rows"]);
        let (train, valid, test) = (ids(&harness, "train"), ids(&harness, "valid"), ids(&harness, "test"));
        assert!(train.windows(2).all(|pair| pair[0] < pair[1]));
        let mut all: Vec<i64> = train.iter().chain(&valid).chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes_and_another_seed_other_rows() {
        let params = json!({"train": 0.8, "valid": 0.0, "test": 0.2, "seed": 7});
        let (first, _) = split(&table(50), params.clone(), &["train", "test"]);
        let (second, _) = split(&table(50), params, &["train", "test"]);
        for part in ["train", "test"] {
            assert_eq!(
                std::fs::read(first.output_path(part)).unwrap(),
                std::fs::read(second.output_path(part)).unwrap()
            );
        }
        let (other, _) =
            split(&table(50), json!({"train": 0.8, "valid": 0.0, "test": 0.2, "seed": 8}), &["train", "test"]);
        assert_ne!(ids(&first, "test"), ids(&other, "test"));
    }

    #[test]
    fn stratification_keeps_the_class_balance() {
        let params = json!({"train": 0.5, "valid": 0.0, "test": 0.5, "stratify": "label", "seed": 1});
        let (harness, result) = split(&table(40), params, &["train", "test"]);
        result.unwrap();
        for part in ["train", "test"] {
            let ids = ids(&harness, part);
            assert_eq!(ids.len(), 20);
            assert_eq!(ids.iter().filter(|id| *id % 4 == 0).count(), 5, "{part}");
        }
    }

    #[test]
    fn classes_are_grouped_alike_whatever_the_label_type() {
        // Numbers are grouped as numbers and text as text, in order of first appearance, nulls
        // a class of their own: the same rows go to the same parts either way.
        let numbers = df!("label" => [Some(3i64), None, Some(1), Some(3), None, Some(1), Some(2)]).unwrap();
        let text = df!("label" => [Some("3"), None, Some("1"), Some("3"), None, Some("1"), Some("2")]).unwrap();
        let expected = vec![vec![0, 3], vec![1, 4], vec![2, 5], vec![6]];
        assert_eq!(classes(&numbers, "label", "s").unwrap(), expected);
        assert_eq!(classes(&text, "label", "s").unwrap(), expected);
        let flags = df!("label" => [true, false, true]).unwrap();
        assert_eq!(classes(&flags, "label", "s").unwrap(), vec![vec![0, 2], vec![1]]);
    }

    #[test]
    fn many_classes_keep_the_order_of_first_appearance() {
        // Past the first sixteen classes keys are looked up in a hash map: the grouping and
        // its order are the same.
        let keys: Vec<i64> = (0..200).map(|row| (row * 7919) % 50).collect();
        let groups = group_rows(keys.iter().copied());
        assert_eq!(groups.len(), 50);
        let firsts: Vec<i64> = groups.iter().map(|rows| keys[rows[0]]).collect();
        let mut expected = Vec::new();
        for key in &keys {
            if !expected.contains(key) {
                expected.push(*key);
            }
        }
        assert_eq!(firsts, expected);
        for rows in &groups {
            assert!(rows.windows(2).all(|pair| pair[0] < pair[1]));
            assert!(rows.iter().all(|&row| keys[row] == keys[rows[0]]));
        }
        assert_eq!(groups.iter().map(Vec::len).sum::<usize>(), 200);
    }

    #[test]
    fn a_table_of_several_row_groups_is_split_as_a_small_one_is() {
        // More rows than a row group: the parts are copied a row group at a time.
        let rows = 300_000;
        let params = json!({"train": 0.8, "valid": 0.0, "test": 0.2, "stratify": "label", "seed": 3});
        let (harness, result) = split(&table(rows), params, &["train", "test"]);
        assert_eq!(result.unwrap().notes, ["train: 240000 rows, test: 60000 rows"]);
        let (train, test) = (ids(&harness, "train"), ids(&harness, "test"));
        assert!(train.windows(2).all(|pair| pair[0] < pair[1]) && test.windows(2).all(|pair| pair[0] < pair[1]));
        assert_eq!(test.iter().filter(|id| *id % 4 == 0).count(), 15_000, "stratified");
        let mut all: Vec<i64> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..rows).collect::<Vec<_>>());
        // The rows of each part are the table's own: the label still matches the id.
        let part = read_parquet(harness.output_path("test")).unwrap();
        let labels: Vec<bool> = part.column("label").unwrap().bool().unwrap().iter().flatten().collect();
        assert!(test.iter().zip(labels).all(|(id, label)| (id % 4 == 0) == label));
    }

    #[test]
    fn a_missing_stratifying_column_is_named() {
        let params = json!({"train": 0.5, "valid": 0.0, "test": 0.5, "stratify": "nope", "seed": 1});
        let (_, result) = split(&table(10), params, &["train", "test"]);
        assert_eq!(
            error_text(&result.unwrap_err()),
            "split `holdout` stratifies by column `nope`, which the table does not have"
        );
    }

    #[test]
    fn only_requested_parts_are_written() {
        let params = json!({"train": 0.8, "valid": 0.2, "test": 0.0, "seed": 0});
        let (harness, result) = split(&table(10), params, &["train", "valid"]);
        assert_eq!(result.unwrap().notes, ["train: 8 rows, valid: 2 rows"]);
        assert!(!harness.path("out/test.parquet").exists());
    }

    #[test]
    fn an_empty_part_is_explained() {
        let params = json!({"train": 0.7, "valid": 0.15, "test": 0.15, "seed": 0});
        let (_, result) = split(&table(3), params, &["train", "valid", "test"]);
        assert_eq!(
            error_text(&result.unwrap_err()),
            "part `test` of split `holdout` would be empty: the table has 3 rows\n\
             the parts would hold: train 2 (0.7 of 3), valid 1 (0.15 of 3), test 0 (0.15 of 3)\n\
             use more rows or a larger fraction for this part"
        );
    }

    #[test]
    fn sizes_add_up_by_largest_remainder() {
        assert_eq!(sizes(10, [0.7, 0.15, 0.15]), [7, 2, 1]);
        assert_eq!(sizes(3, [0.7, 0.15, 0.15]), [2, 1, 0]);
        assert_eq!(sizes(7, [0.5, 0.0, 0.5]), [4, 0, 3]);
        assert_eq!(sizes(0, [0.8, 0.0, 0.2]), [0, 0, 0]);
    }

    #[test]
    fn fractions_that_do_not_add_up_are_refused() {
        let (_, result) =
            split(&table(10), json!({"train": 0.7, "valid": 0.0, "test": 0.2, "seed": 0}), &["train", "test"]);
        assert!(result.unwrap_err().to_string().contains("add up to 1"));
    }
}
