//! A model's trees laid out for prediction: XGBoost's `gbtree` ensembles with numeric splits
//! and one value a leaf, each tree stored as a complete binary tree, so that a block of rows
//! walks a tree level by level, every row one step a level, with no per-row branches on the
//! tree's shape.
//!
//! The predictions are XGBoost's, bit for bit: a split sends a value below its threshold left
//! and a missing value (NaN) its default way; each row's margin starts at the model's base
//! margin and adds the trees' leaf values in `f32`, in the model's tree order; the sigmoid and
//! softmax are XGBoost's own (`common::Sigmoid`, `common::Softmax`). A leaf above the tree's
//! full depth is stored as a split whose two sides lead to copies of that leaf.
//!
//! Anything else — a `dart` booster, categorical splits, leaves with several values, trees
//! deeper than [`MAX_DEPTH`], an objective whose transform is not written here, a threshold
//! whose JSON text lies too close to the middle of two `f32`s to be sure of its reading —
//! makes [`Forest::from_model`] return `None`, and XGBoost predicts.

use rayon::prelude::*;
use serde_json::Value as Json;

/// The deepest tree laid out (4,095 splits and 4,096 leaves).
const MAX_DEPTH: usize = 12;
/// Rows that walk the trees together.
const BLOCK: usize = 128;
/// Rows a task of the thread pool predicts.
const TASK_ROWS: usize = 16 * BLOCK;

/// What turns margins into predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    /// The margin is the prediction (`reg:squarederror`, `binary:logitraw`).
    Identity,
    /// XGBoost's `common::Sigmoid` (`binary:logistic`, `reg:logistic`).
    Sigmoid,
    /// XGBoost's `common::Softmax` over a row's classes (`multi:softprob`).
    Softmax,
    /// The first class of largest margin, as a number (`multi:softmax`).
    ArgMax,
}

impl Link {
    fn of(objective: &str) -> Option<Link> {
        Some(match objective {
            "reg:squarederror" | "binary:logitraw" => Link::Identity,
            "binary:logistic" | "reg:logistic" => Link::Sigmoid,
            "multi:softprob" => Link::Softmax,
            "multi:softmax" => Link::ArgMax,
            _ => return None,
        })
    }

    /// The margin a model starts from, from its `base_score` (XGBoost's `ProbToMargin`).
    fn base_margin(self, base_score: f32) -> f32 {
        match self {
            Link::Sigmoid => {
                // `LogisticRegression::ProbToMargin`: bounded by `kRtEps`, then `common::Logit`.
                const RT_EPS: f32 = 1e-6;
                let bounded = base_score.clamp(RT_EPS, 1.0 - RT_EPS);
                -(1.0f32 / bounded - 1.0).ln()
            }
            Link::Identity | Link::Softmax | Link::ArgMax => base_score,
        }
    }
}

/// A split of the complete layout.
#[derive(Debug, Clone, Copy)]
struct Split {
    threshold: f32,
    /// Where its feature's values start in a block: the feature's index × [`BLOCK`].
    offset: u32,
    default_left: bool,
}

/// A tree: `2^depth − 1` splits from `splits` on and `2^depth` leaves from `leaves` on.
#[derive(Debug)]
struct Tree {
    depth: usize,
    group: usize,
    splits: usize,
    leaves: usize,
}

/// A model's trees, laid out for prediction.
#[derive(Debug)]
pub(crate) struct Forest {
    trees: Vec<Tree>,
    splits: Vec<Split>,
    leaves: Vec<f32>,
    /// The base margin of each output group.
    base: Vec<f32>,
    features: usize,
    link: Link,
}

impl Forest {
    /// The trees of `model` (XGBoost's JSON model document) predicting for `objective`, or
    /// `None` when the model holds something this layout does not cover.
    pub(crate) fn from_model(model: &Json, objective: &str) -> Option<Forest> {
        let link = Link::of(objective)?;
        let learner = &model["learner"];
        if learner["objective"]["name"].as_str() != Some(objective) {
            return None;
        }
        let booster = &learner["gradient_booster"];
        if booster["name"].as_str() != Some("gbtree") {
            return None;
        }
        let param = &learner["learner_model_param"];
        let count = |name: &str| param[name].as_str()?.parse::<usize>().ok();
        let features = count("num_feature")?;
        // One output a class for the multiclass objectives, one for the others.
        let groups = match (count("num_class")?, count("num_target").unwrap_or(1), link) {
            (classes, 1, Link::Softmax | Link::ArgMax) if classes > 0 => classes,
            (0, 1, Link::Identity | Link::Sigmoid) => 1,
            _ => return None,
        };
        let base_scores = base_scores(param["base_score"].as_str()?)?;
        let base: Vec<f32> = match base_scores.as_slice() {
            [one] => vec![link.base_margin(*one); groups],
            many if many.len() == groups => many.iter().map(|&score| link.base_margin(score)).collect(),
            _ => return None,
        };
        let model = &booster["model"];
        let trees = model["trees"].as_array()?;
        let info = model["tree_info"].as_array()?;
        if info.len() != trees.len() {
            return None;
        }
        let mut forest = Forest { trees: Vec::new(), splits: Vec::new(), leaves: Vec::new(), base, features, link };
        for (tree, group) in trees.iter().zip(info) {
            let group = usize::try_from(group.as_u64()?).ok().filter(|&group| group < groups)?;
            forest.add(&Nodes::read(tree, features)?, group)?;
        }
        Some(forest)
    }

