//! The model metrics of the language, computed in Rust from labels and predictions: `auc`,
//! `logloss`, `accuracy`, `precision`, `recall`, `f1` (binary, or macro averages over classes),
//! `rmse`, `mae`, `r2`, and the confusion matrix.
//!
//! XGBoost's own `auc` is not registered in the statically built library, and computing every
//! metric here means `train`, `tune` and `evaluate` agree on one definition. The definitions
//! follow scikit-learn: `auc` is the rank statistic with tied scores sharing their average rank,
//! class predictions use the threshold 0.5 on the positive probability (binary) or the most
//! probable class (multiclass, first one on ties), a precision or recall with an empty
//! denominator is 0, and `logloss` clips probabilities to `[1e-15, 1 - 1e-15]`.

use super::StepError;

/// The probability at or above which a binary prediction is the positive class.
pub const THRESHOLD: f64 = 0.5;

/// Probabilities are clipped this far from 0 and 1 before taking logarithms.
const LOGLOSS_EPSILON: f64 = 1e-15;

/// What a model predicts, which decides the metrics that fit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Two classes, labels 0 and 1.
    Binary,
    /// `k` classes, labels `0..k`.
    Multiclass,
    /// A number.
    Regression,
}

impl Task {
    /// The task named in the plan (`binary`, `multiclass`, `regression`).
    pub fn parse(name: &str) -> Option<Task> {
        match name {
            "binary" => Some(Task::Binary),
            "multiclass" => Some(Task::Multiclass),
            "regression" => Some(Task::Regression),
            _ => None,
        }
    }

    /// Its name in the plan.
    pub fn name(self) -> &'static str {
        match self {
            Task::Binary => "binary",
            Task::Multiclass => "multiclass",
            Task::Regression => "regression",
        }
    }

    /// Every metric of the task, in the order reports list them.
    pub fn metrics(self) -> &'static [&'static str] {
        match self {
            Task::Binary => &["auc", "logloss", "accuracy", "precision", "recall", "f1"],
            Task::Multiclass => &["logloss", "accuracy", "precision", "recall", "f1"],
            Task::Regression => &["rmse", "mae", "r2"],
        }
    }

    /// The metric early stopping watches: `logloss` for classification (XGBoost's default for
    /// these objectives, and defined for every validation set, unlike `auc` with one class),
    /// `rmse` for regression, `mae` for `reg:absoluteerror`.
    pub fn stopping_metric(self, objective: &str) -> &'static str {
        match self {
            Task::Binary | Task::Multiclass => "logloss",
            Task::Regression if objective == "reg:absoluteerror" => "mae",
            Task::Regression => "rmse",
        }
    }
}

/// Whether a metric improves by growing (`auc`, `accuracy`, `precision`, `recall`, `f1`, `r2`)
/// or by shrinking (`logloss`, `rmse`, `mae`).
pub fn higher_is_better(metric: &str) -> bool {
    matches!(metric, "auc" | "accuracy" | "precision" | "recall" | "f1" | "r2")
}

/// A model's predictions for `rows` rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Predictions {
    /// Binary: the probability of class 1 per row. Multiclass: `rows × classes` probabilities,
    /// row by row. Regression: the predicted value per row.
    pub values: Vec<f64>,
    /// Values per row: the number of classes for multiclass, else 1.
    pub width: usize,
}

impl Predictions {
    /// The number of rows predicted.
    pub fn rows(&self) -> usize {
        self.values.len() / self.width.max(1)
    }

    /// The number of classes a classifier's predictions cover.
    pub fn classes(&self, task: Task) -> usize {
        match task {
            Task::Binary => 2,
            Task::Multiclass => self.width,
            Task::Regression => 0,
        }
    }

    /// The predicted class of every row (classification).
    pub fn predicted_classes(&self, task: Task) -> Vec<usize> {
        match task {
            Task::Binary => self.values.iter().map(|&p| usize::from(p >= THRESHOLD)).collect(),
            Task::Multiclass => self.values.chunks(self.width.max(1)).map(argmax).collect(),
            Task::Regression => Vec::new(),
        }
    }
}

/// The index of the largest value, the first one on ties (NaN never wins).
fn argmax(values: &[f64]) -> usize {
    let mut best = 0;
    for (index, &value) in values.iter().enumerate() {
        if value > values[best] || values[best].is_nan() {
            best = index;
        }
    }
    best
}

