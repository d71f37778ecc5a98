//! The order in which `train` hands a table's feature columns to XGBoost, so that building the
//! quantile matrix keeps every core busy, and the trained model's splits renumbered back to the
//! table's order.
//!
//! XGBoost sketches the columns of a matrix on its threads in contiguous ranges of about equal
//! numbers of values (`LoadBalance` in its `src/common/quantile.h`). What a column's sketch
//! costs grows with its number of distinct values, so a table whose measured columns come first
//! and its 0/1 one-hot columns last leaves one thread nearly all the work: at 1M rows × 39
//! features that was 0.7 s on one core of two. Training hands XGBoost the columns dealt out by
//! an estimate of that cost, each range getting a like share, and renumbers the features of the
//! trained trees' splits afterwards: the saved model names features in the table's order, as it
//! would have without the reordering. The trees are the same, because the bins of a column and
//! the gain of a split on it do not depend on where the column stands; what the order decides
//! is an exact tie between two features' best gains (XGBoost keeps the lower-numbered), which
//! is why a model may in rare cases differ in such a split.
//!
//! Column sampling (`colsample_bytree` below 1) draws features by their numbers, so the order
//! is left alone then.

use serde_json::Value as Json;

use super::data::FeatureMatrix;
use crate::exec::StepError;

/// Rows of a column sampled, evenly spaced, to estimate its number of distinct values.
const SAMPLED_ROWS: usize = 2048;

/// A feature order: `positions[i]` is the table's index of the feature XGBoost sees at `i`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnOrder {
    positions: Vec<usize>,
}

impl ColumnOrder {
    /// The order that balances sketching `matrix` on `threads` threads, or `None` when the
    /// table's own order is as good (one thread, or the costs already alternate).
    pub fn for_sketch(matrix: &FeatureMatrix, threads: usize) -> Option<ColumnOrder> {
        let features = matrix.columns.len();
        if threads < 2 || features <= threads {
            return None;
        }
        let costs: Vec<usize> = matrix.columns.iter().map(|column| distinct_in_sample(column)).collect();
        // Dearest first (the table's order among equals), dealt to the threads' ranges back and
        // forth, so that each range gets a like share of dear and cheap columns.
        let mut by_cost: Vec<usize> = (0..features).collect();
        by_cost.sort_by(|&a, &b| costs[b].cmp(&costs[a]).then(a.cmp(&b)));
        let mut ranges: Vec<Vec<usize>> = vec![Vec::new(); threads];
        for (dealt, &feature) in by_cost.iter().enumerate() {
            let (round, seat) = (dealt / threads, dealt % threads);
            let range = if round % 2 == 0 { seat } else { threads - 1 - seat };
            ranges[range].push(feature);
        }
        let sizes: Vec<usize> = ranges.iter().map(Vec::len).collect();
        let positions: Vec<usize> = ranges
            .into_iter()
            .flat_map(|mut range| {
                range.sort_unstable();
                range
            })
            .collect();
        // Worth it only when it shortens the dearest range by a tenth or more.
        let dealt = dearest_range(&positions, &sizes, &costs);
        let table = dearest_range(&(0..features).collect::<Vec<_>>(), &sizes, &costs);
        (dealt * 10 < table * 9).then_some(ColumnOrder { positions })
    }

    /// Puts the columns of `matrix` (in the table's order) in this order.
    pub fn apply(&self, matrix: &mut FeatureMatrix) {
        let mut columns: Vec<Option<Vec<f32>>> = std::mem::take(&mut matrix.columns).into_iter().map(Some).collect();
        matrix.columns = self.positions.iter().map(|&feature| columns[feature].take().unwrap_or_default()).collect();
    }

    /// The XGBoost JSON model `model`, trained on columns in this order, with every split's
    /// feature renumbered to the table's order. Only the numbers of split nodes change, in place:
    /// every other byte of the document is XGBoost's.
    pub fn restore_model(&self, model: &str) -> Result<String, StepError> {
        let unexpected = |what: &str| StepError::Internal(format!("XGBoost's JSON model {what}"));
        let document: Json =
            serde_json::from_str(model).map_err(|error| unexpected(&format!("is not JSON: {error}")))?;
        let Some(trees) = document.pointer("/learner/gradient_booster/model/trees").and_then(Json::as_array) else {
            // A linear booster has no splits, and this order is only taken for trees.
            return Err(unexpected("has no trees"));
        };
        const KEY: &str = "\"split_indices\":[";
        let mut restored = String::with_capacity(model.len());
        let mut rest = model;
        for (number, tree) in trees.iter().enumerate() {
            let leaves: Vec<bool> = tree["left_children"]
                .as_array()
                .ok_or_else(|| unexpected(&format!("has a tree {number} without `left_children`")))?
                .iter()
                .map(|child| child.as_i64() == Some(-1))
                .collect();
            let start =
                rest.find(KEY).ok_or_else(|| unexpected(&format!("has no `split_indices` for tree {number}")))?
                    + KEY.len();
            let end = start
                + rest[start..]
                    .find(']')
                    .ok_or_else(|| unexpected(&format!("has unclosed `split_indices` in tree {number}")))?;
            restored.push_str(&rest[..start]);
            let indices = &rest[start..end];
            let count = if indices.is_empty() { 0 } else { indices.split(',').count() };
            if count != leaves.len() {
                return Err(unexpected(&format!(
                    "has {count} split features for {} nodes in tree {number}",
                    leaves.len()
                )));
            }
            for (node, (index, leaf)) in indices.split(',').filter(|_| count > 0).zip(&leaves).enumerate() {
                if node > 0 {
                    restored.push(',');
                }
                if *leaf {
                    restored.push_str(index);
                    continue;
                }
                let position: usize =
                    index.parse().map_err(|_| unexpected(&format!("has split feature `{index}` in tree {number}")))?;
                let feature = self
                    .positions
                    .get(position)
                    .ok_or_else(|| unexpected(&format!("splits on feature {position} of {}", self.positions.len())))?;
                restored.push_str(&feature.to_string());
            }
            rest = &rest[end..];
        }
        if rest.contains(KEY) {
            return Err(unexpected("has more `split_indices` than trees"));
        }
        restored.push_str(rest);
        Ok(restored)
    }
}