    /// Lays out one tree.
    fn add(&mut self, nodes: &Nodes, group: usize) -> Option<()> {
        let depth = nodes.depth(0, 0)?;
        let tree = Tree { depth, group, splits: self.splits.len(), leaves: self.leaves.len() };
        self.splits.resize(tree.splits + (1 << depth) - 1, Split { threshold: 0.0, offset: 0, default_left: true });
        self.leaves.resize(tree.leaves + (1 << depth), 0.0);
        self.place(nodes, &tree, 0, 0, 0);
        self.trees.push(tree);
        Some(())
    }

    /// Places node `node` of `nodes` at `position` (level `level`) of `tree`'s layout.
    fn place(&mut self, nodes: &Nodes, tree: &Tree, node: usize, position: usize, level: usize) {
        if level == tree.depth {
            self.leaves[tree.leaves + position - ((1 << tree.depth) - 1)] = nodes.value[node];
            return;
        }
        let (left, right) = match nodes.children(node) {
            Some((left, right)) => {
                self.splits[tree.splits + position] = Split {
                    threshold: nodes.value[node],
                    offset: nodes.feature[node] * BLOCK as u32,
                    default_left: nodes.default_left[node],
                };
                (left, right)
            }
            // A leaf above the full depth: both sides lead to it.
            None => (node, node),
        };
        self.place(nodes, tree, left, 2 * position + 1, level + 1);
        self.place(nodes, tree, right, 2 * position + 2, level + 1);
    }

    /// Whether `columns` are one slice a feature of the model, all of one length.
    pub(crate) fn accepts(&self, columns: &[&[f32]]) -> bool {
        columns.len() == self.features && columns.iter().all(|column| column.len() == columns[0].len())
    }

    /// XGBoost's predictions for the rows of `columns` (one slice a feature, NaN missing; see
    /// [`Forest::accepts`]), or their margins: a value a row, or a row's values one a class for
    /// `multi:softprob` and multiclass margins.
    pub(crate) fn predict(&self, columns: &[&[f32]], margin: bool) -> Vec<f32> {
        let rows = columns.first().map_or(0, |column| column.len());
        let groups = self.base.len();
        let mut out = vec![0f32; rows * groups];
        polars_core::runtime::RAYON.install(|| {
            out.par_chunks_mut(TASK_ROWS * groups).enumerate().for_each(|(task, out)| {
                let mut values = vec![0f32; BLOCK * self.features];
                for (block, out) in out.chunks_mut(BLOCK * groups).enumerate() {
                    let first = task * TASK_ROWS + block * BLOCK;
                    self.margins(columns, first, &mut values, out);
                    if !margin {
                        self.transform(out);
                    }
                }
            });
        });
        if !margin && self.link == Link::ArgMax {
            // XGBoost's `multi:softmax` predicts a row's class: the first of largest margin.
            out = out.chunks_exact(groups).map(|margins| first_largest(margins) as f32).collect();
        }
        out
    }

    /// The margins of the rows from `first` on, into `out` (`rows × groups`); `values` holds
    /// the block's features, [`BLOCK`] values a feature.
    fn margins(&self, columns: &[&[f32]], first: usize, values: &mut [f32], out: &mut [f32]) {
        let groups = self.base.len();
        let rows = out.len() / groups;
        let mut missing = false;
        for (column, values) in columns.iter().zip(values.chunks_exact_mut(BLOCK)) {
            let block = &column[first..first + rows];
            values[..rows].copy_from_slice(block);
            missing |= block.iter().any(|value| value.is_nan());
        }
        for row in out.chunks_exact_mut(groups) {
            row.copy_from_slice(&self.base);
        }
        // Blocks without a missing value skip the default-way test.
        if missing {
            self.walk::<true>(values, rows, groups, out);
        } else {
            self.walk::<false>(values, rows, groups, out);
        }
    }