/// Computes `metric` for `labels` (class indices as numbers for classification, values for
/// regression). A metric that does not fit the task, or that is undefined on this data (`auc`
/// with one class, `r2` with constant labels), is a [`StepError::Data`] saying why.
pub fn compute(metric: &str, task: Task, labels: &[f64], predictions: &Predictions) -> Result<f64, StepError> {
    if labels.len() != predictions.rows() {
        return Err(StepError::Internal(format!(
            "{} labels but {} predictions when computing `{metric}`",
            labels.len(),
            predictions.rows()
        )));
    }
    if labels.is_empty() {
        return Err(StepError::data(format!("`{metric}` is undefined on a table without rows")));
    }
    let classes = |labels: &[f64]| labels.iter().map(|&label| label as usize).collect::<Vec<_>>();
    let value = match (task, metric) {
        (Task::Binary, "auc") => auc(labels, &predictions.values).ok_or_else(|| {
            StepError::data("`auc` is undefined when the label has only one class in the scored rows")
        })?,
        (Task::Binary, "logloss") => binary_logloss(labels, &predictions.values),
        (Task::Multiclass, "logloss") => multiclass_logloss(&classes(labels), &predictions.values, predictions.width),
        (Task::Binary | Task::Multiclass, "accuracy" | "precision" | "recall" | "f1") => {
            let matrix =
                confusion_matrix(&classes(labels), &predictions.predicted_classes(task), predictions.classes(task));
            let scores = ClassScores::new(&matrix);
            match metric {
                "accuracy" => accuracy(&matrix),
                "precision" if task == Task::Binary => scores.precision[1],
                "recall" if task == Task::Binary => scores.recall[1],
                "f1" if task == Task::Binary => scores.f1[1],
                "precision" => mean(&scores.precision),
                "recall" => mean(&scores.recall),
                _ => mean(&scores.f1),
            }
        }
        (Task::Regression, "rmse") => rmse(labels, &predictions.values),
        (Task::Regression, "mae") => mae(labels, &predictions.values),
        (Task::Regression, "r2") => r2(labels, &predictions.values)
            .ok_or_else(|| StepError::data("`r2` is undefined when every label has the same value"))?,
        _ => {
            return Err(StepError::Internal(format!("metric `{metric}` does not fit a {} model", task.name())));
        }
    };
    Ok(value)
}

/// The area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann–Whitney U with average ranks). `None` when the labels
/// hold one class only.
pub fn auc(labels: &[f64], scores: &[f64]) -> Option<f64> {
    let positives = labels.iter().filter(|&&label| label > 0.5).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Scores with their labels, in score order: the order among tied scores does not matter,
    // since they share a rank.
    let mut ranked: Vec<(f64, bool)> = scores.iter().zip(labels).map(|(&score, &label)| (score, label > 0.5)).collect();
    ranked.sort_unstable_by(|a, b| a.0.total_cmp(&b.0));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < ranked.len() {
        let mut end = start + 1;
        while end < ranked.len() && ranked[end].0 == ranked[start].0 {
            end += 1;
        }
        // Ranks start + 1 ..= end share their mean.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = ranked[start..end].iter().filter(|(_, positive)| *positive).count();
        positive_rank_sum += average_rank * tied_positives as f64;
        start = end;
    }
    let positives = positives as f64;
    Some((positive_rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives as f64))
}

/// Mean negative log-likelihood of 0/1 labels under positive-class probabilities.
pub fn binary_logloss(labels: &[f64], probabilities: &[f64]) -> f64 {
    let total: f64 = labels
        .iter()
        .zip(probabilities)
        .map(|(&label, &probability)| {
            let p = probability.clamp(LOGLOSS_EPSILON, 1.0 - LOGLOSS_EPSILON);
            -(label * p.ln() + (1.0 - label) * (1.0 - p).ln())
        })
        .sum();
    total / labels.len() as f64
}

/// Mean negative log-likelihood of class labels under `rows × classes` probabilities.
pub fn multiclass_logloss(labels: &[usize], probabilities: &[f64], classes: usize) -> f64 {
    let total: f64 = labels
        .iter()
        .zip(probabilities.chunks(classes.max(1)))
        .map(|(&label, row)| {
            let p = row.get(label).copied().unwrap_or(0.0);
            -p.clamp(LOGLOSS_EPSILON, 1.0 - LOGLOSS_EPSILON).ln()
        })
        .sum();
    total / labels.len() as f64
}