/// The largest summed cost of the contiguous ranges of `sizes` columns of `positions`.
fn dearest_range(positions: &[usize], sizes: &[usize], costs: &[usize]) -> usize {
    let mut start = 0;
    sizes
        .iter()
        .map(|&size| {
            let range = &positions[start..start + size];
            start += size;
            range.iter().map(|&feature| costs[feature]).sum::<usize>()
        })
        .max()
        .unwrap_or(0)
}

/// Distinct values among up to [`SAMPLED_ROWS`] evenly spaced values of `column` (NaNs as one).
fn distinct_in_sample(column: &[f32]) -> usize {
    let step = column.len().div_ceil(SAMPLED_ROWS).max(1);
    let mut sample: Vec<u32> = column.iter().step_by(step).map(|value| value.to_bits()).collect();
    sample.sort_unstable();
    sample.dedup();
    sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matrix(columns: Vec<Vec<f32>>) -> FeatureMatrix {
        FeatureMatrix { rows: columns[0].len(), columns }
    }

    #[test]
    fn dear_columns_are_shared_between_the_ranges() {
        let continuous: Vec<f32> = (0..4000).map(|row| row as f32 * 0.5).collect();
        let binary: Vec<f32> = (0..4000).map(|row| (row % 2) as f32).collect();
        // Four measured columns first, four 0/1 columns last: the table's order gives one
        // thread every measured column.
        let columns = vec![
            continuous.clone(),
            continuous.clone(),
            continuous.clone(),
            continuous.clone(),
            binary.clone(),
            binary.clone(),
            binary.clone(),
            binary,
        ];
        let order = ColumnOrder::for_sketch(&matrix(columns), 2).expect("a better order");
        let (first, second) = order.positions.split_at(4);
        assert_eq!(first.iter().filter(|&&feature| feature < 4).count(), 2, "{:?}", order.positions);
        assert_eq!(second.iter().filter(|&&feature| feature < 4).count(), 2, "{:?}", order.positions);
        let mut every = order.positions.clone();
        every.sort_unstable();
        assert_eq!(every, (0..8).collect::<Vec<_>>());
    }

    #[test]
    fn one_thread_or_balanced_columns_keep_the_table_order() {
        let columns = vec![vec![0.0, 1.0], vec![2.0, 3.0], vec![4.0, 5.0]];
        assert_eq!(ColumnOrder::for_sketch(&matrix(columns.clone()), 1), None);
        let alike = vec![vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0], vec![1.0, 2.0, 3.0]];
        assert_eq!(ColumnOrder::for_sketch(&matrix(alike), 2), None);
    }

    #[test]
    fn applying_moves_columns_and_restoring_renumbers_only_splits() {
        let order = ColumnOrder { positions: vec![2, 0, 1] };
        let mut features = matrix(vec![vec![0.0], vec![1.0], vec![2.0]]);
        order.apply(&mut features);
        assert_eq!(features.columns, vec![vec![2.0], vec![0.0], vec![1.0]]);
        // Two trees: node 0 splits on XGBoost's feature 0 (the table's 2), its children are
        // leaves (their 0s stay); the second tree splits on 1 then 2 (the table's 0 and 1).
        let model = concat!(
            r#"{"learner":{"gradient_booster":{"model":{"trees":["#,
            r#"{"left_children":[1,-1,-1],"split_indices":[0,0,0],"split_conditions":[0.5,1E-1,2]},"#,
            r#"{"left_children":[1,3,-1,-1,-1],"split_indices":[1,2,0,0,0],"split_conditions":[1.5,2.5,0,0,0]}"#,
            r#"]}}}}"#
        );
        let restored = order.restore_model(model).expect("restored");
        let expected = model
            .replace(r#""split_indices":[0,0,0]"#, r#""split_indices":[2,0,0]"#)
            .replace(r#""split_indices":[1,2,0,0,0]"#, r#""split_indices":[0,1,0,0,0]"#);
        assert_eq!(restored, expected);
    }

    #[test]
    fn a_model_that_does_not_match_the_order_is_an_error() {
        let order = ColumnOrder { positions: vec![1, 0] };
        let too_far = r#"{"learner":{"gradient_booster":{"model":{"trees":[{"left_children":[1,-1,-1],"split_indices":[5,0,0]}]}}}}"#;
        assert!(order.restore_model(too_far).is_err());
        let short = r#"{"learner":{"gradient_booster":{"model":{"trees":[{"left_children":[1,-1,-1],"split_indices":[1,0]}]}}}}"#;
        assert!(order.restore_model(short).is_err());
        assert!(order.restore_model(r#"{"learner":{}}"#).is_err());
    }
}