    /// Adds every tree's leaf value for each of the block's `rows` rows to `out`.
    fn walk<const MISSING: bool>(&self, values: &[f32], rows: usize, groups: usize, out: &mut [f32]) {
        let mut position = [0u32; BLOCK];
        let position = &mut position[..rows];
        for tree in &self.trees {
            let inner = (1usize << tree.depth) - 1;
            let splits = &self.splits[tree.splits..tree.splits + inner];
            let leaves = &self.leaves[tree.leaves..tree.leaves + inner + 1];
            position.fill(0);
            // A level at a time for the whole block: the rows' walks are independent, so the
            // processor overlaps them.
            for _ in 0..tree.depth {
                for (row, at) in position.iter_mut().enumerate() {
                    let split = splits[*at as usize];
                    let value = values[split.offset as usize + row];
                    let left = if MISSING {
                        // Below the threshold goes left; NaN, never below, goes the default way.
                        (value < split.threshold) | (split.default_left & value.is_nan())
                    } else {
                        value < split.threshold
                    };
                    *at = 2 * *at + 2 - u32::from(left);
                }
            }
            for (row, at) in position.iter().enumerate() {
                out[row * groups + tree.group] += leaves[*at as usize - inner];
            }
        }
    }

    /// Turns a block's margins into predictions in place.
    fn transform(&self, out: &mut [f32]) {
        match self.link {
            Link::Identity | Link::ArgMax => {}
            Link::Sigmoid => out.iter_mut().for_each(|value| *value = sigmoid(*value)),
            Link::Softmax => out.chunks_exact_mut(self.base.len()).for_each(softmax),
        }
    }
}

/// The tree arrays of XGBoost's JSON model that prediction reads.
struct Nodes {
    left: Vec<i64>,
    right: Vec<i64>,
    feature: Vec<u32>,
    /// A split's threshold, or a leaf's value.
    value: Vec<f32>,
    default_left: Vec<bool>,
}

impl Nodes {
    fn read(tree: &Json, features: usize) -> Option<Nodes> {
        let param = &tree["tree_param"];
        if !matches!(param["size_leaf_vector"].as_str(), Some("0" | "1") | None) {
            return None;
        }
        let integers = |name: &str| tree[name].as_array()?.iter().map(Json::as_i64).collect::<Option<Vec<i64>>>();
        let left = integers("left_children")?;
        let right = integers("right_children")?;
        let size = left.len();
        let feature = integers("split_indices")?
            .into_iter()
            .map(|index| {
                u32::try_from(index).ok().filter(|&index| (index as usize) < features.min(u32::MAX as usize / BLOCK))
            })
            .collect::<Option<Vec<u32>>>()?;
        let value = tree["split_conditions"]
            .as_array()?
            .iter()
            .map(|value| exact_f32(value.as_f64()?))
            .collect::<Option<Vec<f32>>>()?;
        let default_left = integers("default_left")?.into_iter().map(|flag| flag != 0).collect::<Vec<bool>>();
        let numeric = match tree.get("split_type") {
            None => true,
            Some(types) => types.as_array()?.iter().all(|kind| kind.as_i64() == Some(0)),
        };
        let lengths = [right.len(), feature.len(), value.len(), default_left.len()];
        if !numeric || size == 0 || lengths.iter().any(|&length| length != size) {
            return None;
        }
        Some(Nodes { left, right, feature, value, default_left })
    }

    /// A split's children; `None` for a leaf.
    fn children(&self, node: usize) -> Option<(usize, usize)> {
        let (left, right) = (self.left[node], self.right[node]);
        (left >= 0).then_some((left as usize, right as usize))
    }

    /// The depth of the tree below `node` (at `level`), checking that every child exists;
    /// `None` past [`MAX_DEPTH`], which also ends a cycle.
    fn depth(&self, node: usize, level: usize) -> Option<usize> {
        if level > MAX_DEPTH {
            return None;
        }
        match self.children(node) {
            None => Some(level),
            Some((left, right)) if left < self.left.len() && right < self.left.len() => {
                Some(self.depth(left, level + 1)?.max(self.depth(right, level + 1)?))
            }
            Some(_) => None,
        }
    }
}

/// The numbers of a `base_score` as XGBoost writes it: `"[0.5]"`, `"[0.2,0.3,0.5]"` or `"0.5"`.
fn base_scores(text: &str) -> Option<Vec<f32>> {
    let inner = text.trim().trim_start_matches(['[', '(']).trim_end_matches([']', ')']);
    inner.split(',').map(|number| number.trim().parse::<f32>().ok().filter(|value| value.is_finite())).collect()
}