/// `matrix[actual][predicted]` counts; labels outside `0..classes` are not counted.
pub fn confusion_matrix(actual: &[usize], predicted: &[usize], classes: usize) -> Vec<Vec<u64>> {
    let mut matrix = vec![vec![0u64; classes]; classes];
    for (&truth, &guess) in actual.iter().zip(predicted) {
        if truth < classes && guess < classes {
            matrix[truth][guess] += 1;
        }
    }
    matrix
}

/// The share of rows on the diagonal.
pub fn accuracy(matrix: &[Vec<u64>]) -> f64 {
    let total: u64 = matrix.iter().flatten().sum();
    let correct: u64 = (0..matrix.len()).map(|class| matrix[class][class]).sum();
    if total == 0 {
        0.0
    } else {
        correct as f64 / total as f64
    }
}

/// Per-class precision, recall and F1 from a confusion matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassScores {
    /// Correct predictions of the class among predictions of it (0 when it is never predicted).
    pub precision: Vec<f64>,
    /// Correct predictions of the class among its rows (0 when it has none).
    pub recall: Vec<f64>,
    /// The harmonic mean of the two (0 when both are 0).
    pub f1: Vec<f64>,
}

impl ClassScores {
    /// Scores every class of `matrix`.
    pub fn new(matrix: &[Vec<u64>]) -> ClassScores {
        let classes = matrix.len();
        let ratio = |part: u64, whole: u64| if whole == 0 { 0.0 } else { part as f64 / whole as f64 };
        let mut scores = ClassScores { precision: Vec::new(), recall: Vec::new(), f1: Vec::new() };
        for class in 0..classes {
            let hits = matrix[class][class];
            let predicted: u64 = matrix.iter().map(|row| row[class]).sum();
            let actual: u64 = matrix[class].iter().sum();
            let precision = ratio(hits, predicted);
            let recall = ratio(hits, actual);
            let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
            scores.precision.push(precision);
            scores.recall.push(recall);
            scores.f1.push(f1);
        }
        scores
    }
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

/// Root mean squared error.
pub fn rmse(labels: &[f64], predictions: &[f64]) -> f64 {
    let total: f64 = labels.iter().zip(predictions).map(|(&y, &p)| (y - p) * (y - p)).sum();
    (total / labels.len() as f64).sqrt()
}

/// Mean absolute error.
pub fn mae(labels: &[f64], predictions: &[f64]) -> f64 {
    let total: f64 = labels.iter().zip(predictions).map(|(&y, &p)| (y - p).abs()).sum();
    total / labels.len() as f64
}

/// The coefficient of determination, `1 - SS_res / SS_tot`; `None` when the labels are
/// constant.
pub fn r2(labels: &[f64], predictions: &[f64]) -> Option<f64> {
    let mean = mean(labels);
    let total: f64 = labels.iter().map(|&y| (y - mean) * (y - mean)).sum();
    if total == 0.0 {
        return None;
    }
    let residual: f64 = labels.iter().zip(predictions).map(|(&y, &p)| (y - p) * (y - p)).sum();
    Some(1.0 - residual / total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 1e-12, "{actual} != {expected}");
    }

    #[test]
    fn auc_counts_ties_as_one_half() {
        // Positives score 0.8 and 0.4, negatives 0.1, 0.4 and 0.35: 0.8 beats all three, 0.4
        // beats two and ties one, so 5.5 of the 6 pairs are ordered right.
        let labels = [1.0, 1.0, 0.0, 0.0, 0.0];
        let scores = [0.8, 0.4, 0.1, 0.4, 0.35];
        close(auc(&labels, &scores).unwrap(), (3.0 + 2.5) / 6.0);
        // Perfect, inverted and all-tied rankings.
        close(auc(&[0.0, 1.0], &[0.1, 0.9]).unwrap(), 1.0);
        close(auc(&[0.0, 1.0], &[0.9, 0.1]).unwrap(), 0.0);
        close(auc(&[0.0, 1.0, 0.0, 1.0], &[0.5; 4]).unwrap(), 0.5);
        assert_eq!(auc(&[1.0, 1.0], &[0.2, 0.3]), None);
    }

    #[test]
    fn binary_scores_from_the_confusion_matrix() {
        // Labels and probabilities: TP = 2 (rows 0, 1), FN = 1 (row 2), FP = 1 (row 3), TN = 2.
        let labels = [1.0, 1.0, 1.0, 0.0, 0.0, 0.0];
        let predictions = Predictions { values: vec![0.9, 0.5, 0.2, 0.7, 0.1, 0.49], width: 1 };
        let metric = |name| compute(name, Task::Binary, &labels, &predictions).unwrap();
        close(metric("accuracy"), 4.0 / 6.0);
        close(metric("precision"), 2.0 / 3.0);
        close(metric("recall"), 2.0 / 3.0);
        close(metric("f1"), 2.0 / 3.0);
        let matrix = confusion_matrix(&[1, 1, 1, 0, 0, 0], &predictions.predicted_classes(Task::Binary), 2);
        assert_eq!(matrix, vec![vec![2, 1], vec![1, 2]]);
        // logloss by hand.
        let expected = -(0.9f64.ln() + 0.5f64.ln() + 0.2f64.ln() + 0.3f64.ln() + 0.9f64.ln() + 0.51f64.ln()) / 6.0;
        close(metric("logloss"), expected);
    }

    #[test]
    fn f1_is_zero_without_positive_predictions() {
        let labels = [1.0, 0.0];
        let predictions = Predictions { values: vec![0.1, 0.2], width: 1 };
        close(compute("precision", Task::Binary, &labels, &predictions).unwrap(), 0.0);
        close(compute("f1", Task::Binary, &labels, &predictions).unwrap(), 0.0);
        close(compute("accuracy", Task::Binary, &labels, &predictions).unwrap(), 0.5);
    }

    #[test]
    fn multiclass_scores_are_macro_averages() {
        // Rows: true 0 → 0, true 0 → 1, true 1 → 1, true 2 → 1.
        let labels = [0.0, 0.0, 1.0, 2.0];
        let predictions =
            Predictions { values: vec![0.7, 0.2, 0.1, 0.3, 0.6, 0.1, 0.2, 0.5, 0.3, 0.1, 0.5, 0.4], width: 3 };
        let metric = |name| compute(name, Task::Multiclass, &labels, &predictions).unwrap();
        close(metric("accuracy"), 0.5);
        // Precision per class: 1/1, 1/3, 0 (never predicted); recall: 1/2, 1/1, 0/1.
        close(metric("precision"), (1.0 + 1.0 / 3.0) / 3.0);
        close(metric("recall"), (0.5 + 1.0) / 3.0);
        close(metric("f1"), (2.0 / 3.0 + 0.5) / 3.0);
        close(metric("logloss"), -(0.7f64.ln() + 0.3f64.ln() + 0.5f64.ln() + 0.4f64.ln()) / 4.0);
    }

    #[test]
    fn regression_metrics_by_hand() {
        let labels = [3.0, -0.5, 2.0, 7.0];
        let predictions = Predictions { values: vec![2.5, 0.0, 2.0, 8.0], width: 1 };
        let metric = |name| compute(name, Task::Regression, &labels, &predictions).unwrap();
        close(metric("rmse"), (1.5f64 / 4.0).sqrt());
        close(metric("mae"), 0.5);
        // scikit-learn's documented example: r2_score = 0.948...
        close(metric("r2"), 1.0 - 1.5 / 29.1875);
        let constant = compute("r2", Task::Regression, &[1.0, 1.0], &Predictions { values: vec![1.0, 1.0], width: 1 });
        assert!(constant.unwrap_err().to_string().contains("same value"));
    }

    #[test]
    fn undefined_and_misfit_metrics_are_errors() {
        let one_class = compute("auc", Task::Binary, &[1.0, 1.0], &Predictions { values: vec![0.2, 0.8], width: 1 });
        assert!(one_class.unwrap_err().to_string().contains("only one class"));
        let misfit = compute("auc", Task::Regression, &[1.0], &Predictions { values: vec![1.0], width: 1 });
        assert!(matches!(misfit, Err(StepError::Internal(_))));
        assert!(higher_is_better("auc") && !higher_is_better("logloss") && higher_is_better("r2"));
        assert_eq!(Task::Regression.stopping_metric("reg:absoluteerror"), "mae");
        assert_eq!(Task::Binary.stopping_metric("binary:logistic"), "logloss");
    }
}