/// The `f32` a number of the model's JSON stands for. XGBoost reads the text straight to `f32`;
/// it comes here through the `f64` serde_json read, which can round differently only when the
/// text lies next to the middle of two `f32`s: then `None`.
fn exact_f32(value: f64) -> Option<f32> {
    let single = value as f32;
    if !single.is_finite() {
        return None;
    }
    let as_double = f64::from(single);
    let halfway = |neighbour: f32| (as_double + f64::from(neighbour)) / 2.0;
    let nearest_middle = (value - halfway(single.next_down())).abs().min((halfway(single.next_up()) - value).abs());
    // serde_json's reading is within a couple of `f64` steps of the text's value.
    (nearest_middle > value.abs() * 16.0 * f64::EPSILON).then_some(single)
}

/// The index of the first largest of `values` (`std::max_element`).
fn first_largest(values: &[f32]) -> usize {
    (1..values.len()).fold(0, |best, index| if values[best] < values[index] { index } else { best })
}

/// XGBoost's `common::Sigmoid` for `float`.
fn sigmoid(margin: f32) -> f32 {
    const EPS: f32 = 1e-16;
    // `std::min(-x, 88.7f)`, which keeps a NaN.
    let x = if 88.7 < -margin { 88.7 } else { -margin };
    let denominator = x.exp() + 1.0 + EPS;
    1.0 / denominator
}

/// XGBoost's `common::Softmax`: `f32` exponentials summed in `f64`.
fn softmax(margins: &mut [f32]) {
    let largest = margins[1..].iter().fold(margins[0], |largest, &margin| margin.max(largest));
    let mut total = 0.0f64;
    for margin in margins.iter_mut() {
        *margin = (*margin - largest).exp();
        total += f64::from(*margin);
    }
    for margin in margins.iter_mut() {
        *margin /= total as f32;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::exec::table::testing::error_text;
    use crate::exec::train::booster::load_model;
    use crate::exec::train::data::FeatureMatrix;
    use crate::exec::train::tests::{table, train_harness, Kind};

    /// A model trained on a generated table of `kind` with the `xgboost` options, as JSON bytes.
    fn trained(kind: Kind, xgboost: serde_json::Value) -> Vec<u8> {
        let harness = train_harness(kind, 1500, false, xgboost);
        harness.run("train", "m").unwrap_or_else(|error| panic!("{}", error_text(&error)));
        std::fs::read(harness.output_path("model")).unwrap()
    }

    /// Feature columns of a fresh table of `kind`: NaN in every tenth `x1` of the first half
    /// besides the nulls of `x4`, and none at all in the last 256 rows (blocks without a
    /// missing value take their own path).
    fn columns(kind: Kind) -> Vec<Vec<f32>> {
        let scored = table(kind, 2000, 9);
        let features: Vec<String> = ["x1", "x2", "x3", "x4"].map(String::from).to_vec();
        let matrix = FeatureMatrix::from_table(&scored, &features, "t").unwrap();
        let mut columns: Vec<Vec<f32>> = matrix.slices().unwrap().into_iter().map(<[f32]>::to_vec).collect();
        let rows = columns[0].len();
        for row in (0..rows / 2).step_by(10) {
            columns[0][row] = f32::NAN;
        }
        for column in &mut columns {
            column[rows - 256..].iter_mut().filter(|value| value.is_nan()).for_each(|value| *value = 1.0);
        }
        columns
    }

    /// Asserts that the forest of `model` predicts XGBoost's values and margins, bit for bit.
    fn assert_same_as_xgboost(kind: Kind, model: &[u8], objective: &str) {
        let json: Json = serde_json::from_slice(model).unwrap();
        let forest = Forest::from_model(&json, objective).unwrap_or_else(|| panic!("{objective} is laid out"));
        let booster = load_model(model).unwrap();
        let columns = columns(kind);
        let slices: Vec<&[f32]> = columns.iter().map(Vec::as_slice).collect();
        assert!(forest.accepts(&slices));
        for margin in [false, true] {
            let expected = booster.predict_columns(&slices, margin).unwrap();
            let predicted = forest.predict(&slices, margin);
            assert_eq!(predicted.len(), expected.len(), "{objective}, margin {margin}");
            let differing = expected.iter().zip(&predicted).filter(|(a, b)| a.to_bits() != b.to_bits()).count();
            assert_eq!(
                differing,
                0,
                "{objective}, margin {margin}: {differing} of {} predictions differ",
                expected.len()
            );
        }
    }

    #[test]
    fn every_laid_out_objective_predicts_what_xgboost_predicts() {
        let cases = [
            (Kind::Binary, "binary:logistic"),
            (Kind::Binary, "binary:logitraw"),
            (Kind::Binary, "reg:logistic"),
            (Kind::Regression, "reg:squarederror"),
            (Kind::Multiclass, "multi:softprob"),
            (Kind::Multiclass, "multi:softmax"),
        ];
        for (kind, objective) in cases {
            let model = trained(kind, json!({"objective": objective, "rounds": 25, "max_depth": 5}));
            assert_same_as_xgboost(kind, &model, objective);
        }
    }

    #[test]
    fn shallow_deep_and_uneven_trees_predict_what_xgboost_predicts() {
        for options in [
            json!({"max_depth": 1, "rounds": 10}),
            json!({"max_depth": 8, "rounds": 20, "min_child_weight": 0}),
            json!({"max_depth": MAX_DEPTH, "rounds": 10, "min_child_weight": 0, "lambda": 0}),
        ] {
            let model = trained(Kind::Binary, options);
            assert_same_as_xgboost(Kind::Binary, &model, "binary:logistic");
        }
        // Trees of unbounded depth grow past the layout's and are XGBoost's to predict.
        let model = trained(Kind::Binary, json!({"max_depth": 0, "min_child_weight": 0, "lambda": 0}));
        let json: Json = serde_json::from_slice(&model).unwrap();
        assert!(Forest::from_model(&json, "binary:logistic").is_none());
    }

    #[test]
    fn models_the_layout_does_not_cover_are_left_to_xgboost() {
        let model = trained(Kind::Binary, json!({"rounds": 3, "max_depth": 3}));
        let json: Json = serde_json::from_slice(&model).unwrap();
        assert!(Forest::from_model(&json, "binary:logistic").is_some());
        // An objective whose transform is not written here, or not the model's own.
        assert!(Forest::from_model(&json, "reg:gamma").is_none());
        assert!(Forest::from_model(&json, "reg:squarederror").is_none());
        let edited = |edit: &dyn Fn(&mut Json)| {
            let mut json = json.clone();
            edit(&mut json);
            Forest::from_model(&json, "binary:logistic")
        };
        fn tree(json: &mut Json) -> &mut Json {
            &mut json["learner"]["gradient_booster"]["model"]["trees"][0]
        }
        assert!(edited(&|json| json["learner"]["gradient_booster"]["name"] = json!("dart")).is_none());
        assert!(edited(&|json| tree(json)["split_type"][0] = json!(1)).is_none(), "a categorical split");
        assert!(edited(&|json| tree(json)["tree_param"]["size_leaf_vector"] = json!("2")).is_none());
        assert!(edited(&|json| tree(json)["split_indices"][0] = json!(4)).is_none(), "a feature out of range");
        assert!(edited(&|json| tree(json)["left_children"][0] = json!(0)).is_none(), "a cycle");
        assert!(edited(&|json| tree(json)["left_children"][0] = json!(999)).is_none(), "a child out of range");
        assert!(edited(&|json| json["learner"]["learner_model_param"]["base_score"] = json!("[nan]")).is_none());
        // A model that does not fit the columns is XGBoost's to report.
        let forest = Forest::from_model(&json, "binary:logistic").unwrap();
        let three = [[0.0f32; 4]; 3];
        assert!(!forest.accepts(&three.iter().map(|column| column.as_slice()).collect::<Vec<_>>()));
    }

    #[test]
    fn thresholds_are_read_as_xgboost_reads_their_text() {
        for text in ["0.1", "6.6977", "14.0", "-3.1340733e-08", "1e-45", "3.4028235e38"] {
            let exact: f32 = text.parse().unwrap();
            let read: f64 = serde_json::from_str(text).unwrap();
            assert_eq!(exact_f32(read), Some(exact), "{text}");
        }
        // Halfway between 1 and the next f32: either reading could be meant.
        assert_eq!(exact_f32(1.0 + f64::from(f32::EPSILON) / 2.0), None);
        assert_eq!(exact_f32(f64::MAX), None);
        assert_eq!(base_scores("[2.06245E-1]"), Some(vec![0.206245]));
        assert_eq!(base_scores("[0.2,3E-1,5E-1]"), Some(vec![0.2, 0.3, 0.5]));
        assert_eq!(base_scores("0.5"), Some(vec![0.5]));
        assert_eq!(base_scores("[a]"), None);
    }
}
